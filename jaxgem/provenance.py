"""Where a result came from: versions, device and precision, stored beside every result."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jax
import numpy as np

__all__ = ["run_metadata", "package_source"]


def run_metadata() -> dict:
    """Versions of jaxgem and the libraries it computes with, the device and the precision."""
    import diffrax
    import equinox
    import optimistix

    from . import __version__

    device = jax.devices()[0]
    return {
        "jaxgem": __version__,
        "jaxgem_source": package_source(),
        "jax": jax.__version__,
        "equinox": equinox.__version__,
        "diffrax": diffrax.__version__,
        "optimistix": optimistix.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        "x64": bool(jax.config.jax_enable_x64),
    }


def package_source() -> str:
    """Where this jaxgem came from: the git commit of the checkout it runs from (`+dirty` with
    uncommitted changes), or what pip recorded when it was installed (a VCS commit or a local
    folder), or `"unknown"`."""
    here = Path(__file__).resolve().parent

    def git(*args):
        result = subprocess.run(
            ["git", "-C", str(here), *args], capture_output=True, text=True, timeout=5
        )
        return result.stdout.strip() if result.returncode == 0 else None

    try:
        if git("ls-files", "--error-unmatch", "__init__.py") is not None:
            commit = git("rev-parse", "HEAD")
            dirty = git("status", "--porcelain", "--untracked-files=no", ".")
            if commit:
                return f"git {commit}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        direct = metadata.distribution("jaxgem").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        info = json.loads(direct)
        commit = info.get("vcs_info", {}).get("commit_id")
        return f"pip {info.get('url', '?')}" + (f" @ {commit}" if commit else "")
    return "unknown"
