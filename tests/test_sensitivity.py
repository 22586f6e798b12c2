"""Tests of pmm_lib.uncertainty.sensitivity: known answers for Sobol' indices, the ranks, the vectorised
aggregation kernel against pmm_lib.core.aggregate, and the engine against a loop over build()."""

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

from pmm_lib.core.hierarchy import compile_hierarchy
from pmm_lib.errors import InputError, RunError, SpecError
from pmm_lib.uncertainty import sensitivity as sa
from pmm_lib.uncertainty.sobol import _sobol_arrays, _split_saltelli

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
    got = _sobol_arrays(y, 3, num_resamples=50, conf_level=0.95, seed=77)
    for col in range(y.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = salib.analyze(design.salib_problem(), y[:, col], calc_second_order=False,
                                num_resamples=50, conf_level=0.95, seed=77)
        for key in ("S1", "ST", "S1_conf", "ST_conf"):
            assert np.allclose(got[key][:, col], ref[key], rtol=1e-8, atol=1e-10), (key, col)
    # pooled index = variance-weighted mean of the per-column indices
    a, _, b = _split_saltelli(y, 3)
    v = np.concatenate([a, b]).var(axis=0)
    for key in ("S1", "ST"):
        assert np.allclose(got[f"{key}_all"], (got[key] * v).sum(axis=1) / v.sum(), rtol=1e-10)
        assert (got[f"{key}_all_conf"] > 0).all()
    pooled_only = _sobol_arrays(y, 3, num_resamples=50, conf_level=0.95, seed=77, per_column=False)
    assert "S1" not in pooled_only and np.array_equal(pooled_only["ST_all"], got["ST_all"])


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


# ------------------------------------------------------------------------------ the engine on ASEM
@pytest.fixture(scope="module")
def asem():
    from pmm_lib.inputs.coinr import load_coinr

    ds = load_coinr(ASEM / "ASEM_iData.csv", ASEM / "ASEM_iMeta.csv")
    return ds.data, ds.meta, {"groups": ds.groups, "denominators": ds.denominators}


def _asem_base(screen: float = 0.9):
    from pmm_lib.core.spec import ImputeSpec, NormaliseSpec, ScreenSpec, Spec, TreatSpec

    return Spec(denominate=True, impute=ImputeSpec("group_mean", "EurAsia_group"),
                screen=ScreenSpec(screen), treat=TreatSpec("winsorise"),
                normalise=NormaliseSpec("minmax", low=1.0, high=100.0))


def _reference_problem(base=None):
    """COINr's ASEM sensitivity example: winmax 1-5, min-max vs z-score, +-25 % weight noise at
    the two upper weight levels, arithmetic vs geometric."""
    from pmm_lib.core.spec import NormaliseSpec

    base = base or _asem_base()
    return sa.UncertaintyProblem(
        base, treat=sa.winmax_alternatives(base.treat, range(1, 6)),
        normalise=(NormaliseSpec("minmax", low=1.0, high=100.0), NormaliseSpec("zscore", mean=10.0, sd=2.0)),
        aggregate=("arithmetic", "geometric"), weight_noise={2: 0.25, 3: 0.25})


def _compare_with_loop(data, meta, opts, problem, design, rows, targets):
    reps = sa.evaluate(data, meta, problem, design, targets=targets, build_options=opts,
                       score_dtype=np.float64)
    for i in rows:
        res = sa.build_replication(data, meta, problem, design, int(i), build_options=opts)
        sc = res.aggregated.reindex(index=reps.units, columns=list(targets)).to_numpy()
        rk = res.ranks.reindex(index=reps.units, columns=list(targets)).to_numpy()
        np.testing.assert_allclose(reps.scores[i], sc, rtol=0, atol=1e-9, err_msg=f"replication {i}")
        np.testing.assert_array_equal(reps.ranks[i], rk, err_msg=f"replication {i}")
    return reps


@pytest.mark.slow
def test_engine_equals_loop_over_build_on_200_replications(asem):
    data, meta, opts = asem
    problem = _reference_problem()
    design = sa.sample_design(data, meta, problem, 200, seed=20240601, build_options=opts)
    targets = [c for c in meta["code"] if c not in set(data.columns)]  # every aggregate
    reps = _compare_with_loop(data, meta, opts, problem, design, range(200), targets)
    assert reps.n_groups == 10 and not reps.failed.any()
    # the design covers every alternative of every factor
    for name, n_alt in (("treat", 5), ("normalise", 2), ("aggregate", 2)):
        assert set(design.values(name).tolist()) == set(range(n_alt))


def test_engine_equals_build_with_exclusion_imputation_and_weight_sets(asem):
    from pmm_lib.core.spec import ImputeSpec

    data, meta, opts = asem
    sets = (pd.Series({"Conn": 2.0, "Sust": 1.0}),
            pd.Series({"Environ": 3.0, "Social": 1.0, "SusEcFin": 0.5}))
    targets = ["Index", "Conn", "Sust", "Physical", "LPI", "Flights"]
    for screen in (0.0, 0.9):  # column-wise exclusion (masks) and exclusion in the group key
        base = _asem_base(screen)
        problem = sa.UncertaintyProblem(
            base, impute=(ImputeSpec("group_mean", "EurAsia_group"), ImputeSpec("median")),
            weight_sets=sets, exclude_kpis=True, weight_noise={1: 0.3},
            aggregate=("arithmetic", "harmonic", "geometric"))
        design = sa.sample_design(data, meta, problem, 6, seed=int(screen * 10), build_options=opts)
        excl = design.values("exclude")
        assert (excl > 0).sum() >= 4  # most replications drop an indicator
        reps = _compare_with_loop(data, meta, opts, problem, design, range(6), targets)
        keys = {(i, e) for i, e in zip(design.values("impute"), excl, strict=True)}
        # column-wise stages: exclusion is a mask; with unit screening it is part of the group key
        assert reps.n_groups == (len({k[0] for k in keys}) if screen == 0 else len(keys))


def test_exclusion_alone_is_grouped_and_still_equals_build(asem):
    """Exclusion with fixed indicator weights (only level-2 noise): the engine's masks give
    build()'s numbers for indicator and index targets, and a left-out indicator has no score."""
    data, meta, opts = asem
    problem = sa.UncertaintyProblem(_asem_base(0.0), exclude_kpis=True, weight_noise={2: 0.25},
                                    aggregate=("arithmetic", "geometric"))
    design = sa.sample_design(data, meta, problem, 64, seed=11, build_options=opts)
    excl = design.values("exclude")
    assert len(set(excl.tolist())) >= 20          # many different indicators left out
    targets = ["Index", "Conn", "Sust", "Physical", "LPI", "Flights"]
    rows = range(0, 64, 3)
    reps = _compare_with_loop(data, meta, opts, problem, design, rows, targets)
    lpi = targets.index("LPI")                   # an indicator target: NaN where it is left out
    gone = [i for i in range(64) if np.isnan(reps.scores[i][:, lpi]).all()]
    assert 0 < len(gone) < 64 and not reps.failed.any()


def test_partial_weight_set_is_rejected(asem):
    data, meta, opts = asem
    problem = sa.UncertaintyProblem(_asem_base(), weight_sets=(pd.Series({"Environ": 2.0, "Social": 1.0}),
                                                               pd.Series({"Conn": 1.0, "Sust": 1.0})))
    with pytest.raises(SpecError, match=r"weight_sets\[0\]: names Environ, Social under Sust but not SusEcFin"):
        sa.sample_design(data, meta, problem, 4, seed=1, build_options=opts)


def test_replication_spec_is_a_plain_spec(asem):
    from pmm_lib.core.spec import Spec

    data, meta, opts = asem
    problem = _reference_problem()
    design = sa.sample_design(data, meta, problem, 5, seed=1, build_options=opts)
    spec, excluded = sa.replication_spec(problem, design, 3, data=data, meta=meta, build_options=opts)
    assert excluded is None
    assert Spec.from_yaml_text(spec.to_yaml()) == spec  # materialisable and serialisable
    assert spec.treat.winmax == [1, 2, 3, 4, 5][design.values("treat")[3]]
    assert spec.aggregate[0].method == ["arithmetic", "geometric"][design.values("aggregate")[3]]
    w = spec.weights.values
    noise = design.weight_bank[design.values("weights")[3]]
    levels = dict(zip(meta["code"], meta["level"], strict=True))
    for code, m in zip(compile_hierarchy(meta).below_top, noise, strict=True):
        assert (m == 1.0) == (levels[code] not in (2, 3))
        assert 0.75 <= m <= 1.25
    assert set(w) == set(compile_hierarchy(meta).below_top)


def test_uncertainty_analysis_seeded_and_summarised(asem):
    data, meta, opts = asem
    problem = _reference_problem()
    a = sa.uncertainty_analysis(data, meta, problem, n_samples=300, seed=7, build_options=opts)
    b = sa.uncertainty_analysis(data, meta, problem, n_samples=300, seed=7, build_options=opts)
    c = sa.uncertainty_analysis(data, meta, problem, n_samples=300, seed=8, build_options=opts)
    pd.testing.assert_frame_equal(a.rank_intervals, b.rank_intervals)
    assert not np.allclose(a.replications.scores, c.replications.scores, equal_nan=True)
    ri = a.rank_intervals
    assert list(ri.columns) == ["code", "unit", "score", "rank", "rank_q50", "rank_low", "rank_high",
                                "mean_abs_rank_shift", "score_low", "score_q25", "score_q50",
                                "score_q75", "score_high", "n"]
    assert len(ri) == 3 * 51 and set(ri["code"]) == {"Index", "Conn", "Sust"}
    assert (ri["rank_low"] <= ri["rank_q50"]).all() and (ri["rank_q50"] <= ri["rank_high"]).all()
    assert (ri["score_low"] <= ri["score_q50"]).all() and (ri["n"] == 300).all()
    # hand check of one unit: quantiles and shift from the raw replications
    reps = a.replications
    t, u = reps.targets.index("Index"), 4
    row = ri[(ri["code"] == "Index") & (ri["unit"] == reps.units[u])].iloc[0]
    r = reps.ranks[:, u, t]
    assert row["rank_q50"] == np.quantile(r, 0.5) and row["rank_high"] == np.quantile(r, 0.95)
    assert row["mean_abs_rank_shift"] == pytest.approx(np.mean(np.abs(r - reps.nominal_ranks[u, t])))
    s = a.summary.set_index("code")
    assert s.loc["Index", "mean_abs_rank_shift"] > 0 and s.loc["Index", "n_failed"] == 0
    assert a.n_failed == 0


def test_no_uncertainty_reproduces_the_nominal_index(asem):
    from pmm_lib.core.build import build

    data, meta, opts = asem
    base = _asem_base()
    res = sa.uncertainty_analysis(data, meta, sa.UncertaintyProblem(base), n_samples=20, seed=1,
                                  build_options=opts)
    nominal = build(data, meta, base, **opts)
    ri = res.rank_intervals[res.rank_intervals["code"] == "Index"].set_index("unit")
    assert (ri["rank_low"] == ri["rank_high"]).all() and (ri["mean_abs_rank_shift"] == 0).all()
    pd.testing.assert_series_equal(ri["rank"].sort_index(), nominal.ranks["Index"].sort_index(),
                                   check_names=False, check_index_type=False)
    assert np.allclose(ri["score"].sort_index(), nominal.index.sort_index())
    long = res.replications.to_long()
    assert list(long.columns) == ["replication", "unit", "code", "score", "rank"]
    assert len(long) == 20 * 51 * 3
    one = long[(long["replication"] == 7) & (long["code"] == "Index")].set_index("unit")["score"]
    assert np.allclose(one.sort_index(), nominal.index.sort_index())


def test_failed_replications_are_counted_and_stop_the_run(asem):
    from pmm_lib.core.spec import NormaliseSpec

    data, meta, opts = asem
    base = _asem_base()
    # min-max onto [0, 100] puts zeros in front of the geometric mean: those replications fail
    problem = sa.UncertaintyProblem(
        base, normalise=(NormaliseSpec("minmax", low=0.0, high=100.0), NormaliseSpec("minmax", low=1.0, high=100.0)),
        aggregate=("arithmetic", "geometric"))
    res = sa.uncertainty_analysis(data, meta, problem, n_samples=200, seed=3, max_failed_share=0.5,
                                  build_options=opts)
    reps = res.replications
    expected = (reps.design.values("normalise") == 0) & (reps.design.values("aggregate") == 1)
    assert np.array_equal(reps.failed, expected) and res.n_failed == expected.sum() > 0
    assert res.summary["n_failed"].iloc[0] == expected.sum()
    assert "geometric mean needs values > 0" in reps.failures["error"].iloc[0]
    assert np.isnan(reps.scores[reps.failed]).all()
    with pytest.raises(RunError, match="replications failed"):
        sa.uncertainty_analysis(data, meta, problem, n_samples=200, seed=3, max_failed_share=0.05,
                                build_options=opts)


def test_sensitivity_analysis_structure_and_known_zero(asem):
    data, meta, opts = asem
    base = _asem_base()
    # noise only on the sub-index weights (level 3): it moves the Index but not Conn or Sust
    problem = sa.UncertaintyProblem(base, treat=sa.winmax_alternatives(base.treat, (1, 5)),
                                    aggregate=("arithmetic", "geometric"), weight_noise={3: 0.25})
    res = sa.sensitivity_analysis(data, meta, problem, n_base=128, seed=5, num_resamples=50,
                                  per_unit=True, build_options=opts)
    again = sa.sensitivity_analysis(data, meta, problem, n_base=128, seed=5, num_resamples=50,
                                    per_unit=True, build_options=opts)
    other = sa.sensitivity_analysis(data, meta, problem, n_base=128, seed=6, num_resamples=50,
                                    build_options=opts)
    pd.testing.assert_frame_equal(res.indices, again.indices)
    assert not np.allclose(res.indices.loc[res.indices["unit"] == "", "estimate"], other.indices["estimate"])
    ix = res.indices
    assert list(ix.columns) == ["code", "output", "unit", "factor", "order", "estimate", "ci_low",
                                "ci_high", "n"]
    assert res.replications.n == 128 * 5 and res.n_dropped == 0
    agg = ix[ix["unit"] == ""]
    assert len(agg) == 3 * 2 * 3 * 2  # codes x outputs x factors x orders
    for code in ("Conn", "Sust"):
        zero = agg[(agg["code"] == code) & (agg["factor"] == "weights") & (agg["order"] == "total")]
        assert np.allclose(zero["estimate"], 0.0, atol=1e-12)
    wt = agg[(agg["code"] == "Index") & (agg["factor"] == "weights") & (agg["order"] == "total")]
    assert (wt["estimate"] > 0).all()
    assert (agg["ci_low"] <= agg["estimate"]).all() and (agg["estimate"] <= agg["ci_high"]).all()
    assert set(ix.loc[ix["unit"] != "", "unit"]) == set(data.index)
    conv = res.convergence
    assert set(conv.columns) >= {"estimate", "estimate_half", "abs_diff", "ci_width", "converged"}
    # known answers: an index that is exactly 0 at N is exactly 0 at N/2 (no drift), and the
    # flag is the documented rule over every aggregate row
    zero = conv[conv["code"].isin(["Conn", "Sust"]) & (conv["factor"] == "weights") & (conv["order"] == "total")]
    assert len(zero) == 4 and np.allclose(zero["estimate_half"], 0.0, atol=1e-12) and (zero["abs_diff"] < 1e-12).all()
    assert np.allclose(conv["abs_diff"], (conv["estimate"] - conv["estimate_half"]).abs())
    assert res.converged is bool(((conv["abs_diff"] <= 0.05) & (conv["ci_width"] <= 0.1)).all())


def test_convergence_check_known_answers():
    """Hand-made N and N/2 estimates: |diff| <= tol and CI width <= 2 tol, else not converged."""
    keys = dict(code="I", output="score", unit="", order="first")
    full = pd.DataFrame([dict(keys, factor=f, estimate=e, ci_low=lo, ci_high=hi)
                         for f, e, lo, hi in [("a", 0.50, 0.48, 0.55), ("b", 0.30, 0.20, 0.40), ("c", 0.10, 0.09, 0.11)]]
                        + [dict(keys, unit="FRA", factor="a", estimate=9.0, ci_low=0.0, ci_high=99.0)])
    half = full.assign(estimate=[0.53, 0.31, 0.20, 0.0])
    conv = sa.convergence_check(full, half, tol=0.05).set_index("factor")
    assert list(conv.index) == ["a", "b", "c"]  # per-Member rows are not part of the check
    assert conv["abs_diff"].to_numpy() == pytest.approx([0.03, 0.01, 0.10])
    assert conv["ci_width"].to_numpy() == pytest.approx([0.07, 0.20, 0.02])
    assert conv["converged"].tolist() == [True, False, False]  # b: CI too wide; c: moved by 0.10


def test_problem_validation_names_the_field():
    from pmm_lib.core.spec import NormaliseSpec, Spec, TreatSpec

    base = Spec()
    with pytest.raises(SpecError, match=r"aggregate\[1\].*allowed: arithmetic, geometric, harmonic"):
        sa.UncertaintyProblem(base, aggregate=("arithmetic", "median"))
    with pytest.raises(SpecError, match=r"weight_noise\[2\]"):
        sa.UncertaintyProblem(base, weight_noise={2: 1.2})
    with pytest.raises(SpecError, match="weight_noise: level"):
        sa.UncertaintyProblem(base, weight_noise={0: 0.1})
    with pytest.raises(SpecError, match=r"normalise\[0\].*NormaliseSpec"):
        sa.UncertaintyProblem(base, normalise=("minmax",))
    with pytest.raises(SpecError, match=r"treat: duplicate"):
        sa.UncertaintyProblem(base, treat=(TreatSpec(), TreatSpec()))
    with pytest.raises(SpecError, match=r"weight_sets\[0\].*K01=-1"):
        sa.UncertaintyProblem(base, weight_sets=(pd.Series({"K01": -1.0}),))
    with pytest.raises(SpecError, match="exclude_kpis"):
        sa.UncertaintyProblem(base, exclude_kpis="yes")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="base"):
        sa.UncertaintyProblem("spec.yaml")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="winmax"):
        sa.winmax_alternatives(TreatSpec(), [1, -2])
    p = sa.UncertaintyProblem(base, normalise=NormaliseSpec(), aggregate="geometric")
    assert p.normalise == (NormaliseSpec(),) and p.aggregate == ("geometric",) and p.varied == ()


