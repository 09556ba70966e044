"""Packages whose public names are imported on first use (`lazy_names`), so that the command
line's `presets`, `config` and `--help` start without JAX, and a run on iid inputs imports no
generator library."""

from __future__ import annotations

import importlib
import sys
import types


class _LazyPackage(types.ModuleType):
    """A package whose public name (`jaxgem.fit`, `jaxgem.generators.digits`) is also the name
    of one of its submodules: Python binds a submodule on its package when it is imported,
    which must not hide the public name."""

    def __setattr__(self, name, value):
        if name in self.__dict__.get("_WHERE", {}) and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def lazy_names(package: str, sources: dict[str, list[str]], submodules=()):
    """Make `package` import each name of `sources` (submodule -> names) on first use, and each
    of `submodules` likewise; returns its `__getattr__`, `__dir__` and `__all__`."""
    where = {name: module for module, names in sources.items() for name in names}
    namespace = sys.modules[package].__dict__
    namespace["_WHERE"] = where
    public = sorted(where) + list(submodules)

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f".{where[name]}", package), name)
        elif name in submodules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(public))

    sys.modules[package].__class__ = _LazyPackage
    return __getattr__, __dir__, public
