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

``multiprocessing`` gets the same treatment (:class:`_Deferred`): detect-secrets imports it at
module level for its own multi-process file scan, which nhiscan never runs (it scans with its own
pool, loaded only for large inputs); importing it (with socket, pickle and their kin) cost each run
about 10 ms of CPU.
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


class _Deferred(types.ModuleType):
    """A module every attribute of which comes from the real one, imported on first use."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # import machinery probing a module: not a use of it
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        return getattr(real, name)


@contextmanager
def requests_deferred() -> Iterator[None]:
    """Inside: ``import requests`` and ``import multiprocessing`` give stand-ins, unless the real
    package is loaded already."""
    stand_ins = {
        name: cls(name)
        for name, cls in (("requests", _DeferredRequests), ("multiprocessing", _Deferred))
        if name not in sys.modules
    }
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
