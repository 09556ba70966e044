"""What the command line shows while it works where no progress bar can: a timed status line
for a step that is one long computation (building a data model, an eigendecomposition, solving
the theory), and warnings as plain lines."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import warnings

__all__ = ["status", "plain_warnings"]


@contextlib.contextmanager
def status(message: str, *, enabled: bool = True, stream=None, after: float = 1.0):
    """Show `message` with the seconds it has taken if the block runs longer than `after`
    seconds: refreshed every second on a terminal; elsewhere (a log file) a line when it is
    seen to be slow and one when it ends. A helper thread draws it, so the work is not slowed
    and instant steps print nothing."""
    stream = sys.stderr if stream is None else stream
    if not enabled:
        yield
        return
    start = time.monotonic()
    terminal = getattr(stream, "isatty", lambda: False)()
    done = threading.Event()
    shown = threading.Event()
    lock = threading.Lock()

    def draw():
        if done.wait(after):
            return
        with lock:
            if done.is_set():
                return
            shown.set()
            stream.write(f"{message} ..." if terminal else f"{message} ...\n")
            stream.flush()
        while terminal and not done.wait(1.0):
            with lock:
                if not done.is_set():
                    stream.write(f"\r{message} ... {time.monotonic() - start:.0f} s")
                    stream.flush()

    helper = threading.Thread(target=draw, daemon=True)
    helper.start()
    try:
        yield
    finally:
        with lock:
            done.set()
            if shown.is_set():
                elapsed = time.monotonic() - start
                prefix = "\r" if terminal else ""
                stream.write(f"{prefix}{message}: done in {elapsed:.1f} s\n")
                stream.flush()


@contextlib.contextmanager
def plain_warnings(echo):
    """Run the block with the library's `RuntimeWarning`s (divergence reports) passed to
    `echo` as plain lines instead of Python's warning format with its source line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, RuntimeWarning):
                    for line in str(warning.message).splitlines():
                        echo(f"warning: {line}")
                else:
                    warnings.warn_explicit(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )
