"""Benchmark: time of one ``build()`` on COINr's ASEM data (51 units x 49 indicators, 4 levels)
and on the synthetic PMM returns (all Members, 51 KPIs), per stage and end to end.

Run: ``python benchmarks/build_speed.py``. Prints milliseconds (median of repeats); the
sensitivity engine loops ``build`` over discrete alternatives, so this is the number to watch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from pmm_lib.core import transform as T
from pmm_lib.core.build import build, nominal_weights
from pmm_lib.core.spec import Spec
from pmm_lib.inputs.coinr import load_coinr

ASEM = Path(__file__).resolve().parents[1] / "tests" / "data" / "coinr-asem"


def ms(fn: Callable[[], object], repeat: int = 30) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    a = load_coinr(ASEM / "ASEM_iData.csv", ASEM / "ASEM_iMeta.csv")
    plain = Spec()
    coinr = Spec.from_yaml(ASEM / "asem_spec.yaml")
    x = a.data
    print("ASEM (51 x 49), median ms")
    print(f"  normalise minmax      {ms(lambda: T.normalise(x, a.meta, 'minmax')):8.2f}")
    print(f"  treat winsorise       {ms(lambda: T.treat(x, 'winsorise')):8.2f}")
    print(f"  nominal weights       {ms(lambda: nominal_weights(a.meta)):8.2f}")
    print(f"  build Spec()          {ms(lambda: build(x, a.meta, plain)):8.2f}")
    print(f"  build COINr example   {ms(lambda: build(x, a.meta, coinr, groups=a.groups, denominators=a.denominators)):8.2f}")
    try:
        from pmm_lib.core.build import build_pmm
        from pmm_lib.inputs.data import load_observations, to_matrix
        from pmm_lib.inputs.framework import load_framework

        obs = load_observations()
        m = to_matrix(obs, 2024)
        meta = load_framework().table()
        print(f"PMM synthetic ({m.shape[0]} x {m.shape[1]}), median ms")
        print(f"  build Spec.default()  {ms(lambda: build(m, meta, Spec.default())):8.2f}")
        print(f"  build_pmm (loading)   {ms(lambda: build_pmm(Spec.default(), observations=obs), 5):8.2f}")
    except Exception as exc:  # noqa: BLE001 - benchmark: report and carry on
        print(f"PMM synthetic: skipped ({exc})")


if __name__ == "__main__":
    main()
