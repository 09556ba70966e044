"""The output folder of a run: checked before any computation (it can be created and written,
and holds no other configuration's results unless `--restart` replaces them), and the record of
the files a run made there, so that `--restart` removes exactly those."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .config import ConfigError

__all__ = ["prepare_output", "file_list", "finished_run"]

#: Files a run may leave besides those its run.json lists: checkpoints and caches.
_LEFTOVERS = ("*.checkpoint.npz", "moments.npz", "digits_flow.eqx", ".*.tmp")


def prepare_output(out: Path, config: dict, *, restart: bool) -> dict | None:
    """Create `out` and check it can be written; refuse (one line, naming `--restart`) a folder
    holding another configuration's results; with `restart`, remove the previous run's files.
    Returns the previous run's record when this run resumes it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"--out {out} is a file, not a folder") from None
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot create the folder ({error.strerror})") from None
    if not out.is_dir():
        raise ConfigError(f"--out {out} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".jaxgem-probe.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot write there ({error.strerror})") from None
    previous = _previous_record(out)
    if restart:
        _remove_previous(out, previous)
        return None
    if previous is None:
        return None
    if _normalised(previous.get("config")) != _normalised(config):
        raise ConfigError(
            f"--out {out} holds the results of another configuration "
            f"({previous.get('preset', '?')}, started {previous.get('started', '?')}): add "
            "--restart to replace them, or choose another --out"
        )
    return previous


def file_list(files: dict) -> list[str]:
    """The file names in a run's `files` record (nested by kind and curve), in order."""
    names: list[str] = []
    for value in files.values():
        if isinstance(value, dict):
            names += file_list(value)
        elif isinstance(value, str) and value not in names:
            names.append(value)
    return names


def finished_run(out: Path, config: dict) -> bool:
    """Whether `out` holds a finished run of `config` (a sweep skips such a point)."""
    try:
        previous = _previous_record(out)
    except ConfigError:
        return False
    if previous is None or previous.get("status") != "finished":
        return False
    return _normalised(previous.get("config")) == _normalised(config)


def _previous_record(out: Path) -> dict | None:
    path = out / "run.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(
            f"--out {out}: its run.json cannot be read; add --restart to start afresh"
        ) from None


def _remove_previous(out: Path, previous: dict | None) -> None:
    """The files the previous run listed, its run.json, checkpoints and caches; nothing else."""
    names = file_list(previous.get("files", {})) if previous else []
    paths = {out / name for name in names} | {out / "run.json"}
    for pattern in _LEFTOVERS:
        paths |= set(out.glob(pattern))
    for path in paths:
        if path.is_file() and path.resolve().parent == out.resolve():
            path.unlink()


def _normalised(config) -> str:
    return json.dumps(config, sort_keys=True, default=str)
