"""Start-up time of ``rescap --help`` and ``--version``, against a bare ``python -c pass`` (anchor).

    python benchmarks/cli_startup.py [--repeats 15]

Target: ``rescap --help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    anchor = timed([sys.executable, "-c", "pass"], args.repeats)
    rows = [("python -c pass (anchor)", anchor)]
    for flag in ("--help", "--version"):
        rows.append((f"rescap {flag}", timed([sys.executable, "-m", "rescap.cli", flag], args.repeats)))
    print(f"{'command':<28}{'median s':>10}{'ratio':>8}")
    for name, t in rows:
        print(f"{name:<28}{t:>10.3f}{t / anchor:>8.2f}")
    help_time = rows[1][1]
    print(f"\n{'PASS' if help_time < 0.3 else 'FAIL'}  rescap --help {help_time:.3f} s < 0.3 s")


if __name__ == "__main__":
    main()
