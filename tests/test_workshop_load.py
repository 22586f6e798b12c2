"""The room's targets with 10 participants arriving at once (the CI version of
``benchmarks/workshop_load.py``; the 50-participant figures are in the closing note)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium not installed")]


def test_ten_participants_at_once():
    pytest.importorskip("playwright.async_api")
    from pmm_lib.errors import RunError
    from pmm_lib.workshop.assets import install_assets, missing_assets

    if missing_assets():
        try:
            install_assets()            # once per machine, from the npm registry
        except RunError as exc:
            pytest.skip(f"browser assets missing ({missing_assets()}) and not installable: {exc}")
    import workshop_load as wl

    res = wl.run(10, moves=3)
    assert res["interactive"] == 10, res["errors"]
    assert res["submitted"] == 10 and res["lost_submissions"] == 0 and res["merged_submissions"] == 0
    assert res["external_requests"] == 0 and not res["server_fetched_cdn"]
    assert res["server_rss_mb"] <= 2048
    assert res["updates"] >= 20                       # the ranking moved for (nearly) every key press
    # the browsers run on the server's own cores beside the rest of the suite (pytest -n 2): the bounds
    # here are for that shared machine; the room's targets (15 s, 300 ms) are the benchmark's
    assert res["time_to_interactive_max_s"] <= 90 and res["update_p95_ms"] <= 1500, res
