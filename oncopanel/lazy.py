"""Package names loaded from their modules when first asked (PEP 562): a package whose public names span light and
heavy modules lets a caller of a light one skip the heavy ones (issue 21: a job's imports are most of its CPU)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, home: Mapping[str, tuple[str, ...]]) -> tuple[Callable[[str], Any], list[str]]:
    """(``__getattr__``, ``__all__``) for ``package``, whose names live in its modules as ``home`` says (module ->
    names). A name is imported on first use and kept on the package. A function cannot share its module's name: once
    that module is imported, the package's attribute of that name is the module."""
    module_of = {name: module for module, names in home.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__, sorted(module_of)
