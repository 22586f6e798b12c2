"""Small versions of the benchmarks (``make bench`` runs the full ones).

What must hold: each benchmark runs on this machine, prints its report and, as its last line,
one JSON object with the figures the issues ask for; the checks the benchmark makes of the
engine against a loop over ``build()`` hold at the small size too. Timings are not asserted
(a shared CI machine says nothing about speed); ``make bench`` prints them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _last_json(args: list[str], timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 1  # a readable report before the JSON line
    return json.loads(lines[-1])


@pytest.mark.slow
def test_uncertainty_benchmark_quick_reports_every_figure_and_the_engine_equals_build():
    out = _last_json(["benchmarks/uncertainty.py", "--quick"], timeout=600)
    for key in ("asem_whole_rps", "asem_whole_cpu_rps", "asem_floor_rps", "asem_floor_cpu_rps",
                "asem_whole_over_floor", "asem_whole_over_floor_cpu", "asem_e2e_1000_seconds",
                "peak_rss_10k_units_10k_mb", "asem_vs_coinr_cpu", "coinr_ms_per_replication"):
        assert isinstance(out[key], int | float) and out[key] > 0, key
    assert out["coinr_ms_per_replication"] == 130.0
    # the ratio is the two measured rates, not a constant
    assert out["asem_whole_over_floor"] == pytest.approx(out["asem_whole_rps"] / out["asem_floor_rps"], abs=1e-3)
    assert out["asem_loop_max_abs_diff"] < 1e-9 and out["pmm_failed"] == 0
    assert out["quick"] is True


@pytest.mark.slow
def test_runs_benchmark_small_reports_its_figures():
    out = _last_json(["benchmarks/runs.py", "--skip-all", "--notebooks", "01,06", "--param", "n_samples=64"],
                     timeout=600)
    assert out["one_region_ok"] is True and out["one_region_seconds"] > 0
    assert set(out["per_notebook_seconds"]) == {"01_data_quality.ipynb", "06_cycles.ipynb"}
    timeline = out["one_region_timeline"]
    assert timeline["prepared"] <= timeline["notebooks_done"] <= timeline["paper_rendered"]
    assert 0 < out["pmm_help_seconds"] and out["targets"]["pmm_help_seconds"] == 0.3
