"""The API's CPU per push against an earlier commit's, on this machine, in one run.

bench/load.py prints the API's CPU ms per 100-line push; that figure moves with the
machine (the same code cost 4-5 ms on one 2-core VM and 12 on another). This script
checks it out at `--commit` (default: the code of round 1 of the performance work, whose
14.8 ms the round-2 target of 7 ms halved) in a git worktree sharing this venv, runs that
commit's own bench/load.py and this checkout's, alternately, `--pairs` times, with the
same API gunicorn settings, and prints each run's API CPU per accepted push and the ratio
of ours to the commit's.

    .venv/bin/python bench/cpu_against.py [--commit 2604df9] [--pairs 2] [--seconds 60]
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUND_1 = "2604df9"  # PERFORMANCE.md and README of round 1: "14.8 ms API"

_PUSHES = re.compile(r"push phase: (?P<seconds>[\d.]+) s.*\n\s+pushes accepted:\s+(?P<pushes>\d+)")
# The first "api workers" line after this heading is CPU seconds per second (later ones are ms per push).
_API_CPU = re.compile(r"seconds of CPU per second of run:\n(?:.*\n)*?\s+api workers\s+(?P<cpu>[\d.]+)")
# Printed since round 2, to two decimals of a millisecond (finer than CPU seconds per second).
_API_MS = re.compile(r"CPU ms per accepted push.*\n(?:.*\n)*?\s+api workers\s+(?P<ms>[\d.]+)")


def api_ms_per_push(output: str) -> float:
    """API CPU ms per accepted push, from a load.py run's output (any commit's: the lines read
    here are printed the same way since round 1; the ms per push itself since round 2)."""
    pushes, cpu, ms = _PUSHES.search(output), _API_CPU.search(output), _API_MS.search(output)
    if pushes is None or cpu is None or "verdict: OK" not in output:
        raise RuntimeError(f"load.py did not finish cleanly:\n{output[-3000:]}")
    if ms is not None:
        return float(ms["ms"])
    return float(cpu["cpu"]) * float(pushes["seconds"]) / int(pushes["pushes"]) * 1000


def run_load(checkout: Path, args) -> float:
    command = [str(checkout / ".venv" / "bin" / "python"), "bench/load.py", "--seconds", str(args.seconds),
               "--api-workers", str(args.api_workers), "--api-threads", str(args.api_threads)]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
    return api_ms_per_push(done.stdout + done.stderr)


def main():
    from config import gunicorn as web

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default=ROUND_1)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--api-workers", type=int, default=web.workers)
    parser.add_argument("--api-threads", type=int, default=web.threads)
    args = parser.parse_args()

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-against-") as scratch:
        other = Path(scratch) / "checkout"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), args.commit], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            (other / ".venv").symlink_to(ROOT / ".venv")
            print(f"API gunicorn {args.api_workers} workers x {args.api_threads} threads, "
                  f"{args.seconds:.0f} s of load.py a run; {args.commit} (its own bench) and {head} (this checkout), "
                  "alternately")
            ratios = []
            for pair in range(1, args.pairs + 1):
                theirs = run_load(other, args)
                ours = run_load(ROOT, args)
                ratios.append(ours / theirs)
                print(f"  pair {pair}: {args.commit} {theirs:5.2f} ms, {head} {ours:5.2f} ms of API CPU per push: "
                      f"ratio {ours / theirs:.2f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=True)
    print(f"ratio of ours to {args.commit}'s: median {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}); round 2's target (7 ms against round 1's 14.8) is <= 0.47")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