def test_load_weight_sets_long_wide_and_errors(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text("submission,code,weight\ng1,TF,2\ng1,RC,1\ng2,TF,1\ng2,RC,3\n")
    sets = sa.load_weight_sets(long)
    assert [s.name for s in sets] == ["g1", "g2"] and sets[1]["RC"] == 3.0
    wide = tmp_path / "wide.csv"
    wide.write_text("group,TF,RC\ng1,2,1\ng2,1,x\n")
    with pytest.raises(InputError, match=r"row 3, column 'RC'"):
        sa.load_weight_sets(wide)
    wide.write_text("group,TF,RC\ng1,2,1\ng2,1,3\n")
    assert sa.load_weight_sets(wide)[1].to_dict() == {"TF": 1.0, "RC": 3.0}
    with pytest.raises(InputError, match="not found"):
        sa.load_weight_sets(tmp_path / "none.csv")
    yml = tmp_path / "sets.yaml"
    yml.write_text("kind: pmm-weight-sets\nweight_sets:\n- name: Caribbean 1\n  values: {TF: 0.4, RC: 0.6}\n"
                   "- name: Andes\n  values: {TF: 0.5, RC: 0.5}\n")
    sets = sa.load_weight_sets(yml)
    assert [s.name for s in sets] == ["Caribbean 1", "Andes"] and sets[0]["RC"] == 0.6
    yml.write_text("weight_sets:\n- name: bad\n")
    with pytest.raises(InputError, match="no 'values' mapping"):
        sa.load_weight_sets(yml)


def test_cli_uncertainty_writes_tidy_csvs(tmp_path, capsys):
    import argparse

    from pmm_lib.cli import uncertainty as cli_uncertainty

    parser = argparse.ArgumentParser()
    cli_uncertainty.add_arguments(parser)
    args = parser.parse_args(["--region", "AMS", "--cycle", "2024", "--n-samples", "64", "--seed", "3",
                              "--sobol", "--out", str(tmp_path)])
    assert cli_uncertainty.run(args) == 0
    ri = pd.read_csv(tmp_path / "rank_intervals.csv", keep_default_na=False, na_values=[""])
    assert {"code", "unit", "rank", "rank_low", "rank_high"} <= set(ri.columns)
    assert set(ri["code"]) == {"PMM", "TF", "RC", "ES", "OD"}
    sobol = pd.read_csv(tmp_path / "sobol.csv", keep_default_na=False)
    assert set(sobol["factor"]) == {"treat", "normalise", "aggregate", "weights"}
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "convergence.csv").is_file()
    assert "replications" in capsys.readouterr().out


