"""Sampling designs over the uncertain assumptions, and the problem prepared once for the engine.

This module owns :class:`Factor` and :class:`SampleDesign` (every discrete assumption is a
factor on ``[0, 1)`` mapped to equally likely alternatives; weight noise is one factor that
selects a row of a bank of multipliers, as in COINr's ``get_sensitivity``), plain Monte Carlo
and Saltelli/Sobol' designs (via SALib, :func:`sobol_design`), :func:`prepare` (the nominal
build, compiled hierarchy, nominal weights and weight sets, computed once per analysis), and
the materialisation of a design row as an ordinary :class:`~pmm_lib.core.spec.Spec`
(:func:`replication_spec`, :func:`build_replication`: the slow reference path the tests
compare the engine with).

May import: :mod:`pmm_lib.core`, :mod:`pmm_lib.uncertainty.problem` and the top-level helpers.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from pmm_lib.core.build import IndexResult, Pipeline, build
from pmm_lib.core.hierarchy import Hierarchy
from pmm_lib.core.spec import Spec, WeightSpec
from pmm_lib.errors import SpecError
from pmm_lib.seed import SeedLike, rng
from pmm_lib.uncertainty.problem import FACTOR_ORDER, UncertaintyProblem
from pmm_lib.vocab import check_choice

__all__ = [
    "DESIGN_METHODS",
    "DesignMethod",
    "Factor",
    "Prepared",
    "SampleDesign",
    "alternative",
    "build_replication",
    "design_choices",
    "prepare",
    "replication_spec",
    "salib_seed",
    "sample_design",
    "sample_weights",
    "sobol_design",
]

DesignMethod = Literal["monte_carlo", "sobol"]
DESIGN_METHODS: tuple[str, ...] = get_args(DesignMethod)


@dataclass(frozen=True)
class Factor:
    """One factor of a design: ``levels`` discrete alternatives, or a continuous range.

    A discrete factor maps ``u`` in [0, 1) to alternative ``min(floor(u * levels), levels - 1)``
    (each alternative equally likely); a continuous one to ``low + u * (high - low)``.
    """

    name: str
    levels: int | None = None
    bounds: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if self.levels is not None and (isinstance(self.levels, bool) or int(self.levels) < 1):
            raise SpecError(f"factor {self.name}: levels must be a positive integer, got {self.levels!r}")
        lo, hi = self.bounds
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise SpecError(f"factor {self.name}: bounds must be finite with low < high, got {self.bounds!r}")

    def map(self, u: np.ndarray) -> np.ndarray:
        """Map uniform values in [0, 1) to alternative indices (discrete) or values (continuous)."""
        u = np.asarray(u, dtype=float)
        if self.levels is None:
            lo, hi = self.bounds
            return lo + u * (hi - lo)
        return np.minimum(np.floor(u * self.levels), self.levels - 1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class SampleDesign:
    """A sample of the factors: uniform values ``u`` (n x k) and how they were drawn.

    ``method == "sobol"`` designs come from SALib's Saltelli/Sobol' sampler without second-order
    terms: ``n_base * (k + 2)`` rows in SALib's order (A, AB_1 .. AB_k, B per base sample).
    ``weight_bank`` (B x nodes) holds the weight multipliers the ``"weights"`` factor selects.
    """

    factors: tuple[Factor, ...]
    u: np.ndarray
    method: DesignMethod
    n_base: int
    seed: int
    weight_bank: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of replications (rows)."""
        return int(self.u.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        """Factor names in column order."""
        return tuple(f.name for f in self.factors)

    def values(self, name: str) -> np.ndarray:
        """Alternative indices (discrete) or values (continuous) of one factor, one per row."""
        for j, f in enumerate(self.factors):
            if f.name == name:
                return f.map(self.u[:, j])
        raise SpecError(f"design has no factor {name!r}; factors: {', '.join(self.names) or '(none)'}")

    def salib_problem(self) -> dict[str, Any]:
        """The SALib problem dictionary (every factor on [0, 1))."""
        return {"num_vars": len(self.factors), "names": list(self.names),
                "bounds": [[0.0, 1.0]] * len(self.factors)}


def salib_seed(gen: np.random.Generator) -> int:
    """An int seed for SALib drawn from ``gen``, in [1, 2**31) (SALib tests ``if seed:``, so 0 means unseeded)."""
    return int(gen.integers(1, 2**31 - 1))


def sobol_design(factors: Sequence[Factor], n_base: int, *, method: DesignMethod = "sobol",
                 seed: SeedLike = None) -> SampleDesign:
    """Sample ``factors`` on [0, 1): Saltelli/Sobol' (via SALib) or plain Monte Carlo.

    Parameters
    ----------
    factors : sequence of Factor
        The factors; discrete ones are mapped from [0, 1) by :meth:`Factor.map`.
    n_base : int
        Sobol': base samples N (rows = N (k + 2); a power of 2 keeps the sequence balanced).
        Monte Carlo: number of rows.
    method : {"sobol", "monte_carlo"}
    seed : int, Generator or None
        Seeds the scrambling of the Sobol' sequence or the Monte Carlo draws.

    Examples
    --------
    >>> d = sobol_design([Factor("x1", bounds=(0, 1)), Factor("alt", levels=3)], 8, seed=1)
    >>> d.u.shape, sorted(set(d.values("alt").tolist())) == [0, 1, 2]
    ((32, 2), True)
    """
    check_choice(method, DESIGN_METHODS, "method")
    if isinstance(n_base, bool) or not isinstance(n_base, int | np.integer) or n_base < 2:
        raise SpecError(f"n_samples: expected an integer >= 2, got {n_base!r}")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise SpecError(f"factors: duplicate names in {names}")
    gen = rng(seed)
    int_seed = salib_seed(gen)
    k = len(factors)
    if method == "monte_carlo" or k == 0:
        u = gen.random((int(n_base), k))
    else:
        from SALib.sample import sobol as salib_sobol

        problem = {"num_vars": k, "names": names, "bounds": [[0.0, 1.0]] * k}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Convergence properties.*")
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            u = salib_sobol.sample(problem, int(n_base), calc_second_order=False,
                                   scramble=True, seed=int_seed)
        u = np.clip(u, 0.0, np.nextafter(1.0, 0.0))
    return SampleDesign(tuple(factors), np.ascontiguousarray(u, dtype=float), method,
                        int(n_base), int_seed)


# --------------------------------------------------------------------------------------------
# The problem, prepared once per analysis
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Prepared:
    """What the engine needs that does not depend on the sample (built by :func:`prepare`).

    Attributes
    ----------
    problem : UncertaintyProblem
    pipeline : Pipeline
        The stages of :func:`pmm_lib.core.build.build` over the inputs, cached by spec prefix;
        the engine computes every distinct normalised matrix through it.
    hierarchy : Hierarchy
    units : Index
    nominal : IndexResult
        The build of ``problem.base``.
    nominal_weights : ndarray (n,)
        Nominal weight of every code below the top (``hierarchy.below_top`` order).
    weight_sets : ndarray (m, n)
        Nominal weights per alternative weight set (``m = 1``: the base weights).
    exclude_codes : tuple
        Alternatives of the exclusion factor (``None`` = exclude nothing).
    base_methods, coverage : tuple
        Aggregation method and ``min_coverage`` per aggregate level of the base spec.
    build_options : dict
        Keyword arguments of :func:`~pmm_lib.core.build.build` (``groups``, ``panel``, ...).
    """

    problem: UncertaintyProblem
    pipeline: Pipeline
    hierarchy: Hierarchy
    units: pd.Index
    nominal: IndexResult
    nominal_weights: np.ndarray
    weight_sets: np.ndarray
    exclude_codes: tuple[str | None, ...]
    base_methods: tuple[str, ...]
    coverage: tuple[float, ...]
    build_options: dict[str, Any]
    _without: dict[str, Pipeline] = field(default_factory=dict, repr=False)

    def pipeline_without(self, code: str | None) -> Pipeline:
        """The pipeline with indicator ``code`` removed from data and hierarchy (cached)."""
        if code is None:
            return self.pipeline
        if code not in self._without:
            self._without[code] = self.pipeline.without(code)
        return self._without[code]


def prepare(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem,
            build_options: Mapping[str, Any] | None = None) -> Prepared:
    """Build the nominal index and everything the engine reuses across samples.

    Raises
    ------
    SpecError
        A weight set naming unknown codes, or some but not all children of a parent.
    """
    if not isinstance(problem, UncertaintyProblem):
        raise SpecError(f"problem: expected an UncertaintyProblem, got {type(problem).__name__}")
    kwargs = dict(build_options or {})
    pipeline = Pipeline(data, meta, **kwargs)
    hier = pipeline.hierarchy
    nominal = pipeline.run(problem.base)
    below = list(hier.below_top)
    nomw = nominal.nominal.reindex(below).to_numpy(dtype=float)
    if np.isnan(nomw).any():
        missing = [c for c, v in zip(below, nomw, strict=True) if np.isnan(v)]
        raise SpecError(f"base: no nominal weight for {', '.join(missing[:5])}")
    sets = []
    for i, ws in enumerate(problem.weight_sets or ()):
        unknown = sorted(set(ws.index) - set(below))
        if unknown:
            raise SpecError(f"weight_sets[{i}]: unknown codes {', '.join(unknown[:5])}")
        for parent, kids in hier.children.items():  # all or none of a parent's children
            named = [c for c in kids if c in ws.index]
            if named and len(named) < len(kids):
                missing = [c for c in kids if c not in ws.index]
                raise SpecError(f"weight_sets[{i}]: names {', '.join(named)} under {parent} but not "
                                f"{', '.join(missing)}; give all or none of a parent's children")
        sets.append(ws.reindex(below).fillna(pd.Series(nomw, index=below)).to_numpy())
    weight_sets = np.array(sets) if sets else nomw[None, :]
    exclude: tuple[str | None, ...] = (None,)
    if problem.exclude_kpis:
        exclude = (None, *(c for c in hier.leaves if len(hier.siblings(c)) >= 2))
    items = problem.base.aggregate_for(hier.n_levels)
    methods = tuple(str(a.method) for a in items)
    cover = tuple(float(a.min_coverage or 0.0) for a in items)
    units = pd.Index(data.index, name=data.index.name or "unit")
    return Prepared(problem, pipeline, hier, units, nominal, nomw, weight_sets, exclude, methods, cover, kwargs)


def _weight_bank(prep: Prepared, size: int, gen: np.random.Generator) -> np.ndarray | None:
    noise = prep.problem.weight_noise
    if not noise:
        return None
    levels = np.array(prep.hierarchy.levels[:-1])
    lo = np.ones(len(levels))
    hi = np.ones(len(levels))
    for lv, f in noise.items():
        if lv >= prep.hierarchy.n_levels:
            raise SpecError(f"weight_noise: level {lv} has no siblings to weigh (top level is {prep.hierarchy.n_levels})")
        lo[levels == lv] = 1.0 - f
        hi[levels == lv] = 1.0 + f
    return lo + gen.random((size, len(levels))) * (hi - lo)


def _factors(prep: Prepared) -> list[Factor]:
    p = prep.problem
    sizes = {"impute": len(p.impute), "treat": len(p.treat), "normalise": len(p.normalise),
             "exclude": len(prep.exclude_codes), "aggregate": len(p.aggregate),
             "weight_set": len(p.weight_sets)}
    out = []
    for name in p.varied:
        if name == "weights":
            out.append(Factor("weights", levels=None))
        else:
            out.append(Factor(name, levels=sizes[name]))
    return out


def sample_design(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem, n: int, *,
                  method: DesignMethod = "monte_carlo", seed: SeedLike = None,
                  bank_size: int | None = None, build_options: Mapping[str, Any] | None = None,
                  _prep: Prepared | None = None) -> SampleDesign:
    """Draw a design over the varied assumptions of ``problem``.

    Discrete assumptions are factors on [0, 1) mapped to equally likely alternatives. Weight
    noise is one factor (``"weights"``) that selects a row of a bank of multiplier vectors
    (each multiplier ~ U(1 - f, 1 + f) at the noisy levels), as in COINr's ``get_sensitivity``;
    the bank has ``bank_size`` rows (default: ``n`` for Monte Carlo, ``max(n, 1024)`` for Sobol').

    Parameters
    ----------
    n : int
        Monte Carlo: replications. Sobol': base samples N (N (k + 2) replications).
    """
    prep = _prep or prepare(data, meta, problem, build_options)
    gen = rng(seed)
    factors = _factors(prep)
    design = sobol_design(factors, n, method=method, seed=gen)
    size = bank_size or (n if method == "monte_carlo" else max(n, 1024))
    bank = _weight_bank(prep, size, gen)
    if bank is not None:
        j = design.names.index("weights")
        factors[j] = Factor("weights", levels=size)
        design = dataclasses.replace(design, factors=tuple(factors), weight_bank=bank)
    return design


def design_choices(prep: Prepared, design: SampleDesign) -> dict[str, np.ndarray]:
    """Alternative index (or bank row) of every factor in :data:`FACTOR_ORDER`, one per design row."""
    zeros = np.zeros(design.n, dtype=np.int64)
    return {name: (design.values(name) if name in design.names else zeros) for name in FACTOR_ORDER}


def sample_weights(prep: Prepared, design: SampleDesign, ch: dict[str, np.ndarray],
                   rows: np.ndarray) -> np.ndarray:
    """Weights (rows x codes below the top) of the design rows ``rows``: weight set x noise."""
    w = prep.weight_sets[ch["weight_set"][rows]]
    if design.weight_bank is not None:
        w = w * design.weight_bank[ch["weights"][rows]]
    return w


def alternative(alts: tuple[Any, ...], i: int, default: Any) -> Any:
    """Alternative ``i`` of an assumption, or ``default`` when it does not vary."""
    return alts[i] if alts else default


def replication_spec(problem: UncertaintyProblem, design: SampleDesign, i: int, *,
                     data: pd.DataFrame | None = None, meta: pd.DataFrame | None = None,
                     build_options: Mapping[str, Any] | None = None,
                     _prep: Prepared | None = None) -> tuple[Spec, str | None]:
    """Replication ``i`` of a design as an ordinary Spec plus the excluded indicator (or None).

    The weights become explicit nominal weights of every node; the exclusion (if any) is
    applied by dropping that indicator from the data and the hierarchy (:func:`build_replication`).
    """
    prep = _prep or prepare(data, meta, problem, build_options)
    ch = design_choices(prep, design)
    b = problem.base
    w = sample_weights(prep, design, ch, np.array([i]))[0]
    agg = b.aggregate
    if problem.aggregate:
        name = problem.aggregate[ch["aggregate"][i]]
        agg = tuple(dataclasses.replace(a, method=name) for a in b.aggregate)
    excluded = prep.exclude_codes[ch["exclude"][i]]
    values = {c: float(v) for c, v in zip(prep.hierarchy.below_top, w, strict=True) if c != excluded}
    spec = dataclasses.replace(
        b,
        impute=alternative(problem.impute, ch["impute"][i], b.impute),
        treat=alternative(problem.treat, ch["treat"][i], b.treat),
        normalise=alternative(problem.normalise, ch["normalise"][i], b.normalise),
        weights=WeightSpec(method="explicit", values=values),
        aggregate=agg,
    )
    return spec, excluded


def build_replication(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem,
                      design: SampleDesign, i: int, *,
                      build_options: Mapping[str, Any] | None = None) -> IndexResult:
    """Rebuild replication ``i`` with :func:`pmm_lib.core.build.build` (the slow reference path).

    ``build_options`` are passed to :func:`pmm_lib.core.build.build` (groups, denominators, ...).
    """
    build_kwargs = dict(build_options or {})
    spec, excluded = replication_spec(problem, design, i, data=data, meta=meta,
                                      build_options=build_options)
    if excluded is not None:
        data = data.drop(columns=[excluded])
        meta = meta[meta["code"] != excluded].reset_index(drop=True)
    return build(data, meta, spec, **build_kwargs)
