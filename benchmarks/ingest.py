"""Ingest timings: the bundled returns, a questionnaire, and a CSV at the 200,000-row limit.

Run ``python benchmarks/ingest.py``; prints one line per measurement (median of a few repeats,
imports excluded, nothing written under data/).
"""

from __future__ import annotations

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
    bundled = paths.QUESTIONNAIRE_DIR / "pmm_returns.csv"
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        read_returns([bundled])  # warm imports
        n = len(read_returns([bundled]).observations)
        print(f"bundled returns ({n} rows), validate only:      {timed(lambda: read_returns([bundled])):6.3f} s")
        print(f"bundled returns, validate + write processed:    "
              f"{timed(lambda: ingest([bundled], processed_dir=d / 'p', with_reference=False)):6.3f} s")
        print(f"template (51 KPIs, 6 sheets):                   {timed(lambda: write_template(d / 't.xlsx')):6.3f} s")
        q = filled_workbook(d / "q.xlsx")
        print(f"one filled questionnaire, validate:             "
              f"{timed(lambda: read_returns([q], members=TEST_MEMBERS)):6.3f} s")
        kpis = [k.code for k in fw.kpis]
        members = [f"{a}{b}{c}" for a in "ABCD" for b in "ABCDEFGH" for c in "AB"][:40]
        rows = [f"{m},{c},{k.code},{(k.lower + k.upper) / 2:g},public,,\n"
                for c in range(2000, 2101) for m in members for k in fw.kpis][: (200_000 // len(kpis)) * len(kpis)]
        big = d / "big.csv"
        big.write_text("member,cycle,kpi,value,disclosure,source,flag\n" + "".join(rows))
        t = timed(lambda: read_returns([big], members=None), repeat=1)
        print(f"CSV at the row limit ({len(rows):,} rows), validate: {t:6.3f} s ({len(rows) / t:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