def test_workshop_weight_sets_feed_the_engine(tmp_path):
    """The workshop's export (CSV and YAML) is read as weight sets; each set's replications
    rebuild exactly with build() and the sets give different index scores."""
    from pmm_lib.core.spec import Spec
    from pmm_lib.workshop import exercise as workshop

    sub = workshop.simulate_submissions(3, seed=4)
    workshop.export_weight_sets(sub, tmp_path / "ws.csv")
    workshop.export_weight_sets(sub, tmp_path / "ws.yaml")
    sets = sa.load_weight_sets(tmp_path / "ws.csv")
    assert [s.to_dict() for s in sets] == [s.to_dict() for s in sa.load_weight_sets(tmp_path / "ws.yaml")]
    data, meta, opts = sa.pmm_inputs(Spec.default(), region="AMS", cycle=2024)
    problem = sa.UncertaintyProblem(Spec.default(), weight_sets=sets)
    assert problem.varied == ("weight_set",)
    design = sa.sample_design(data, meta, problem, 12, seed=2, build_options=opts)
    reps = _compare_with_loop(data, meta, opts, problem, design, range(0, 12, 4), ["PMM", "TF"])
    chosen = design.values("weight_set")
    by_set = {int(k): reps.scores[chosen == k, :, 0][0] for k in np.unique(chosen)}
    assert len(by_set) >= 2 and not np.allclose(*list(by_set.values())[:2], equal_nan=True)


