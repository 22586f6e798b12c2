"""The room's targets with 10 participants arriving at once (the CI version of
``benchmarks/workshop_load.py``; the 50-participant figures are in the closing note)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))



def test_server_split_separates_queue_build_and_browser(tmp_path):
    import json

    import workshop_load as wl

    log = tmp_path / "timing.jsonl"
    log.write_text("\n".join(json.dumps(x) for x in [
        {"join": "A", "t_start": 100.0, "build_s": 0.2, "build_cpu_s": 0.1},
        {"join": "B", "t_start": 103.0, "build_s": 0.4, "build_cpu_s": 0.3},
        {"join": "A", "t_start": 200.0, "build_s": 9.0, "build_cpu_s": 9.0},     # a reconnect: not the first
        *({"join": "A", "update_ms": float(v), "update_cpu_ms": v / 2} for v in range(1, 101)),
    ]) + "\n")
    pages = [{"code": "A", "ws_open": 99.0, "interactive_at": 101.2},
             {"code": "B", "ws_open": 100.0, "interactive_at": 106.4},
             {"code": "C"}]                                                      # never connected
    got = wl.server_split(log, pages)
    assert got["server_build_ms_median"] == pytest.approx(300.0) and got["server_build_ms_max"] == pytest.approx(400.0)
    assert got["server_build_cpu_ms_median"] == pytest.approx(200.0)
    assert got["ws_to_server_start_s_median"] == pytest.approx(2.0) and got["ws_to_server_start_s_max"] == 3.0
    assert got["server_built_to_interactive_s_median"] == pytest.approx(2.0)       # 1.0 and 3.0
    assert got["server_built_to_interactive_s_max"] == pytest.approx(3.0)
    assert got["server_update_ms_median"] == pytest.approx(50.5) and got["server_update_ms_p95"] == pytest.approx(95.05, abs=0.06)
    assert got["server_update_cpu_ms_median"] == pytest.approx(25.25, abs=0.06)
    assert wl.server_split(tmp_path / "missing.jsonl", pages)["server_build_ms_median"] is None


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium not installed")
def test_ten_participants_at_once(browser_assets):
    pytest.importorskip("playwright.async_api")
    import workshop_load as wl

    res = wl.run(10, moves=3)
    assert res["interactive"] == 10, res
    assert res["submitted"] == 10 and res["lost_submissions"] == 0 and res["merged_submissions"] == 0, res
    assert res["external_requests"] == 0 and not res["server_fetched_cdn"], res
    assert res["server_rss_mb"] <= 2048, res
    assert res["updates"] >= 20, res                  # the ranking moved for (nearly) every key press
    # the separable figures: the server built every page, and both sides' CPU was counted
    assert res["server_build_ms_median"] is not None and res["server_build_cpu_ms_median"] > 0, res
    assert 0 < res["server_cpu_per_participant_s"] < res["client_cpu_per_participant_s"], res
    assert res["ws_to_server_start_s_max"] is not None and res["server_built_to_interactive_s_max"] is not None, res
    # the server's own cost, in CPU seconds (a loaded machine stretches wall times, not these much):
    # measured 0.2-0.26 s per participant arriving and 10 ms per change of weights
    assert res["server_cpu_per_participant_s"] <= 0.8, res
    assert 0 < res["server_update_cpu_ms_median"] <= 50, res
    # wall times: the browsers run on the server's own cores beside the rest of the suite (CI: pytest -n 2),
    # so these bounds only catch a room that breaks (blank pages, lost updates); the room's targets
    # (15 s, 300 ms) are the benchmark's, with the server's and the browsers' shares reported apart
    assert res["time_to_interactive_max_s"] <= 150 and res["update_p95_ms"] <= 3000, res
