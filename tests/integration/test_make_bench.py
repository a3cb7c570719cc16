"""`make bench`, as the README tells a user to run it, at the quick sizes (`BENCH_ARGS="--quick ..."`):
every benchmark runs to its end on its own real stack and the report is written, keeping the notes
written by hand below its marker. No figure is judged here: speed lives in the report, not in tests."""
from __future__ import annotations

import fcntl
import re
import subprocess

import pytest

from ivr.config import ROOT

SECTIONS = ("## Inbound IVR on the real stack", "## Numbering core", "## Start of the `ivr` command",
            "## Hunt-group precision", "## Queue under load", "## Outbound campaigns", "## Cluster")


@pytest.mark.timeout(1200)
def test_make_bench_runs_every_benchmark_and_keeps_the_notes(tmp_path):
    docs = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    marker = next(line for line in docs.splitlines() if line.startswith("<!-- make bench"))
    out = tmp_path / "benchmarks.md"
    out.write_text(f"# Benchmarks\n\nstale figures\n\n{marker}\n\nA note written by hand.\n", encoding="utf-8")

    # The benchmarks' nets are fixed (127.0.30-33): one `make bench` at a time on a machine.
    with open("/tmp/ivr-make-bench.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["make", "-s", "bench", f"BENCH_ARGS=--quick --out {out}"], cwd=ROOT,
                                capture_output=True, text=True, timeout=1100)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"

    text = out.read_text(encoding="utf-8")
    assert "stale figures" not in text
    at = [text.find(heading) for heading in SECTIONS]
    assert all(i >= 0 for i in at) and at == sorted(at), dict(zip(SECTIONS, at))
    assert text.index(marker) > at[-1] and text.rstrip().endswith("A note written by hand."), text[-500:]
    # Every IVR run placed its calls and none failed: | concurrency | calls | failed | ...
    runs = re.findall(r"^\| 5 \| (\d+) \| (\d+) \|", text, re.MULTILINE)
    assert runs and all(int(calls) > 0 and failed == "0" for calls, failed in runs), runs