def test_engine_runs_the_build_stages_not_a_copy(asem, monkeypatch):
    """A change in a stage function of pmm_lib.core.transform reaches the engine and build()
    alike: the engine has no stage sequence of its own (no copy, no runtime guard)."""
    from pmm_lib.core import transform

    data, meta, opts = asem
    real = transform.normalise

    def shifted(*a, **k):
        out, log = real(*a, **k)
        return out * 1.01 + 3.0, log

    monkeypatch.setattr(transform, "normalise", shifted)
    problem = _reference_problem()
    design = sa.sample_design(data, meta, problem, 8, seed=5, build_options=opts)
    reps = _compare_with_loop(data, meta, opts, problem, design, range(8), ["Index", "Conn", "Sust"])
    monkeypatch.setattr(transform, "normalise", real)
    plain = sa.evaluate(data, meta, problem, design, build_options=opts, score_dtype=np.float64)
    assert not np.allclose(plain.scores, reps.scores)


def test_compact_storage_float32_scores_int16_ranks(asem):
    data, meta, opts = asem
    problem = _reference_problem()
    design = sa.sample_design(data, meta, problem, 64, seed=9, build_options=opts)
    small = sa.evaluate(data, meta, problem, design, build_options=opts)
    exact = sa.evaluate(data, meta, problem, design, build_options=opts, score_dtype=np.float64)
    assert small.score_store.dtype == np.float32 and small.rank_store.dtype == np.int16
    assert small.score_store.nbytes * 2 == exact.score_store.nbytes
    np.testing.assert_allclose(small.scores, exact.scores, rtol=1e-6)
    np.testing.assert_array_equal(small.rank_store, exact.rank_store)  # ranks come from float64 scores
    assert small.scores.base is not None  # a view of the target-major store, not a copy


