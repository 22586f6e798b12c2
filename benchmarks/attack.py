"""Benchmark: the differencing attack of tests/test_attack_differencing.py, heavier.

Every region, public and wco, 9 candidates per hidden value (every eighth of the plausible
range). Prints one line per case and, last, a JSON summary: hidden values tried, pipeline
evaluations, seconds and the smallest candidate-set width over all cases (1.0 = no hidden value
narrowed at all). Run: ``make bench`` or ``.venv/bin/python benchmarks/attack.py [REGION ...]``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("PMM_PSEUDONYM_KEY", secrets.token_hex(32))

import test_attack_differencing as harness  # noqa: E402

from pmm_lib.inputs import data  # noqa: E402
from pmm_lib.inputs.framework import load_framework  # noqa: E402


def main(regions: list[str]) -> dict[str, object]:
    obs = data.load_observations()
    bounds = load_framework().table().set_index("code")[["lower", "upper"]]
    cases = []
    for region in regions:
        for audience in ("public", "wco"):
            res = harness.attack(obs, audience, region, bounds, grid=9)
            width = res.width
            cases.append({"region": region, "audience": audience, "hidden": len(res.hidden),
                          "evaluations": res.evaluations, "seconds": round(res.seconds, 2),
                          "min_width": float(width.min())})
            print(f"{region} {audience}: {len(res.hidden)} hidden values, {res.evaluations} evaluations, "
                  f"{res.seconds:.1f} s, smallest candidate-set width {width.min():.0%}")
    return {"benchmark": "attack", "cases": len(cases), "hidden_values": sum(c["hidden"] for c in cases),
            "evaluations": sum(c["evaluations"] for c in cases),
            "seconds": round(sum(c["seconds"] for c in cases), 2),
            "min_width": min(c["min_width"] for c in cases)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:] or ["AMS", "ESA", "MENA", "WCA"])))
