"""`SweepGrid`: a TOML grid over any configuration keys of a preset, expanded into points.

```toml
preset = "iid-plateau"        # a preset name, or a configuration TOML (relative to this file)
seeds = 4                     # seeds of every point (optional)
[set]                         # fixed changes, as --set would make them
"data.N" = 500
[product]                     # every combination of these lists
"training.lr" = [0.1, 0.5, 1.0]
"data.N" = [200, 400]
[zip]                         # these lists vary together (equal lengths)
"student.K" = [2, 3]
"teacher.K" = [2, 3]
```
The points are the product of the `product` lists with the rows of the `zip` lists. Pure Python
(no JAX): a malformed grid is refused before anything starts.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

__all__ = ["SweepGrid", "GridError"]

TABLES = ("preset", "seeds", "set", "product", "zip")


class GridError(ValueError):
    """A malformed sweep grid (reported in one line naming the key)."""


@dataclasses.dataclass(frozen=True)
class SweepGrid:
    """A parsed grid: the base target (preset or TOML path), fixed changes, and the swept
    keys with their values per point."""

    target: str
    seeds: int | None
    fixed: dict
    product: dict
    zipped: dict

    @classmethod
    def load(cls, path: str | Path) -> SweepGrid:
        path = Path(path)
        try:
            spec = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise GridError(f"no sweep grid at {path}") from None
        except tomllib.TOMLDecodeError as error:
            raise GridError(f"{path} is not valid TOML: {error}") from None
        return cls.parse(spec, base=path.parent)

    @classmethod
    def parse(cls, spec: dict, base: Path = Path(".")) -> SweepGrid:
        unknown = sorted(set(spec) - set(TABLES))
        if unknown:
            raise GridError(f"unknown sweep key {unknown[0]!r}; accepted: {', '.join(TABLES)}")
        target = spec.get("preset")
        if not isinstance(target, str) or not target:
            raise GridError("the sweep needs preset = NAME (or the path of a configuration TOML)")
        if target.endswith(".toml") and not Path(target).is_absolute():
            target = str(base / target)
        seeds = spec.get("seeds")
        if seeds is not None and (
            isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1
        ):
            raise GridError(f"seeds must be a positive integer, got {seeds!r}")
        tables = {}
        for table in ("set", "product", "zip"):
            value = spec.get(table, {})
            if not isinstance(value, dict):
                raise GridError(f"[{table}] must be a table of KEY = VALUE, got {value!r}")
            for key in value:
                _check_key(table, key)
            tables[table] = value
        for table in ("product", "zip"):
            for key, values in tables[table].items():
                if not isinstance(values, list) or not values:
                    raise GridError(
                        f"[{table}] {key!r} must be a non-empty list of values, got {values!r}"
                    )
        lengths = {len(v) for v in tables["zip"].values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in tables["zip"].items())
            raise GridError(f"the [zip] lists must have equal lengths, got {sizes}")
        seen: dict[str, str] = {}
        for table in ("set", "product", "zip"):
            for key in tables[table]:
                if key in seen:
                    raise GridError(f"{key!r} is in both [{seen[key]}] and [{table}]")
                seen[key] = table
        if not tables["product"] and not tables["zip"]:
            raise GridError("the sweep varies nothing: give a [product] or a [zip] table")
        return cls(target, seeds, tables["set"], tables["product"], tables["zip"])

    @property
    def swept(self) -> list[str]:
        """The swept keys, product first."""
        return list(self.product) + list(self.zipped)

    def points(self) -> list[dict]:
        """Every point as `{key: value}` over the swept keys."""
        zipped = [dict(zip(self.zipped, row)) for row in zip(*self.zipped.values())] or [{}]
        out = []
        for values in itertools.product(*self.product.values()):
            for row in zipped:
                out.append({**dict(zip(self.product, values)), **row})
        return out

    def changes(self, point: dict) -> dict:
        """The nested configuration update of a point (fixed changes, seeds, its values)."""
        update: dict = {} if self.seeds is None else {"seeds": self.seeds}
        for key, value in {**self.fixed, **point}.items():
            if "." in key:
                section, name = key.split(".", 1)
                update.setdefault(section, {})[name] = value
            else:
                update[key] = value
        return update


def _check_key(table: str, key: str) -> None:
    parts = key.split(".")
    if not all(parts) or len(parts) > 2:
        raise GridError(
            f"[{table}] key {key!r} must be SECTION.KEY (e.g. 'training.lr') or a top-level key "
            "(e.g. 'seed')"
        )