def test_summaries_only_equal_the_full_analysis_and_numpy_quantiles(asem):
    """keep_replications=False (one target at a time) gives the same tables; the sort/count-based
    quantiles equal np.nanquantile on the float ranks and scores, failed replications excluded."""
    data, meta, opts = asem
    problem = _reference_problem()
    full = sa.uncertainty_analysis(data, meta, problem, n_samples=150, seed=3, build_options=opts)
    lean = sa.uncertainty_analysis(data, meta, problem, n_samples=150, seed=3, build_options=opts,
                                   keep_replications=False)
    assert lean.replications is None
    pd.testing.assert_frame_equal(full.rank_intervals, lean.rank_intervals)
    pd.testing.assert_frame_equal(full.summary, lean.summary)
    reps = full.replications
    ranks, scores = reps.ranks, reps.scores.astype(float)
    for t, code in enumerate(reps.targets):
        ri = full.rank_intervals[full.rank_intervals["code"] == code].set_index("unit").loc[list(reps.units)]
        np.testing.assert_allclose(ri["rank_low"], np.nanquantile(ranks[:, :, t], 0.05, axis=0))
        np.testing.assert_allclose(ri["rank_q50"], np.nanquantile(ranks[:, :, t], 0.5, axis=0))
        np.testing.assert_allclose(ri["score_q75"], np.nanquantile(scores[:, :, t], 0.75, axis=0), rtol=1e-12)


