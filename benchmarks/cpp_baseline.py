"""The C++ baselines of jaxgem's online-SGD engine: the same step (iid inputs, K = M = 2 erf,
one seed, one single-threaded process), compiled here with g++ in two builds and timed:
`-O3` (as the reference C++ codes' Makefile builds them) and `-O3 -march=native` (the best case
for this CPU).

- `loop`: plain loops over `std::vector` with `std::mt19937_64` and `std::normal_distribution`,
  in float64 (as the reference C++ codes compute) or float32 (jaxgem's precision);
- `armadillo`: the step as research C++ codes write it, Armadillo matrix expressions per step
  (float64; needs Debian's libarmadillo-dev).

    python benchmarks/cpp_baseline.py 1000    # microseconds per step of each available baseline

Sources in `benchmarks/cpp/`. A baseline whose compiler or library is missing is reported as
unavailable (None), never estimated.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "cpp"
PROGRAMS = {  # name: (source, extra link flags, extra arguments)
    "loop_float64": ("online_sgd_loop.cpp", [], ["double"]),
    "loop_float32": ("online_sgd_loop.cpp", [], ["float"]),
    "armadillo_float64": ("online_sgd_armadillo.cpp", ["-larmadillo"], []),
}
BUILDS = {"O3": ["-O3"], "native": ["-O3", "-march=native"]}
BASELINES = [f"{program}_{build}" for program in PROGRAMS for build in BUILDS]


def _build(compiler: str, source: str, build: str, link: list[str], folder: Path) -> Path | None:
    """Compile `source` with the flags of `build` into `folder`; None if it does not build."""
    binary = folder / f"{Path(source).stem}_{build}"
    built = subprocess.run(
        [compiler, *BUILDS[build], "-o", str(binary), str(SOURCES / source), *link],
        capture_output=True, text=True,
    )  # fmt: skip
    return binary if built.returncode == 0 else None


def all_baselines(N: int, steps: int) -> dict[str, float | None]:
    """Seconds per SGD step of every C++ baseline at input dimension `N` (one process, one
    thread), or None for one that cannot be built here; each source is compiled once per
    build."""
    compiler = shutil.which("g++")
    results: dict[str, float | None] = dict.fromkeys(BASELINES)
    if compiler is None:
        return results
    environment = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # one thread
    with tempfile.TemporaryDirectory() as folder:
        binaries = {}
        for name in BASELINES:
            program, build = name.rsplit("_", 1)
            source, link, arguments = PROGRAMS[program]
            if (source, build) not in binaries:
                binaries[source, build] = _build(compiler, source, build, link, Path(folder))
            binary = binaries[source, build]
            if binary is not None:
                result = subprocess.run(
                    [str(binary), str(N), str(steps), *arguments], capture_output=True,
                    text=True, check=True, env=environment,
                )  # fmt: skip
                results[name] = float(result.stdout.split()[0])
    return results


if __name__ == "__main__":
    N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for name, seconds in all_baselines(N, 20_000_000 // N).items():
        shown = "unavailable" if seconds is None else f"{1e6 * seconds:.2f} us per step"
        print(f"{name:<26} N = {N}: {shown}")
