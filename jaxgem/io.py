"""Atomic file writes: a reader (or an interrupted run) never sees a half-written file, and the
file gets the permissions the user's umask gives any new file (not the 0600 of a temporary
file)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "column_rows",
    "current_umask",
    "atomic_write_bytes",
    "atomic_write_text",
    "save_npz",
    "save_json",
    "save_csv",
]


def current_umask() -> int:
    """The process's umask (read from /proc where it can be, so no other thread sees it
    change)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over `path`; the file is
    readable as the umask allows (mode `0666 & ~umask`, like `open(path, "w")`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def save_npz(path, **arrays) -> Path:
    """`numpy.savez` with an atomic replace."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def save_json(path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def _cell(value):
    """A CSV cell: NaN (no value, e.g. the error of a single seed) as an empty cell."""
    return "" if isinstance(value, float) and math.isnan(value) else value


def column_rows(columns: dict, **constant) -> list[dict]:
    """Rows of a table from equal-length columns (arrays or sequences; array entries become
    Python numbers and booleans), each row led by the `constant` entries."""
    lists = {name: np.asarray(values).tolist() for name, values in columns.items()}
    length = len(next(iter(lists.values())))
    return [dict(constant, **{name: v[i] for name, v in lists.items()}) for i in range(length)]


def save_csv(path, rows: list[dict]) -> Path:
    """Rows of dicts (same keys) as a CSV with a header line; NaN as an empty cell."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return atomic_write_text(path, buffer.getvalue())