def test_rank_intervals_with_failures_and_missing_units():
    """Hand-made replications: a failed replication is left out, a unit without a score in some
    replications is summarised over the others, a unit never scored gives NaN."""
    from pmm_lib.uncertainty.engine import Replications

    s = np.array([[3.0, 2.0, 1.0, np.nan], [1.0, 2.0, 3.0, np.nan], [2.0, np.nan, 1.0, np.nan],
                  [9.0, 9.0, 9.0, np.nan]])  # the last replication failed
    from pmm_lib.core.rank import rank_desc_int

    r = rank_desc_int(s, np.int16)
    failed = np.array([False, False, False, True])
    reps = Replications(pd.Index(list("ABCD")), ("I",), s.T[None].copy(), r.T[None].copy(),
                        failed, pd.DataFrame(columns=["group", "n", "error"]), None,
                        np.array([[2.5], [2.0], [1.5], [np.nan]]), np.array([[1.0], [2.0], [3.0], [np.nan]]),
                        0.0, 1)
    ri = sa.rank_intervals(reps).set_index("unit")
    # A: ranks 1, 3, 1 -> median 1, mean |r - 1| = 2/3; B: ranks 2, 2 (missing in rep 3)
    assert ri.loc["A", "rank_q50"] == 1.0 and ri.loc["A", "mean_abs_rank_shift"] == pytest.approx(2 / 3)
    assert ri.loc["B", "n"] == 2 and ri.loc["B", "rank_low"] == 2.0 and ri.loc["B", "score_q50"] == 2.0
    assert ri.loc["C", "score_high"] == pytest.approx(np.quantile([1.0, 3.0, 1.0], 0.95))
    assert ri.loc["D", "n"] == 0 and np.isnan(ri.loc["D", "rank_q50"]) and np.isnan(ri.loc["D", "score_low"])


