"""Benchmark of the `ivr` command's start: CPU time (user + system, of the whole process) of
`ivr --help` and of `ivr route NUMBER` decided here (no service listening), run as a user runs them
(the venv's `ivr` script), median of several runs. Target: each under 0.3 s.

    .venv/bin/python bench/bench_cli.py [--runs 9] [--abc-rows 300000] [--def-rows 17000] [--compare TREE]

The numbering store is a full-size synthetic registry (bench_numbering.py's generator) imported
once into a scratch var dir both trees read. `ivr route` is measured twice: as it runs every time
(the plan's trunks already validated and cached), and right after the plan changed (validated in
full). Each tree is byte-compiled first, as an installed one is. `--compare TREE` runs another
checkout of the project (e.g. `git archive` of an older commit) alternately with this one, so
both see the same load, and gives the ratio.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_S = 0.3
NUMBER = "+79161234567"
PLAN_CACHE = "cache/plan-trunks.json"     # ivr.routing.plan_trunks.CACHE_FILE (an older tree has none)


def ivr_command() -> list[str]:
    """The venv's `ivr` script, as a user types it; `python -m ivr.cli` where there is none."""
    script = Path(sys.executable).parent / "ivr"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli"]


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one run of `command` (and anything it starts)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(var: Path, abc_rows: int, def_rows: int) -> int:
    """The synthetic registry imported under var/numbering; its number of ranges."""
    from bench_numbering import write_registry

    from ivr.routing import registry
    abc_codes = [c for c in range(300, 1000) if str(c)[0] in "348"]
    files = [write_registry(var, abc_codes, max(1, abc_rows // len(abc_codes)), "ABC-synthetic.csv"),
             write_registry(var, range(900, 1000), max(1, def_rows // 100), "DEF-9xx-synthetic.csv")]
    return registry.import_files(files, var / "numbering").rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--abc-rows", type=int, default=300_000)
    parser.add_argument("--def-rows", type=int, default=17_000)
    parser.add_argument("--compare", type=Path, help="another checkout, measured alternately")
    args = parser.parse_args()
    trees = {"this tree": ROOT} | ({f"{args.compare}": args.compare.resolve()} if args.compare else {})
    var = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        ranges = prepare(var, args.abc_rows, args.def_rows)
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base |= {"IVR_VAR_DIR": str(var), "IVR_WEB_HOST": "127.0.0.1", "IVR_WEB_PORT": str(free_port()),
                 "IVR_TLS_CERT": "", "LANGUAGE": "ru"}
        for tree in trees.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "ivr")], check=True,
                           stdout=subprocess.DEVNULL)
        cases = {"ivr --help": (["--help"], False), f"ivr route {NUMBER}": (["route", NUMBER], False),
                 f"ivr route {NUMBER}, plan just changed": (["route", NUMBER], True)}
        seconds: dict[tuple[str, str], list[float]] = {}
        for case, (argv, fresh_plan) in cases.items():
            for run in range(args.runs + 1):                   # run 0 warms caches up, not counted
                for name, tree in trees.items():
                    if fresh_plan:
                        (var / PLAN_CACHE).unlink(missing_ok=True)
                    env = base | {"PYTHONPATH": str(tree)}
                    spent = cpu_seconds(ivr_command() + argv, env)
                    if run:
                        seconds.setdefault((case, name), []).append(spent)
    finally:
        shutil.rmtree(var, ignore_errors=True)
    names = list(trees)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"CPU seconds (user + system) of the whole process, median of {args.runs} runs "
          f"{'alternating between the trees ' if len(trees) > 1 else ''}(load average {' '.join(load)}); "
          f"registry of {ranges:,} ranges; target under {TARGET_S} s.\n")
    print("| command | " + " | ".join(names) + (" | ratio |" if len(names) > 1 else " | target met |"))
    print("|---" * (len(names) + 2) + "|")
    for case in cases:
        medians = [statistics.median(seconds[(case, n)]) for n in names]
        extra = f"{medians[1] / medians[0]:.1f}×" if len(names) > 1 else ("yes" if medians[0] < TARGET_S else "NO")
        print(f"| `{case}` | " + " | ".join(f"{m:.3f} s" for m in medians) + f" | {extra} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
