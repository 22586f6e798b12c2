"""Ingest timings: the bundled returns, a questionnaire, and a CSV at the 200,000-row limit.

Run ``python benchmarks/ingest.py``; prints one line per measurement (median of a few repeats,
imports excluded, nothing written under data/).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bad_inputs.corpus import TEST_MEMBERS, filled_workbook  # noqa: E402

from pmm_lib import paths  # noqa: E402
from pmm_lib.inputs.framework import load_framework  # noqa: E402
from pmm_lib.inputs.ingest import ingest, read_returns, write_template  # noqa: E402


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    fw = load_framework()
    out: dict[str, float] = {}
    bundled = paths.QUESTIONNAIRE_DIR / "pmm_returns.csv"
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        read_returns([bundled])  # warm imports
        n = len(read_returns([bundled]).observations)
        out["bundled_validate_s"] = timed(lambda: read_returns([bundled]))
        print(f"bundled returns ({n} rows), validate only:      {out['bundled_validate_s']:6.3f} s")
        print(f"bundled returns, validate + write processed:    "
              f"{timed(lambda: ingest([bundled], processed_dir=d / 'p', with_reference=False)):6.3f} s")
        out["template_s"] = timed(lambda: write_template(d / "t.xlsx"))
        print(f"template (51 KPIs, 7 sheets):                   {out['template_s']:6.3f} s")
        out["template_fr_s"] = timed(lambda: write_template(d / "t_fr.xlsx", lang="fr"))
        print(f"template in French:                             {out['template_fr_s']:6.3f} s")
        q = filled_workbook(d / "q.xlsx")
        out["questionnaire_validate_s"] = timed(lambda: read_returns([q], members=TEST_MEMBERS))
        print(f"one filled questionnaire, validate:             {out['questionnaire_validate_s']:6.3f} s")
        kpis = [k.code for k in fw.kpis]
        members = [f"{a}{b}{c}" for a in "ABCD" for b in "ABCDEFGH" for c in "AB"][:40]
        rows = [f"{m},{c},{k.code},{(k.lower + k.upper) / 2:g},public,,\n"
                for c in range(2000, 2101) for m in members for k in fw.kpis][: (200_000 // len(kpis)) * len(kpis)]
        big = d / "big.csv"
        big.write_text("member,cycle,kpi,value,disclosure,source,flag\n" + "".join(rows))
        t = timed(lambda: read_returns([big], members=None), repeat=1)
        print(f"CSV at the row limit ({len(rows):,} rows), validate: {t:6.3f} s ({len(rows) / t:,.0f} rows/s)")
        out["csv_limit_validate_s"] = t
    print(json.dumps({k: round(v, 4) for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