def test_threads_change_neither_the_numbers_nor_the_order_of_failures(asem):
    """Batches evaluated side by side write their own replications: the same bits and the same
    failures table with 1, 2 or 3 threads (small chunks, so every group has several batches)."""
    from pmm_lib.core.spec import NormaliseSpec

    data, meta, opts = asem
    base = _asem_base()
    # zeros before a geometric mean fail some batches; weight noise varies every level above 1
    problem = sa.UncertaintyProblem(
        base, treat=sa.winmax_alternatives(base.treat, range(1, 4)),
        normalise=(NormaliseSpec("minmax", low=0.0, high=100.0), NormaliseSpec("zscore", mean=10.0, sd=2.0)),
        aggregate=("arithmetic", "geometric"), weight_noise={2: 0.25, 3: 0.25})
    design = sa.sample_design(data, meta, problem, 600, seed=11, build_options=opts)
    runs = [sa.evaluate(data, meta, problem, design, build_options=opts, chunk_size=16, threads=t,
                        score_dtype=np.float64, max_failed_share=1.0) for t in (1, 2, 3)]
    one = runs[0]
    assert one.failed.any() and not one.failed.all() and len(one.failures) > 3
    for other in runs[1:]:
        np.testing.assert_array_equal(other.scores, one.scores)
        np.testing.assert_array_equal(other.ranks, one.ranks)
        np.testing.assert_array_equal(other.failed, one.failed)
        pd.testing.assert_frame_equal(other.failures, one.failures)
    # the rank statistics, one target per thread, are those of one thread
    pd.testing.assert_frame_equal(sa.rank_intervals(one, threads=3), sa.rank_intervals(one, threads=1))
    # and the threaded engine still equals build() on replications it evaluated in the pool
    ok = np.flatnonzero(~one.failed)[:3]
    for i in ok:
        res = sa.build_replication(data, meta, problem, design, int(i), build_options=opts)
        sc = res.aggregated.reindex(index=runs[1].units, columns=list(runs[1].targets)).to_numpy()
        np.testing.assert_allclose(runs[1].scores[i], sc, rtol=0, atol=1e-9)
    with pytest.raises(SpecError, match="threads must be a positive int"):
        sa.evaluate(data, meta, problem, design, build_options=opts, threads=0)


@given(hnp.arrays(np.int64, st.tuples(st.integers(0, 60), st.integers(1, 4)), elements=st.integers(0, 6)))
@settings(max_examples=60, deadline=None)
def test_engine_groups_equal_numpy_unique_of_rows(keys):
    from pmm_lib.uncertainty.engine import _groups

    uniq, inverse = _groups([keys[:, j] for j in range(keys.shape[1])])
    if len(keys):
        ref_u, ref_inv = np.unique(keys, axis=0, return_inverse=True)
        np.testing.assert_array_equal(uniq, ref_u)
        np.testing.assert_array_equal(inverse, ref_inv.ravel())
    else:
        assert len(uniq) == 0 and len(inverse) == 0
