"""Tests of pmm_lib.sensitivity: known answers for Sobol' indices, the ranks, the vectorised
aggregation kernel against pmm_lib.aggregate, and the engine against a loop over build()."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pmm_lib import sensitivity as sa
from pmm_lib.errors import SpecError

ASEM = Path(__file__).parent / "data" / "coinr-asem"


# ------------------------------------------------------------------------------ analytic Sobol'
def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_truth(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytic indices (Ishigami & Homma 1990; Sobol' & Levitan 1999)."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def sobol_g(u: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.prod((np.abs(4 * u - 2) + a) / (1 + a), axis=1)


def sobol_g_truth(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vi = 1 / (3 * (1 + a) ** 2)
    v = np.prod(1 + vi) - 1
    total = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(len(a))]) / v
    return vi / v, total


def _within(frame: pd.DataFrame, order: str, truth: np.ndarray) -> None:
    sub = frame[frame["order"] == order].reset_index(drop=True)
    for j, t in enumerate(truth):
        lo, hi = sub.loc[j, "ci_low"], sub.loc[j, "ci_high"]
        assert lo <= t <= hi, f"{order} index of {sub.loc[j, 'factor']}: {t:.4f} not in [{lo:.4f}, {hi:.4f}]"
        assert hi - lo < 0.1


def test_ishigami_matches_analytic_indices_within_ci():
    factors = [sa.Factor(f"x{i + 1}", bounds=(-math.pi, math.pi)) for i in range(3)]
    design = sa.sobol_design(factors, 2**13, seed=11)
    x = np.column_stack([design.values(f.name) for f in factors])
    res = sa.sobol_indices(ishigami(x), design, seed=5)
    s1, st_ = ishigami_truth()
    _within(res, "first", s1)
    _within(res, "total", st_)
    assert res["n"].eq(2**13).all()


def test_sobol_g_matches_analytic_indices_within_ci():
    a = np.array([0.0, 1.0, 4.5, 9.0, 99.0])
    factors = [sa.Factor(f"x{i + 1}") for i in range(len(a))]
    design = sa.sobol_design(factors, 2**13, seed=2)
    res = sa.sobol_indices(sobol_g(design.u, a), design, seed=9)
    s1, st_ = sobol_g_truth(a)
    _within(res, "first", s1)
    _within(res, "total", st_)


def test_discrete_factors_match_enumerated_variance_decomposition():
    """Discrete factors mapped from [0, 1): indices equal the exact decomposition by enumeration."""
    levels = (2, 3, 5)
    c1 = np.array([0.0, 3.0])
    c2 = np.array([1.0, -1.0, 2.0])
    c3 = np.array([0.0, 0.5, 1.0, 1.5, 4.0])
    table = c1[:, None, None] + c2[None, :, None] + c1[:, None, None] * c3[None, None, :]
    v = table.var()
    first = np.array([table.mean(axis=(1, 2)).var(), table.mean(axis=(0, 2)).var(),
                      table.mean(axis=(0, 1)).var()]) / v
    total = np.array([table.var(axis=0).mean(), table.var(axis=1).mean(), table.var(axis=2).mean()]) / v
    factors = [sa.Factor(f"f{i}", levels=n) for i, n in enumerate(levels)]
    design = sa.sobol_design(factors, 2**13, seed=4)
    idx = [design.values(f.name) for f in factors]
    for j, n in enumerate(levels):  # every alternative is reached, equally often in the limit
        share = np.bincount(idx[j], minlength=n) / design.n
        assert np.allclose(share, 1 / n, atol=0.02)
    res = sa.sobol_indices(table[idx[0], idx[1], idx[2]], design, seed=1)
    _within(res, "first", first)
    _within(res, "total", total)


def test_factor_map_discrete_edges_and_continuous():
    f = sa.Factor("f", levels=4)
    assert f.map(np.array([0.0, 0.2499, 0.25, 0.999999, 1.0])).tolist() == [0, 0, 1, 3, 3]
    c = sa.Factor("c", bounds=(-2.0, 2.0))
    assert np.allclose(c.map(np.array([0.0, 0.5, 0.75])), [-2.0, 0.0, 1.0])
    with pytest.raises(SpecError, match="levels"):
        sa.Factor("bad", levels=0)
    with pytest.raises(SpecError, match="bounds"):
        sa.Factor("bad", bounds=(1.0, 1.0))


def test_vectorised_per_unit_sobol_equals_salib_analyze():
    """The per-unit estimator (matrix bootstrap) reproduces SALib.analyze column by column."""
    from SALib.analyze import sobol as salib

    factors = [sa.Factor(f"x{i + 1}", bounds=(-math.pi, math.pi)) for i in range(3)]
    design = sa.sobol_design(factors, 512, seed=3)
    x = np.column_stack([design.values(f.name) for f in factors])
    y = np.column_stack([ishigami(x), ishigami(x, a=2.0, b=0.5), x[:, 0] + 0.1 * x[:, 2]])
    got = sa._sobol_arrays(y, 3, num_resamples=50, conf_level=0.95, seed=77)
    for col in range(y.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = salib.analyze(design.salib_problem(), y[:, col], calc_second_order=False,
                                num_resamples=50, conf_level=0.95, seed=77)
        for key in ("S1", "ST", "S1_conf", "ST_conf"):
            assert np.allclose(got[key][:, col], ref[key], rtol=1e-8, atol=1e-10), (key, col)


def test_sobol_design_seeded_and_shaped():
    factors = [sa.Factor("a", levels=2), sa.Factor("b")]
    d1 = sa.sobol_design(factors, 64, seed=1)
    d2 = sa.sobol_design(factors, 64, seed=1)
    d3 = sa.sobol_design(factors, 64, seed=2)
    assert d1.u.shape == (64 * 4, 2)
    assert np.array_equal(d1.u, d2.u)
    assert not np.array_equal(d1.u, d3.u)
    assert ((d1.u >= 0) & (d1.u < 1)).all()
    mc = sa.sobol_design(factors, 100, method="monte_carlo", seed=1)
    assert mc.u.shape == (100, 2)
    with pytest.raises(SpecError, match="method"):
        sa.sobol_design(factors, 64, method="lhs")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="Sobol' indices need"):
        sa.sobol_indices(np.zeros(100), mc)
    with pytest.raises(SpecError, match="expected 256"):
        sa.sobol_indices(np.zeros(10), d1)


# ------------------------------------------------------------------------------ ranks
def test_rank_desc_hand_computed():
    r = sa.rank_desc(np.array([[10.0, 30.0, 20.0, 30.0], [1.0, np.nan, 1.0, 0.0]]))
    assert np.array_equal(r, np.array([[4.0, 1.0, 3.0, 1.0], [1.0, np.nan, 1.0, 3.0]]), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(float, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
                  elements=st.one_of(st.sampled_from([0.0, 1.0, 2.5, np.nan]),
                                     st.floats(-1e6, 1e6))))
def test_rank_desc_equals_pandas_min_rank(x):
    expected = pd.DataFrame(x).rank(axis=1, ascending=False, method="min").to_numpy()
    assert np.array_equal(sa.rank_desc(x), expected, equal_nan=True)


# ------------------------------------------------------------------------------ kernel
def _toy_meta() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["a", "b", "c", "d", "e", "X", "Y", "Z", "I"],
        "level": [1, 1, 1, 1, 1, 2, 2, 2, 3],
        "parent": ["X", "X", "Y", "Y", "Z", "I", "I", "I", None],
        "direction": 1, "weight": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0]})


@pytest.mark.parametrize("method", ["arithmetic", "geometric"])
@pytest.mark.parametrize("min_coverage", [0.0, 0.6])
def test_kernel_equals_aggregate_hierarchy_for_many_weight_vectors(method, min_coverage):
    from pmm_lib.aggregate import aggregate_hierarchy

    meta = _toy_meta()
    hier = sa._Hierarchy.from_meta(meta)
    gen = np.random.default_rng(0)
    x = gen.uniform(1, 100, size=(7, 5))
    x[0, 1] = np.nan          # a missing child (coverage by weight: 1/3 of X)
    x[2, 4] = np.nan          # the only child of Z
    x[3, [0, 1]] = np.nan
    w = gen.uniform(0.5, 1.5, size=(40, len(hier.codes)))
    include = np.ones((40, 5))
    include[5:10, 2] = 0.0    # exclude c in some samples
    vals, bad = sa._aggregate_batch(x, hier, w, (method, method), (min_coverage, min_coverage), include)
    assert not bad.any()
    for s in range(40):
        keep = [c for c, inc in zip("abcde", include[s], strict=True) if inc]
        m = meta[meta["code"].isin(keep + ["X", "Y", "Z", "I"])]
        weights = dict(zip(hier.codes, w[s], strict=True))
        ref = aggregate_hierarchy(pd.DataFrame(x, columns=list("abcde"))[keep], m, method=method,
                                  weights={k: v for k, v in weights.items() if k in set(m["code"])},
                                  min_coverage=min_coverage)
        assert np.allclose(vals[2][s], ref[["X", "Y", "Z"]].to_numpy(), rtol=1e-12, equal_nan=True)
        assert np.allclose(vals[3][s][:, 0], ref["I"].to_numpy(), rtol=1e-12, equal_nan=True)


def test_kernel_flags_geometric_domain_errors_like_aggregate():
    hier = sa._Hierarchy.from_meta(_toy_meta())
    x = np.full((3, 5), 50.0)
    x[1, 2] = 0.0
    w = np.ones((4, len(hier.codes)))
    include = np.ones((4, 5))
    include[3, 2] = 0.0  # excluding the offending indicator removes the error
    _, bad = sa._aggregate_batch(x, hier, w, ("geometric", "geometric"), (0.0, 0.0), include)
    assert bad.tolist() == [True, True, True, False]
    _, bad = sa._aggregate_batch(x, hier, w, ("arithmetic", "geometric"), (0.0, 0.0), include)
    assert not bad.any()
