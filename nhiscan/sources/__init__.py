"""Sources: turn exports, live APIs and repositories into the inventory model.

Flow: every offline input file is read once and recognised from its content (never its name) as a
RawDocument of a known kind (``sources.exports``); live collectors produce RawDocuments of the same
kinds; then each provider's pure ``normalize(docs, settings)`` turns all of its documents together
into identities (so several exports of one account merge into one view), driven by
``sources.collect``. Repository paths go to the repo scanner. The records exchanged are in
``sources.documents``.

Provider packages expose, without importing any cloud SDK at module level:
  ``exports.detect(parsed) -> str | None``   the document kind, if this provider recognises it
  ``normalize(docs, settings) -> ProviderResult``

This package module imports nothing: import from the module that defines a name.
"""
