"""The DSM language: model sources → Definitions.

Names load on first use, so reading a database (which needs ``Definitions``) never loads the
parser and its grammar library.
"""

from __future__ import annotations

import importlib

_MODULES: dict[str, tuple[str, ...]] = {
    "commitdb.dsm.builder": ("DSMBuilder", "DSMBuilderPart"),
    "commitdb.dsm.definitions": ("Attachment", "Definitions", "DefinitionsConst"),
    "commitdb.dsm.dsm_definitions": ("DSMDefinitions", "DSMFunction", "DSMFunctionPool", "DSMMembership"),
    "commitdb.dsm.report": ("DSMParseError", "DSMParseReport"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'commitdb.dsm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
