"""Names of a package loaded on first use (PEP 562), so importing the package costs nothing."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, namespace: dict[str, Any],
                    modules: dict[str, tuple[str, ...]]) -> tuple[list[str], Callable[[str], object]]:
    """(``__all__``, ``__getattr__``) for ``package``: each public name is imported from its
    module (``modules`` maps module -> names) the first time it is used, then kept in
    ``namespace`` (the package's globals)."""
    where = {name: module for module, names in modules.items() for name in names}

    def getattr_(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return sorted(where), getattr_
