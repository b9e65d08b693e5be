"""detect-secrets without the cost of importing `requests` at every scan.

Every detect-secrets plugin module imports `requests` (and with it urllib3, http.client, ssl,
email, charset_normalizer, idna) for its verify step, which contacts the service a secret belongs
to. nhiscan never verifies a secret (it reads, it does not call out: the verification filter is
removed from its sessions), yet the import costs about 0.1 s of CPU, as much as the secret scan
of a hundred workflow files (benchmarks/ci_bench.py).

:func:`requests_deferred` lets detect-secrets' modules be imported against a stand-in module:
at import time they only name ``requests.Response`` in annotations; any other use of ``requests``
through them (``requests.exceptions``, ``requests.get``) imports the real package then and is
answered by it. The stand-in is in ``sys.modules`` only while the block runs: any other code
(an SDK, later) that imports ``requests`` gets the real package.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Response:
    """Stands for ``requests.Response`` in the annotations detect-secrets evaluates at import."""


class _DeferredRequests(types.ModuleType):
    """``requests`` for the modules imported inside :func:`requests_deferred`: every attribute
    but ``Response`` (annotations only) comes from the real package, imported on first use."""

    Response = _Response

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        return getattr(real, name)


@contextmanager
def requests_deferred() -> Iterator[None]:
    """Inside: ``import requests`` gives the stand-in, unless the real package is loaded already."""
    if "requests" in sys.modules:
        yield
        return
    stand_in = _DeferredRequests("requests")
    sys.modules["requests"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("requests") is stand_in:
            del sys.modules["requests"]
