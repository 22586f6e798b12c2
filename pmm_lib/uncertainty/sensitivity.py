"""Uncertainty and sensitivity analysis of a composite index, and the vectorised engine behind it.

This module owns:

* the typed description of uncertain assumptions (:class:`UncertaintyProblem`): alternatives
  for imputation, outlier treatment, normalisation and aggregation, weight noise or alternative
  weight sets, and the exclusion of single indicators, checked when built;
* sampling designs (:func:`sample_design`: plain Monte Carlo or Saltelli/Sobol' via SALib),
  where every discrete assumption is a factor on ``[0, 1)`` mapped to its alternatives;
* the replication engine (:func:`evaluate`): samples are grouped by their distinct discrete
  combination, each distinct normalised matrix is computed once with the stage functions of
  :mod:`pmm_lib.core.transform` in :func:`pmm_lib.core.build.build`'s order (shared stage prefixes are
  computed once too), and weights and aggregation are then evaluated for every sample of a
  group at once with matrix products (geometric means as weighted log-sums, missing values
  re-weighted through masks), in chunks that bound memory;
* Monte Carlo uncertainty analysis (:func:`uncertainty_analysis`: rank intervals, score
  quantiles, mean absolute rank shift, failed replications counted);
* variance-based sensitivity analysis (:func:`sensitivity_analysis`: first-order and total
  Sobol' indices with bootstrap confidence intervals estimated with SALib's estimators, and a
  convergence check at N/2 and N).

Every replication can be materialised as an ordinary :class:`pmm_lib.core.spec.Spec`
(:func:`replication_spec`) and rebuilt with :func:`pmm_lib.core.build.build`
(:func:`build_replication`); the tests check that the engine reproduces that loop exactly.

References
----------
Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and sensitivity analysis
techniques as tools for the quality assessment of composite indicators. *Journal of the Royal
Statistical Society A*, 168(2), 307-323. doi:10.1111/j.1467-985X.2005.00350.x

Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. & Tarantola, S. (2010).
Variance based sensitivity analysis of model output. Design and estimator for the total
sensitivity index. *Computer Physics Communications*, 181(2), 259-270.
doi:10.1016/j.cpc.2009.09.018

Gamboa, F., Janon, A., Klein, T. & Lagnoux, A. (2014). Sensitivity analysis for
multidimensional and functional outputs. *Electronic Journal of Statistics*, 8(1), 575-603.
doi:10.1214/14-EJS895 (the variance-weighted index over units).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError, RunError, SpecError
from pmm_lib.seed import SeedLike, rng

if TYPE_CHECKING:  # pragma: no cover
    from pmm_lib.core.build import IndexResult
    from pmm_lib.core.spec import Spec

__all__ = [
    "AggregationName",
    "DesignMethod",
    "Factor",
    "Replications",
    "SampleDesign",
    "SensitivityResult",
    "SobolOutput",
    "UncertaintyProblem",
    "UncertaintyResult",
    "build_replication",
    "convergence_check",
    "evaluate",
    "load_weight_sets",
    "pmm_inputs",
    "rank_desc",
    "rank_intervals",
    "replication_spec",
    "sample_design",
    "sensitivity_analysis",
    "sobol_design",
    "sobol_indices",
    "standard_problem",
    "uncertainty_analysis",
    "winmax_alternatives",
]

AggregationName = Literal["arithmetic", "geometric", "harmonic"]
DesignMethod = Literal["monte_carlo", "sobol"]
SobolOutput = Literal["mean_abs_rank_shift", "score", "rank"]

#: aggregation methods the vectorised engine evaluates (the others are not weight-linear)
AGGREGATIONS: tuple[str, ...] = get_args(AggregationName)
DESIGN_METHODS: tuple[str, ...] = get_args(DesignMethod)
SOBOL_OUTPUTS: tuple[str, ...] = get_args(SobolOutput)
#: the order in which factors appear in a design (only those that vary are used)
FACTOR_ORDER: tuple[str, ...] = ("impute", "treat", "normalise", "exclude", "aggregate",
                                 "weight_set", "weights")
#: imputation methods that work column by column (excluding an indicator does not change others)
_COLUMNWISE_IMPUTE = {"none", "mean", "median", "group_mean", "group_median"}


def _check_choice(value: object, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise SpecError(f"{name}: unknown value {value!r}; allowed: {', '.join(map(str, allowed))}")


# --------------------------------------------------------------------------------------------
# Typed assumptions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class UncertaintyProblem:
    """The uncertain assumptions of an index, as typed values (checked when built).

    Each field lists the alternatives of one assumption; an empty tuple means "as in ``base``".
    A field with two or more alternatives (or a non-zero noise, or ``exclude_kpis``) becomes one
    factor of the uncertainty and sensitivity analysis; its alternatives are equally likely.

    Parameters
    ----------
    base : Spec
        The nominal specification. Its weights give the nominal weights of every node; its
        aggregation ``min_coverage`` is kept in every replication.
    impute : tuple of ImputeSpec
        Imputation alternatives.
    treat : tuple of TreatSpec
        Outlier-treatment alternatives (see :func:`winmax_alternatives` for "winsorise at most
        1..5 points").
    normalise : tuple of NormaliseSpec
        Normalisation alternatives. With geometric or harmonic aggregation they must give positive
        values (e.g. min-max onto [1, 100], z-scores with mean 10 and sd 2).
    aggregate : tuple of {"arithmetic", "geometric", "harmonic"}
        Aggregation alternatives, applied at every aggregate level.
    weight_noise : mapping int -> float
        Level -> noise factor ``f`` in [0, 1): every nominal weight of a node at that level is
        multiplied by an independent draw from U(1 - f, 1 + f). Level 1 are the indicators,
        level 2 their parents, and so on. One factor (``"weights"``) in the design.
    weight_sets : tuple of Series
        Alternative nominal weights (e.g. workshop submissions), each a Series code -> weight
        naming all or none of each parent's children (re-normalised within the parent);
        parents it does not cover keep the base weights. One factor (``"weight_set"``).
    exclude_kpis : bool
        Add a factor whose alternatives are "exclude nothing" and "exclude indicator j" for
        every indicator that has at least one sibling.

    Raises
    ------
    SpecError
        Naming the field: wrong types, unknown aggregation names, noise outside [0, 1),
        non-positive or non-finite weights, empty alternatives.
    """

    base: Spec
    impute: tuple[Any, ...] = ()
    treat: tuple[Any, ...] = ()
    normalise: tuple[Any, ...] = ()
    aggregate: tuple[str, ...] = ()
    weight_noise: Mapping[int, float] = field(default_factory=dict)
    weight_sets: tuple[pd.Series, ...] = ()
    exclude_kpis: bool = False

    def __post_init__(self) -> None:
        from pmm_lib.core import spec as spec_mod

        if not isinstance(self.base, spec_mod.Spec):
            raise SpecError(f"base: expected a pmm_lib.core.spec.Spec, got {type(self.base).__name__}")
        kinds = {"impute": spec_mod.ImputeSpec, "treat": spec_mod.TreatSpec,
                 "normalise": spec_mod.NormaliseSpec}
        for name, kind in kinds.items():
            value = getattr(self, name)
            if isinstance(value, kind):
                value = (value,)
            if not isinstance(value, tuple | list):
                raise SpecError(f"{name}: expected a tuple of {kind.__name__}, got {type(value).__name__}")
            for i, alt in enumerate(value):
                if not isinstance(alt, kind):
                    raise SpecError(f"{name}[{i}]: expected a {kind.__name__}, got {alt!r}")
            if len(set(value)) != len(value):
                raise SpecError(f"{name}: duplicate alternatives")
            object.__setattr__(self, name, tuple(value))
        agg = self.aggregate
        if isinstance(agg, str):
            agg = (agg,)
        if not isinstance(agg, tuple | list):
            raise SpecError(f"aggregate: expected a tuple of method names, got {type(agg).__name__}")
        for i, a in enumerate(agg):
            _check_choice(a, AGGREGATIONS, f"aggregate[{i}]")
        if len(set(agg)) != len(agg):
            raise SpecError("aggregate: duplicate alternatives")
        object.__setattr__(self, "aggregate", tuple(agg))
        if not agg:
            for i, a in enumerate(self.base.aggregate):
                _check_choice(a.method, AGGREGATIONS, f"base.aggregate[{i}].method")
        if not isinstance(self.weight_noise, Mapping):
            raise SpecError(f"weight_noise: expected a mapping level -> noise, got {self.weight_noise!r}")
        noise: dict[int, float] = {}
        for level, f in self.weight_noise.items():
            if isinstance(level, bool) or not isinstance(level, int | np.integer) or level < 1:
                raise SpecError(f"weight_noise: level must be an integer >= 1, got {level!r}")
            try:
                fv = float(f)
            except (TypeError, ValueError):
                raise SpecError(f"weight_noise[{level}]: noise must be a number, got {f!r}") from None
            if not 0.0 <= fv < 1.0:
                raise SpecError(f"weight_noise[{level}]: noise must be in [0, 1), got {f!r}")
            if fv > 0:
                noise[int(level)] = fv
        object.__setattr__(self, "weight_noise", MappingProxyType(dict(sorted(noise.items()))))
        sets = self.weight_sets
        if isinstance(sets, pd.Series | Mapping):
            sets = (sets,)
        out = []
        for i, ws in enumerate(sets):
            s = pd.Series(ws, dtype=float) if not isinstance(ws, pd.Series) else ws.astype(float)
            if s.empty:
                raise SpecError(f"weight_sets[{i}]: empty weight set")
            bad = s[~np.isfinite(s.to_numpy()) | (s.to_numpy() < 0)]
            if len(bad):
                raise SpecError(f"weight_sets[{i}]: weights must be finite and >= 0; "
                                f"bad: {', '.join(f'{k}={v}' for k, v in bad.items())}")
            s.index = s.index.map(str)
            out.append(s)
        object.__setattr__(self, "weight_sets", tuple(out))
        if not isinstance(self.exclude_kpis, bool):
            raise SpecError(f"exclude_kpis: expected True or False, got {self.exclude_kpis!r}")

    @property
    def varied(self) -> tuple[str, ...]:
        """The names of the assumptions that vary (the factors of a design), in design order."""
        out = []
        for name in FACTOR_ORDER:
            if name in ("impute", "treat", "normalise", "aggregate", "weight_set"):
                attr = "weight_sets" if name == "weight_set" else name
                if len(getattr(self, attr)) > 1:
                    out.append(name)
            elif name == "exclude" and self.exclude_kpis:
                out.append(name)
            elif name == "weights" and self.weight_noise:
                out.append(name)
        return tuple(out)


def winmax_alternatives(treat: Any, winmax: Iterable[int]) -> tuple[Any, ...]:
    """Treatment alternatives that differ only in the winsorisation limit ``winmax``.

    Examples
    --------
    >>> from pmm_lib.core.spec import TreatSpec
    >>> [t.winmax for t in winmax_alternatives(TreatSpec(method="winsorise"), range(1, 4))]
    [1, 2, 3]
    """
    values = list(winmax)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise SpecError(f"treat.winmax: expected non-negative integers, got {v!r}")
    return tuple(dataclasses.replace(treat, winmax=int(v)) for v in values)


def standard_problem(base: Spec, *, winmax: Iterable[int] = range(1, 6),
                     weight_noise: Mapping[int, float] | None = None,
                     weight_sets: Sequence[pd.Series] = (), exclude_kpis: bool = False) -> UncertaintyProblem:
    """The workbench's standard set of uncertain assumptions (COINr's ASEM example, adapted).

    * treatment: winsorise with at most ``winmax`` points (default 1..5), rest of ``base.treat``;
    * normalisation: min-max onto [1, 100] or z-scores with mean 50 and sd 10 (on a comparable
      scale, and positive unless a value lies 5 sd below the mean, so the geometric mean is
      defined; COINr's example uses mean 10 and sd 2);
    * aggregation: arithmetic or geometric mean at every level;
    * weights: each nominal weight of levels 2 and 3 times U(0.75, 1.25) (``weight_noise``),
      and optionally alternative weight sets and the exclusion of single indicators.

    Examples
    --------
    >>> from pmm_lib.core.spec import Spec
    >>> standard_problem(Spec.default()).varied
    ('treat', 'normalise', 'aggregate', 'weights')
    """
    from pmm_lib.core.spec import NormaliseSpec

    treat = base.treat if base.treat.method == "winsorise" else dataclasses.replace(base.treat, method="winsorise")
    return UncertaintyProblem(
        base, treat=winmax_alternatives(treat, winmax),
        normalise=(NormaliseSpec("minmax", low=1.0, high=100.0), NormaliseSpec("zscore", mean=50.0, sd=10.0)),
        aggregate=("arithmetic", "geometric"),
        weight_noise=dict(weight_noise) if weight_noise is not None else {2: 0.25, 3: 0.25},
        weight_sets=tuple(weight_sets), exclude_kpis=exclude_kpis)


def pmm_inputs(spec: Spec, *, region: str | None = None, cycle: int | None = None,
               observations: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The PMM matrix, hierarchy and build options for one region and cycle.

    Loads what :func:`pmm_lib.core.build.build_pmm` loads (the framework table as hierarchy,
    :func:`pmm_lib.inputs.data.to_matrix` of the observations, Member grouping columns for group
    imputation, other cycles for panel imputation) and returns it for the analyses here.

    Returns
    -------
    data : DataFrame
        Members x KPIs.
    meta : DataFrame
        :meth:`pmm_lib.inputs.framework.Framework.table`.
    build_options : dict
        Keyword arguments for :func:`pmm_lib.core.build.build` (``groups``, ``panel``, ``cycle``).
    """
    from pmm_lib.inputs import data as data_mod
    from pmm_lib.inputs.framework import load_framework

    obs = data_mod.load_observations() if observations is None else observations
    region = region if region is not None else spec.data.region
    cycles = sorted(int(c) for c in pd.unique(obs["cycle"]))
    if not cycles:
        raise InputError("no observations", column="cycle")
    cycle = cycle if cycle is not None else (spec.data.cycle if spec.data.cycle is not None else cycles[-1])
    if int(cycle) not in cycles:
        raise InputError(f"no observations for cycle {cycle}", column="cycle",
                         expected=f"one of {', '.join(map(str, cycles))}")
    matrix = data_mod.to_matrix(obs, int(cycle), region)
    options: dict[str, Any] = {"cycle": int(cycle)}
    if spec.impute.method in ("group_mean", "group_median"):
        members = data_mod.load_members().set_index("member")
        if spec.impute.group not in members.columns:
            raise SpecError(f"impute.group: unknown Member grouping column {spec.impute.group!r}")
        options["groups"] = members.reindex(matrix.index)
    if spec.impute.method == "panel":
        options["panel"] = {c: data_mod.to_matrix(obs, c, region) for c in cycles if c != int(cycle)}
    return matrix, load_framework().table(), options


def load_weight_sets(path: str | Path) -> tuple[pd.Series, ...]:
    """Read alternative weight sets (e.g. workshop submissions) from a CSV or YAML file.

    CSV: one row per (submission, code) with columns ``submission, code, weight``, or one row
    per submission with one column per code (first column = submission id). YAML: the
    workshop export (:func:`pmm_lib.workshop.exercise.export_weight_sets`), a mapping with a list
    ``weight_sets`` of ``{name, values: {code: weight}}``.

    Raises
    ------
    InputError
        Naming the file, row and column of a missing column or a non-numeric weight.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _weight_sets_yaml(path)
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise InputError("weight-set file not found", file=path) from None
    if frame.empty:
        raise InputError("no weight sets", file=path, expected="at least one row")
    if {"code", "weight"} <= set(frame.columns):
        sub_col = "submission" if "submission" in frame.columns else None
        w = pd.to_numeric(frame["weight"], errors="coerce")
        if w.isna().any():
            row = int(np.flatnonzero(w.isna().to_numpy())[0]) + 2
            raise InputError("weight is not a number", file=path, row=row, column="weight",
                             expected="a non-negative number")
        frame = frame.assign(weight=w)
        groups = frame.groupby(sub_col, sort=False) if sub_col else [(0, frame)]
        return tuple(pd.Series(g["weight"].to_numpy(), index=g["code"].astype(str).to_numpy(),
                               name=str(k)) for k, g in groups)
    sets = []
    for i, row in frame.iterrows():
        vals = pd.to_numeric(row.iloc[1:], errors="coerce")
        if vals.isna().any():
            col = str(vals.index[np.flatnonzero(vals.isna().to_numpy())[0]])
            raise InputError("weight is not a number", file=path, row=int(i) + 2, column=col,
                             expected="a non-negative number")
        sets.append(pd.Series(vals.to_numpy(dtype=float), index=vals.index.map(str), name=str(row.iloc[0])))
    return tuple(sets)


def _weight_sets_yaml(path: Path) -> tuple[pd.Series, ...]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("weight-set file not found", file=path) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=path) from None
    sets = raw.get("weight_sets") if isinstance(raw, dict) else None
    if not isinstance(sets, list) or not sets:
        raise InputError("no weight sets", file=path, expected="a non-empty list 'weight_sets'")
    out = []
    for i, item in enumerate(sets):
        values = item.get("values") if isinstance(item, dict) else None
        if not isinstance(values, dict) or not values:
            raise InputError(f"weight_sets[{i}] has no 'values' mapping", file=path,
                             expected="{name: ..., values: {code: weight}}")
        try:
            series = pd.Series({str(k): float(v) for k, v in values.items()}, name=str(item.get("name", i)))
        except (TypeError, ValueError):
            raise InputError(f"weight_sets[{i}]: a weight is not a number", file=path,
                             expected="numbers") from None
        out.append(series)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Sampling designs
# --------------------------------------------------------------------------------------------


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


def _int_seed(gen: np.random.Generator) -> int:
    # SALib tests ``if seed:``, so 0 would mean "unseeded": draw from [1, 2**31)
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
    _check_choice(method, DESIGN_METHODS, "method")
    if isinstance(n_base, bool) or not isinstance(n_base, int | np.integer) or n_base < 2:
        raise SpecError(f"n_samples: expected an integer >= 2, got {n_base!r}")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise SpecError(f"factors: duplicate names in {names}")
    gen = rng(seed)
    int_seed = _int_seed(gen)
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
# The hierarchy and the pipeline adapter
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Hierarchy:
    """Nodes in level order with parent-child incidence matrices (one per aggregate level)."""

    codes: tuple[str, ...]            # every node except the top, level 1 first
    levels: tuple[int, ...]           # level of each code
    by_level: dict[int, np.ndarray]   # level -> positions (into ``codes``) of its nodes
    level_codes: dict[int, tuple[str, ...]]  # level -> codes (all levels, top included)
    incidence: dict[int, np.ndarray]  # level l >= 2 -> (n_l x n_{l-1}) 0/1 matrix
    parent_pos: np.ndarray            # position of each level-1 code's parent at level 2
    top: int                          # the top level
    groups: dict[int, list[np.ndarray]]  # level l >= 2 -> child positions (level l-1) per node

    @classmethod
    def from_meta(cls, meta: pd.DataFrame) -> _Hierarchy:
        need = {"code", "level", "parent"}
        missing = need - set(meta.columns)
        if missing:
            raise InputError(f"hierarchy table lacks columns {sorted(missing)}",
                             expected="columns code, level, parent, weight")
        m = meta.loc[:, ["code", "level", "parent"]].copy()
        m["code"] = m["code"].astype(str)
        m["level"] = m["level"].astype(int)
        top = int(m["level"].max())
        level_codes = {lv: tuple(m.loc[m["level"] == lv, "code"]) for lv in range(1, top + 1)}
        codes = tuple(c for lv in range(1, top) for c in level_codes[lv])
        levels = tuple(lv for lv in range(1, top) for _ in level_codes[lv])
        pos = {c: i for i, c in enumerate(codes)}
        by_level = {lv: np.array([pos[c] for c in level_codes[lv]], dtype=np.int64)
                    for lv in range(1, top)}
        parent = dict(zip(m["code"], m["parent"], strict=True))
        incidence = {}
        for lv in range(2, top + 1):
            idx = {c: i for i, c in enumerate(level_codes[lv])}
            a = np.zeros((len(level_codes[lv]), len(level_codes[lv - 1])))
            for j, c in enumerate(level_codes[lv - 1]):
                p = parent.get(c)
                if p not in idx:
                    raise InputError(f"node {c} (level {lv - 1}) has parent {p!r}, not a level-{lv} code",
                                     column="parent")
                a[idx[p], j] = 1.0
            incidence[lv] = a
        parent_pos = np.argmax(incidence[2], axis=0) if top >= 2 else np.zeros(0, dtype=np.int64)
        groups = {lv: [np.flatnonzero(row) for row in a] for lv, a in incidence.items()}
        return cls(codes, levels, by_level, level_codes, incidence, parent_pos, top, groups)

    def level_of(self, code: str) -> int:
        for lv, cs in self.level_codes.items():
            if code in cs:
                return lv
        raise SpecError(f"targets: unknown code {code!r}")


def _pipeline() -> tuple[Any, Any]:
    from pmm_lib.core import build as build_mod
    from pmm_lib.core import spec as spec_mod

    return build_mod, spec_mod


def _nominal_weights(result: IndexResult, hier: _Hierarchy) -> np.ndarray:
    """Nominal weight of every non-top node, from an IndexResult's weight table."""
    w = result.weights.set_index("code")["nominal"]
    out = w.reindex(list(hier.codes)).to_numpy(dtype=float)
    if np.isnan(out).any():
        missing = [c for c, v in zip(hier.codes, out, strict=True) if np.isnan(v)]
        raise SpecError(f"base: no nominal weight for {', '.join(missing[:5])}")
    return out


def _agg_methods(spec: Any, top: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Aggregation method and min_coverage per aggregate level (2..top) of a Spec."""
    items = spec.aggregate_for(top)
    methods = tuple(str(a.method) for a in items)
    cover = tuple(float(getattr(a, "min_coverage", 0.0) or 0.0) for a in items)
    return methods, cover


# --------------------------------------------------------------------------------------------
# Vectorised aggregation kernel
# --------------------------------------------------------------------------------------------


def _aggregate_level(values: np.ndarray, shared: bool, w: np.ndarray, groups: list[np.ndarray],
                     method: str, min_coverage: float) -> np.ndarray:
    """Aggregate one level for S weight vectors at once.

    values : (U, c) if ``shared`` (the same for every sample) else (c, U, S); NaN = missing
    w : (S, c) nominal child weights (0 = excluded); groups : child positions per parent
    Returns (p, U, S).

    Arithmetic: y = sum_c w_c x_c / sum_c w_c over present children; geometric:
    y = exp(sum_c w_c ln x_c / sum_c w_c); harmonic: y = sum_c w_c / sum_c (w_c / x_c). As in :func:`pmm_lib.core.aggregate.arithmetic`, a parent
    whose present children carry less than ``min_coverage`` of its children's total weight,
    or no weight at all, is NaN. Each parent is one small matrix product (shared level) or a
    sum of scaled slices, so the work is proportional to U x S x c.
    """
    present = ~np.isnan(values)
    any_missing = not present.all()
    if method == "geometric":
        x = np.log(np.where(present & (values > 0), values, 1.0))
    elif method == "harmonic":
        x = np.where(present & (values > 0), 1.0 / np.where(present & (values > 0), values, 1.0), 0.0)
    elif method == "arithmetic":
        x = np.where(present, values, 0.0) if any_missing else values
    else:  # pragma: no cover - guarded by UncertaintyProblem
        raise SpecError(f"aggregate: {method!r} is not vectorised; allowed: {', '.join(AGGREGATIONS)}")
    s = w.shape[0]
    wt = np.ascontiguousarray(w.T)                  # (c, S)
    nu = values.shape[0] if shared else values.shape[1]
    out = np.empty((len(groups), nu, s))
    pf = present.astype(float) if any_missing else None
    for j, g in enumerate(groups):
        total = wt[g].sum(axis=0)                   # (S,)
        if shared:
            num = x[:, g] @ wt[g]                   # (U, S)
            den = pf[:, g] @ wt[g] if pf is not None else None
        else:
            num = np.einsum("cus,cs->us", x[g], wt[g]) if len(g) > 1 else x[g[0]] * wt[g[0]]
            den = None
            if pf is not None:
                den = np.einsum("cus,cs->us", pf[g], wt[g]) if len(g) > 1 else pf[g[0]] * wt[g[0]]
        with np.errstate(divide="ignore", invalid="ignore"):
            if den is None:  # nothing missing: coverage is complete wherever the weight is > 0
                y = np.divide(num, total, out=out[j])
                if method == "geometric":
                    np.exp(y, out=y)
                elif method == "harmonic":
                    np.divide(1.0, y, out=y)
                if (total <= 0).any():
                    y[:, total <= 0] = np.nan
                continue
            y = np.divide(num, den, out=out[j])
            if method == "geometric":
                np.exp(y, out=y)
            elif method == "harmonic":
                np.divide(1.0, y, out=y)
            # coverage den / total below min_coverage (as in pmm_lib.core.aggregate), or no weight
            bad = den <= 0
            if min_coverage > 0:
                bad |= den < (min_coverage - 1e-12) * total
            y[bad] = np.nan
    return out


def _aggregate_batch(x1: np.ndarray, hier: _Hierarchy, weights: np.ndarray,
                     methods: tuple[str, ...], coverage: tuple[float, ...],
                     include: np.ndarray | None) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Values of every aggregate level (level -> (n_level, U, S)) for S weight vectors at once.

    ``x1`` is the (U x level-1 codes) normalised matrix; ``include`` (S x level-1 codes, 0/1)
    removes excluded indicators (weight 0). Also returns the samples (S,) outside the domain
    of a geometric or harmonic mean (a child value <= 0), which :func:`pmm_lib.core.aggregate.geometric`
    and :func:`pmm_lib.core.aggregate.harmonic` reject.
    """
    s = weights.shape[0]
    out: dict[int, np.ndarray] = {}
    values, shared = x1, True
    domain_error = np.zeros(s, dtype=bool)
    for lv in range(2, hier.top + 1):
        w = weights[:, hier.by_level[lv - 1]]
        if lv == 2 and include is not None:
            w = w * include
        if methods[lv - 2] in ("geometric", "harmonic"):
            with np.errstate(invalid="ignore"):
                nonpos = values <= 0  # NaN compares False
            if shared:
                cols = nonpos.any(axis=0)
                if cols.any():
                    domain_error |= (include[:, cols] > 0).any(axis=1) if include is not None else True
            else:
                domain_error |= nonpos.any(axis=(0, 1))
        values = _aggregate_level(values, shared, w, hier.groups[lv], methods[lv - 2],
                                  coverage[lv - 2])
        shared = False
        out[lv] = values
    return out, domain_error


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Rank along the last axis, 1 = highest, ties share the lowest rank ('min'); NaN stays NaN.

    Same as ``pandas.Series.rank(ascending=False, method="min")`` row by row, in
    O(n log n) per row and vectorised over the leading axes.

    >>> rank_desc(np.array([[3.0, 1.0, 3.0, np.nan, 2.0]]))
    array([[ 1.,  4.,  1., nan,  3.]])
    """
    v = np.asarray(scores, dtype=float)
    n = v.shape[-1]
    flat = v.reshape(-1, n)
    out = np.empty(flat.shape)
    # rows in blocks: small temporaries stay in cache and are reused by the allocator
    step = max(1, (1 << 18) // max(n, 1))
    for i in range(0, flat.shape[0], step):
        out[i:i + step] = _rank_block(flat[i:i + step])
    return out.reshape(v.shape)


def _rank_block(flat: np.ndarray) -> np.ndarray:
    rows_n, n = flat.shape
    missing = np.isnan(flat)
    any_missing = bool(missing.any())
    neg = np.where(missing, np.inf, -flat) if any_missing else -flat
    order = np.argsort(neg, axis=-1)
    idx = (order + (np.arange(rows_n) * n)[:, None]).ravel()  # flat positions, sorted per row
    srt = neg.ravel()[idx].reshape(rows_n, n)
    ranks_sorted = np.broadcast_to(np.arange(1.0, n + 1), srt.shape)
    # ties are rare in continuous scores: give tied positions the lowest rank, row by row
    tie = srt[:, 1:] == srt[:, :-1]
    if any_missing:
        tie &= np.isfinite(srt[:, 1:])
    rows = np.flatnonzero(tie.any(axis=1))
    if rows.size:
        new = np.ones((rows.size, n), dtype=bool)
        new[:, 1:] = ~tie[rows]
        start = np.maximum.accumulate(np.where(new, np.arange(n), 0), axis=1)
        ranks_sorted = ranks_sorted.copy()
        ranks_sorted[rows] = start + 1.0
    ranks = np.empty(flat.size)
    ranks[idx] = ranks_sorted.ravel()
    ranks = ranks.reshape(flat.shape)
    if any_missing:
        ranks[missing] = np.nan
    return ranks


# --------------------------------------------------------------------------------------------
# Replications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Everything the engine needs that does not depend on the sample."""

    data: pd.DataFrame
    meta: pd.DataFrame
    problem: UncertaintyProblem
    hier: _Hierarchy
    units: pd.Index
    nominal_weights: np.ndarray            # (nodes,)
    weight_sets: np.ndarray                # (m, nodes) nominal weights per set (m >= 1)
    exclude_codes: tuple[str | None, ...]  # alternatives of the exclusion factor
    base_methods: tuple[str, ...]
    coverage: tuple[float, ...]
    nominal: IndexResult
    build_kwargs: dict[str, Any]
    cache: dict[Any, Any] = field(default_factory=dict)  # stage prefixes (see _group_matrix)


def _prepare(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem,
             build_kwargs: Mapping[str, Any] | None = None) -> _Prepared:
    build_mod, _ = _pipeline()
    if not isinstance(problem, UncertaintyProblem):
        raise SpecError(f"problem: expected an UncertaintyProblem, got {type(problem).__name__}")
    hier = _Hierarchy.from_meta(meta)
    kwargs = dict(build_kwargs or {})
    nominal = build_mod.build(data, meta, problem.base, **kwargs)
    nomw = _nominal_weights(nominal, hier)
    sets = []
    for i, ws in enumerate(problem.weight_sets or ()):
        unknown = sorted(set(ws.index) - set(hier.codes))
        if unknown:
            raise SpecError(f"weight_sets[{i}]: unknown codes {', '.join(unknown[:5])}")
        for lv in range(2, hier.top + 1):  # all or none of a parent's children
            for parent, kids in zip(hier.level_codes[lv], hier.groups[lv], strict=True):
                names = [hier.level_codes[lv - 1][c] for c in kids]
                named = [c for c in names if c in ws.index]
                if named and len(named) < len(names):
                    missing = [c for c in names if c not in ws.index]
                    raise SpecError(f"weight_sets[{i}]: names {', '.join(named)} under {parent} but not "
                                    f"{', '.join(missing)}; give all or none of a parent's children")
        sets.append(ws.reindex(list(hier.codes)).fillna(pd.Series(nomw, index=list(hier.codes))).to_numpy())
    weight_sets = np.array(sets) if sets else nomw[None, :]
    l1 = hier.level_codes[1]
    n_sib = hier.incidence[2].sum(axis=1)[hier.parent_pos]
    exclude = (None, *(c for c, k in zip(l1, n_sib, strict=True) if k >= 2)) if problem.exclude_kpis else (None,)
    methods, cover = _agg_methods(problem.base, hier.top)
    units = pd.Index(data.index, name=data.index.name or "unit")
    prep = _Prepared(data, meta, problem, hier, units, nomw, weight_sets, exclude, methods, cover,
                     nominal, kwargs)
    _check_in_sync(prep)
    return prep


def _check_in_sync(prep: _Prepared) -> None:
    """The engine's stage sequence must give build()'s normalised matrix for the base spec."""
    b = prep.problem.base
    if b.impute.method == "iterative" and prep.build_kwargs.get("seed") is None:
        return  # unseeded stochastic imputation: two runs differ by design
    mine = _stage_matrix(prep, b.impute, b.treat, b.normalise, None, "base", "base")
    ref = prep.nominal.normalised.reindex(index=prep.units, columns=list(prep.hier.level_codes[1]))
    if not np.allclose(mine, ref.to_numpy(dtype=float), rtol=1e-12, atol=1e-12, equal_nan=True):
        raise RunError("the uncertainty engine's stages no longer reproduce pmm_lib.core.build.build "
                       "(normalised matrix of the base spec differs); update sensitivity._stage_matrix")


def _weight_bank(prep: _Prepared, size: int, gen: np.random.Generator) -> np.ndarray | None:
    noise = prep.problem.weight_noise
    if not noise:
        return None
    levels = np.array(prep.hier.levels)
    lo = np.ones(len(levels))
    hi = np.ones(len(levels))
    for lv, f in noise.items():
        if lv >= prep.hier.top:
            raise SpecError(f"weight_noise: level {lv} has no siblings to weigh (top level is {prep.hier.top})")
        lo[levels == lv] = 1.0 - f
        hi[levels == lv] = 1.0 + f
    return lo + gen.random((size, len(levels))) * (hi - lo)


def _factors(prep: _Prepared) -> list[Factor]:
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
                  _prep: _Prepared | None = None) -> SampleDesign:
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
    prep = _prep or _prepare(data, meta, problem, build_options)
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


def _choices(prep: _Prepared, design: SampleDesign) -> dict[str, np.ndarray]:
    zeros = np.zeros(design.n, dtype=np.int64)
    return {name: (design.values(name) if name in design.names else zeros) for name in FACTOR_ORDER}


def _sample_weights(prep: _Prepared, design: SampleDesign, ch: dict[str, np.ndarray],
                    rows: np.ndarray) -> np.ndarray:
    w = prep.weight_sets[ch["weight_set"][rows]]
    if design.weight_bank is not None:
        w = w * design.weight_bank[ch["weights"][rows]]
    return w


def _alt(alts: tuple[Any, ...], i: int, default: Any) -> Any:
    return alts[i] if alts else default


def replication_spec(problem: UncertaintyProblem, design: SampleDesign, i: int, *,
                     data: pd.DataFrame | None = None, meta: pd.DataFrame | None = None,
                     build_options: Mapping[str, Any] | None = None,
                     _prep: _Prepared | None = None) -> tuple[Spec, str | None]:
    """Replication ``i`` of a design as an ordinary Spec plus the excluded indicator (or None).

    The weights become explicit nominal weights of every node; the exclusion (if any) is
    applied by dropping that indicator from the data and the hierarchy (:func:`build_replication`).
    """
    _, spec_mod = _pipeline()
    prep = _prep or _prepare(data, meta, problem, build_options)
    ch = _choices(prep, design)
    b = problem.base
    w = _sample_weights(prep, design, ch, np.array([i]))[0]
    agg = b.aggregate
    if problem.aggregate:
        name = problem.aggregate[ch["aggregate"][i]]
        agg = tuple(dataclasses.replace(a, method=name) for a in b.aggregate)
    excluded = prep.exclude_codes[ch["exclude"][i]]
    values = {c: float(v) for c, v in zip(prep.hier.codes, w, strict=True) if c != excluded}
    spec = dataclasses.replace(
        b,
        impute=_alt(problem.impute, ch["impute"][i], b.impute),
        treat=_alt(problem.treat, ch["treat"][i], b.treat),
        normalise=_alt(problem.normalise, ch["normalise"][i], b.normalise),
        weights=spec_mod.WeightSpec(method="explicit", values=values),
        aggregate=agg,
    )
    return spec, excluded


def build_replication(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem,
                      design: SampleDesign, i: int, *,
                      build_options: Mapping[str, Any] | None = None) -> IndexResult:
    """Rebuild replication ``i`` with :func:`pmm_lib.core.build.build` (the slow reference path).

    ``build_options`` are passed to :func:`pmm_lib.core.build.build` (groups, denominators, ...).
    """
    build_mod, _ = _pipeline()
    build_kwargs = dict(build_options or {})
    spec, excluded = replication_spec(problem, design, i, data=data, meta=meta,
                                      build_options=build_options)
    if excluded is not None:
        data = data.drop(columns=[excluded])
        meta = meta[meta["code"] != excluded].reset_index(drop=True)
    return build_mod.build(data, meta, spec, **build_kwargs)


@dataclass(frozen=True, eq=False)
class Replications:
    """Scores and ranks of every replication for the tracked codes.

    Attributes
    ----------
    units : Index
        Unit codes (axis 1).
    targets : tuple of str
        Tracked codes (axis 2).
    scores, ranks : ndarray (n, units, targets)
        Scores and ranks (1 = best, ties 'min'); NaN where a unit has no score or the
        replication failed.
    failed : ndarray of bool (n,)
        Replications whose build raised.
    failures : DataFrame
        One row per failed group: ``group, n, error``.
    design : SampleDesign
        The design that produced them.
    nominal_scores, nominal_ranks : ndarray (units, targets)
        The nominal index (``problem.base``).
    seconds : float
        Wall time of the evaluation.
    n_groups : int
        Distinct discrete combinations (normalised matrices computed).
    """

    units: pd.Index
    targets: tuple[str, ...]
    scores: np.ndarray
    ranks: np.ndarray
    failed: np.ndarray
    failures: pd.DataFrame
    design: SampleDesign
    nominal_scores: np.ndarray
    nominal_ranks: np.ndarray
    seconds: float
    n_groups: int

    @property
    def n(self) -> int:
        """Number of replications."""
        return int(self.scores.shape[0])

    def to_long(self) -> pd.DataFrame:
        """Tidy frame: ``replication, unit, code, score, rank`` (failed replications dropped)."""
        n, u, t = self.scores.shape
        keep = np.flatnonzero(~self.failed)
        rep = np.repeat(keep, u * t)
        unit = np.tile(np.repeat(np.asarray(self.units), t), len(keep))
        code = np.tile(np.asarray(self.targets), len(keep) * u)
        return pd.DataFrame({"replication": rep, "unit": unit, "code": code,
                             "score": self.scores[keep].ravel(), "rank": self.ranks[keep].ravel()})


def _default_targets(hier: _Hierarchy) -> tuple[str, ...]:
    top = hier.level_codes[hier.top]
    below = hier.level_codes[hier.top - 1] if hier.top > 1 else ()
    return (*top, *below)


def evaluate(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem,
             design: SampleDesign, *, targets: Sequence[str] | None = None,
             chunk_size: int | None = None, progress: bool = False, max_failed_share: float = 0.05,
             build_options: Mapping[str, Any] | None = None,
             _prep: _Prepared | None = None) -> Replications:
    """Evaluate every replication of ``design`` with the vectorised engine.

    Samples are grouped by their distinct (imputation, treatment, normalisation[, exclusion])
    combination; each group's normalised matrix is computed once (``_group_matrix``: the
    stages of :func:`pmm_lib.core.build.build`, shared prefixes cached). Within a group (and
    aggregation alternative) the weights of all samples are applied at once: level by level,
    with ``W`` the (S x c) child weights,
    ``A`` the (p x c) parent incidence and ``X`` the child values with missing set to 0 and
    mask ``M``,

        Y[s, u, p] = sum_c X[u, c] W[s, c] A[p, c] / sum_c M[u, c] W[s, c] A[p, c]

    (geometric: the same on ln X, then exp), NaN where the present children carry less than
    ``min_coverage`` of the weight, computed as matrix products in chunks of ``chunk_size``
    samples. Excluding an indicator sets its weight to 0;
    when that could change other indicators (multivariate imputation, unit screening) the
    exclusion is part of the group key instead.

    Parameters
    ----------
    targets : sequence of str, optional
        Codes to track (default: the top node and its children, e.g. index and dimensions).
    chunk_size : int, optional
        Samples evaluated together. Default: as many as keep one level's values (nodes x
        units x samples x 8 bytes) near 10 MB, which keeps temporaries in reusable memory.
    progress : bool
        Show a tqdm progress bar over samples.
    max_failed_share : float
        Raise :class:`~pmm_lib.errors.RunError` when more than this share of replications fail.
    build_options : mapping, optional
        Passed to the stages as :func:`pmm_lib.core.build.build` takes them (``groups``,
        ``denominators``, ``panel``, ``cycle``, ``seed``).

    Returns
    -------
    Replications
    """
    import time

    t0 = time.perf_counter()
    prep = _prep or _prepare(data, meta, problem, build_options)
    hier = prep.hier
    targets = tuple(targets) if targets is not None else _default_targets(hier)
    tlev = [(hier.level_of(t), hier.level_codes[hier.level_of(t)].index(t)) for t in targets]
    ch = _choices(prep, design)
    n, nu, nt = design.n, len(prep.units), len(targets)
    scores = np.full((nt, n, nu), np.nan)  # target-major: each (replication, unit) row ranks fast
    failed = np.zeros(n, dtype=bool)
    fail_rows: list[dict[str, Any]] = []
    split_exclusion = not _exclusion_is_columnwise(problem)
    key_names = ["impute", "treat", "normalise"] + (["exclude"] if split_exclusion else [])
    keys = np.stack([ch[k] for k in key_names], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="replications", unit="rep")
    if chunk_size is None:
        width = max(len(hier.level_codes[lv]) for lv in range(2, hier.top + 1))
        chunk_size = int(min(4096, max(64, 10e6 // (8 * max(nu, 1) * width))))
    l1 = list(hier.level_codes[1])
    excl_idx = np.array([-1 if c is None else l1.index(c) for c in prep.exclude_codes])
    for g, key in enumerate(uniq):
        rows_g = np.flatnonzero(inverse == g)
        kd = dict(zip(key_names, key.tolist(), strict=True))
        try:
            x1 = _group_matrix(prep, kd)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            failed[rows_g] = True
            fail_rows.append({"group": _group_label(prep, kd), "n": len(rows_g),
                              "error": f"{type(exc).__name__}: {exc}"})
            if bar is not None:
                bar.update(len(rows_g))
            continue
        for a in np.unique(ch["aggregate"][rows_g]):
            rows_a = rows_g[ch["aggregate"][rows_g] == a]
            methods = prep.base_methods if not problem.aggregate else (problem.aggregate[a],) * (hier.top - 1)
            for start in range(0, len(rows_a), chunk_size):
                rows = rows_a[start:start + chunk_size]
                w = _sample_weights(prep, design, ch, rows)
                ex = excl_idx[ch["exclude"][rows]]
                include = None
                if (ex >= 0).any():
                    include = np.ones((len(rows), len(l1)), dtype=float)
                    hit = ex >= 0
                    include[np.flatnonzero(hit), ex[hit]] = 0.0
                with _single_blas_thread():
                    vals, domain_error = _aggregate_batch(x1, hier, w, methods, prep.coverage, include)
                for t, (lv, j) in enumerate(tlev):
                    if lv == 1:  # an indicator: its normalised value, missing where excluded
                        v = np.broadcast_to(x1[:, j], (len(rows), nu))
                        if include is not None:
                            v = np.where(include[:, j:j + 1] > 0, v, np.nan)
                    else:
                        v = vals[lv][j].T
                    scores[t, rows, :] = np.where(domain_error[:, None], np.nan, v)
                if domain_error.any():
                    failed[rows[domain_error]] = True
                    fail_rows.append({"group": _group_label(prep, kd) + f"; aggregate={methods[0]}",
                                      "n": int(domain_error.sum()),
                                      "error": f"InputError: the {methods[0]} mean needs values > 0"})
                if bar is not None:
                    bar.update(len(rows))
    if bar is not None:
        bar.close()
    share = failed.mean() if n else 0.0
    failures = pd.DataFrame(fail_rows, columns=["group", "n", "error"])
    if share > max_failed_share:
        raise RunError(f"{failed.sum()} of {n} replications failed ({share:.1%} > max_failed_share "
                       f"{max_failed_share:.1%}); first error: {failures['error'].iloc[0]}")
    ranks = rank_desc(scores).transpose(1, 2, 0)
    scores = scores.transpose(1, 2, 0)
    nom = prep.nominal
    nominal_scores = nom.aggregated.reindex(index=prep.units, columns=list(targets)).to_numpy(dtype=float)
    nominal_ranks = rank_desc(nominal_scores.T).T
    return Replications(prep.units, targets, scores, ranks, failed, failures, design,
                        nominal_scores, nominal_ranks, time.perf_counter() - t0, len(uniq))


def _single_blas_thread() -> Any:
    """Limit BLAS to one thread: the kernel's many small products lose more to thread
    hand-offs than they gain, especially on a shared machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _exclusion_is_columnwise(problem: UncertaintyProblem) -> bool:
    """True when dropping one indicator cannot change the others' normalised values."""
    if not problem.exclude_kpis:
        return True
    imputes = problem.impute or (problem.base.impute,)
    if any(str(getattr(i, "method", "none")) not in _COLUMNWISE_IMPUTE for i in imputes):
        return False
    screen = getattr(problem.base, "screen", None)
    return not (screen is not None and float(getattr(screen, "min_coverage", 0.0) or 0.0) > 0)


def _group_label(prep: _Prepared, kd: Mapping[str, int]) -> str:
    p = prep.problem
    parts = []
    for name in ("impute", "treat", "normalise"):
        alts = getattr(p, name)
        if alts:
            parts.append(f"{name}={alts[kd[name]]!r}")
    if "exclude" in kd:
        parts.append(f"exclude={prep.exclude_codes[kd['exclude']]}")
    return "; ".join(parts) or "base"


def _group_matrix(prep: _Prepared, kd: Mapping[str, int]) -> np.ndarray:
    """The normalised matrix (units x level-1 codes) of one discrete combination.

    Runs the stages of :func:`pmm_lib.core.build.build` up to normalisation (denominate, impute,
    screen, treat, normalise; the same calls in the same order) and caches the shared prefixes:
    the imputed/screened matrix per (imputation, exclusion) and the treated one per treatment,
    so five treatments x two normalisations cost one imputation, five treatments and ten
    normalisations. The tests check the result against ``build(...).normalised``.
    """
    p, b = prep.problem, prep.problem.base
    excluded = prep.exclude_codes[kd["exclude"]] if "exclude" in kd else None
    return _stage_matrix(prep, _alt(p.impute, kd["impute"], b.impute), _alt(p.treat, kd["treat"], b.treat),
                         _alt(p.normalise, kd["normalise"], b.normalise), excluded,
                         kd["impute"], kd["treat"])


def _stage_matrix(prep: _Prepared, imp: Any, tr: Any, nm: Any, excluded: str | None,
                  imp_key: Any, tr_key: Any) -> np.ndarray:
    from pmm_lib.core import transform

    b = prep.problem.base
    opts = prep.build_kwargs
    cache = prep.cache
    key1 = ("screened", imp_key, excluded)
    if key1 not in cache:
        data, meta = prep.data, prep.meta
        if excluded is not None:
            data = data.drop(columns=[excluded])
            meta = meta[meta["code"] != excluded]
        m = meta.reset_index(drop=True).copy()
        m["code"] = m["code"].astype(str)
        m["level"] = pd.to_numeric(m["level"]).astype(int)
        m = m.sort_values("level", kind="stable").reset_index(drop=True)
        leaves = m.loc[m["level"] == 1, "code"].tolist()
        raw = data[leaves]
        if not all(t == np.float64 for t in raw.dtypes):
            raw = raw.astype("float64")
        den = transform.denominate(raw, m, opts.get("denominators"))[0] if b.denominate else raw
        groups = None
        if imp.method in ("group_mean", "group_median"):
            g = opts.get("groups")
            if isinstance(g, pd.Series):
                groups = g
            elif isinstance(g, pd.DataFrame) and imp.group in g.columns:
                groups = g[imp.group]
            elif imp.group in data.columns:
                groups = data[imp.group]
            else:
                raise InputError(f"impute.group: grouping column {imp.group!r} not found", column=imp.group)
        imputed = transform.impute(den, imp.method, groups=groups, panel=opts.get("panel"),
                                   cycle=opts.get("cycle"), seed=opts.get("seed"))[0]
        screened = transform.screen(imputed, b.screen.min_coverage)[0]
        if screened.empty:
            raise InputError(f"screen: no unit has at least {b.screen.min_coverage:.0%} of the indicators")
        cache[key1] = (screened, m)
    screened, m = cache[key1]
    key2 = ("treated", imp_key, excluded, tr_key)
    if key2 not in cache:
        cache[key2] = transform.treat(screened, tr.method, winmax=tr.winmax, skew=tr.skew,
                                      kurtosis=tr.kurtosis, fallback=tr.fallback,
                                      overrides=tr.overrides)[0]
    normalised = transform.normalise(cache[key2], m, nm.method, low=nm.low, high=nm.high,
                                     mean=nm.mean, sd=nm.sd, targets=nm.targets)[0]
    return normalised.reindex(index=prep.units, columns=list(prep.hier.level_codes[1])).to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------
# Uncertainty analysis
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class UncertaintyResult:
    """Monte Carlo uncertainty analysis: rank intervals per unit and a summary per code."""

    rank_intervals: pd.DataFrame
    summary: pd.DataFrame
    replications: Replications

    @property
    def n_failed(self) -> int:
        """Number of failed replications."""
        return int(self.replications.failed.sum())


def rank_intervals(reps: Replications, *, quantiles: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
    """Per unit and code: nominal rank and score, median rank, rank interval, score quantiles.

    Returns
    -------
    DataFrame
        ``code, unit, score, rank, rank_q50, rank_low, rank_high, mean_abs_rank_shift,
        score_low, score_q25, score_q50, score_q75, score_high, n``. ``rank_low``/``rank_high``
        are the ``quantiles`` (default 5 % and 95 %) of the unit's rank over replications;
        ``mean_abs_rank_shift`` = mean over replications of |rank - nominal rank|; ``n`` counts
        the replications where the unit has a score. Rows sorted by code, then nominal rank.
    """
    ok = ~reps.failed
    r = reps.ranks[ok]
    s = reps.scores[ok]
    lo, hi = quantiles

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rq = np.nanquantile(r, [lo, 0.5, hi], axis=0) if len(r) else np.full((3, *r.shape[1:]), np.nan)
        sq = np.nanquantile(s, [lo, 0.25, 0.5, 0.75, hi], axis=0) if len(s) else np.full((5, *s.shape[1:]), np.nan)
        shift = np.nanmean(np.abs(r - reps.nominal_ranks[None]), axis=0)
    n = (~np.isnan(s)).sum(axis=0)
    frames = []
    for t, code in enumerate(reps.targets):
        frames.append(pd.DataFrame({
            "code": code, "unit": np.asarray(reps.units), "score": reps.nominal_scores[:, t],
            "rank": reps.nominal_ranks[:, t], "rank_q50": rq[1, :, t], "rank_low": rq[0, :, t],
            "rank_high": rq[2, :, t], "mean_abs_rank_shift": shift[:, t],
            "score_low": sq[0, :, t], "score_q25": sq[1, :, t], "score_q50": sq[2, :, t],
            "score_q75": sq[3, :, t], "score_high": sq[4, :, t], "n": n[:, t]}))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["code", "rank", "unit"], key=_code_order(reps.targets)).reset_index(drop=True)


def _code_order(targets: Sequence[str]) -> Callable[[pd.Series], pd.Series]:
    order = {c: i for i, c in enumerate(targets)}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "code" else col

    return key


def uncertainty_analysis(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem, *,
                         n_samples: int = 1000, seed: SeedLike = None,
                         targets: Sequence[str] | None = None, chunk_size: int | None = None,
                         progress: bool = False, max_failed_share: float = 0.05,
                         build_options: Mapping[str, Any] | None = None) -> UncertaintyResult:
    """Monte Carlo uncertainty analysis over all assumptions together.

    Draws ``n_samples`` replications (every varied assumption independently and uniformly over
    its alternatives, weights perturbed by the declared noise), evaluates them with
    :func:`evaluate` and summarises ranks and scores per unit (Saisana et al. 2005,
    doi:10.1111/j.1467-985X.2005.00350.x).

    Returns
    -------
    UncertaintyResult
        ``.rank_intervals`` (see :func:`rank_intervals`), ``.summary`` with one row per code:
        ``code, mean_abs_rank_shift, max_rank_range, n, n_failed``, and ``.replications``.

    Raises
    ------
    RunError
        When more than ``max_failed_share`` of the replications fail.
    """
    prep = _prepare(data, meta, problem, build_options)
    design = sample_design(data, meta, problem, n_samples, method="monte_carlo", seed=seed, _prep=prep)
    reps = evaluate(data, meta, problem, design, targets=targets, chunk_size=chunk_size,
                    progress=progress, max_failed_share=max_failed_share, _prep=prep)
    ri = rank_intervals(reps)
    ok = ~reps.failed
    rows = []
    for t, code in enumerate(reps.targets):
        shift = np.abs(reps.ranks[ok, :, t] - reps.nominal_ranks[None, :, t])
        sub = ri[ri["code"] == code]
        rows.append({"code": code, "mean_abs_rank_shift": float(np.nanmean(shift)) if ok.any() else np.nan,
                     "max_rank_range": float((sub["rank_high"] - sub["rank_low"]).max()),
                     "n": int(ok.sum()), "n_failed": int(reps.failed.sum())})
    return UncertaintyResult(ri, pd.DataFrame(rows), reps)


# --------------------------------------------------------------------------------------------
# Sensitivity analysis (Sobol' indices)
# --------------------------------------------------------------------------------------------


def _split_saltelli(y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SALib's row order (A, AB_1..AB_k, B per base sample) -> A (N,...), AB (N,k,...), B."""
    step = k + 2
    n = y.shape[0] // step
    y = y[: n * step].reshape(n, step, *y.shape[1:])
    return y[:, 0], y[:, 1:-1], y[:, -1]


def _sobol_arrays(y: np.ndarray, k: int, num_resamples: int, conf_level: float,
                  seed: int, *, per_column: bool = True) -> dict[str, np.ndarray]:
    """S1, ST and bootstrap half-widths for every output column of ``y`` (rows x m), and for
    the columns pooled (variance-weighted).

    Point estimates are SALib's estimators (Saltelli et al. 2010): with A, B, AB_j the outputs
    at the two base matrices and at A with column j from B, and V = var([A; B]),
    S1_j = mean(B (AB_j - A)) / V and ST_j = mean((A - AB_j)^2) / (2 V).
    Confidence half-widths are z_{(1+c)/2} times the standard deviation over ``num_resamples``
    bootstrap resamples of the base samples, drawn exactly as ``SALib.analyze.sobol.analyze``
    draws them for the same seed; each resample is evaluated as a weighted mean with the
    resample's multiplicities, so all outputs are handled in a few matrix products (the tests
    check equality with SALib column by column).

    The pooled index over the m columns is sum_u num_u / sum_u V_u (= sum_u V_u S_u / sum_u V_u,
    the variance-weighted mean), the generalised Sobol' index of a multivariate output
    (Gamboa et al. 2014, doi:10.1214/14-EJS895). Keys ``S1_all, ST_all`` (k,) and their
    ``_conf``; per-column keys only when ``per_column``.
    """
    from SALib.analyze import sobol as salib
    from scipy.stats import norm

    n = y.shape[0] // (k + 2)
    y = y[: n * (k + 2)]
    # SALib standardises Y over all rows before estimating (the S1 estimator is not exactly
    # shift-invariant), so centre (and, per column, scale) the same way
    mu = y.mean(axis=0)
    sd = y.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    yc = y - mu
    a, ab, b = _split_saltelli(yc, k)
    r = np.random.default_rng(seed).integers(n, size=(n, num_resamples))
    counts = np.zeros((num_resamples, n))
    for j in range(num_resamples):
        counts[j] = np.bincount(r[:, j], minlength=n)
    z = float(norm.ppf(0.5 + conf_level / 2))
    eps = np.finfo(float).eps
    const = np.ptp(np.concatenate([a, b]), axis=0) <= eps * sd  # SALib's constant-output rule
    out: dict[str, np.ndarray] = {}
    # pooled over columns: sums across columns first, then the same estimators
    var_all = (np.concatenate([a, b]) ** 2).mean(axis=0) - np.concatenate([a, b]).mean(axis=0) ** 2
    m1 = (counts @ a + counts @ b) / (2 * n)
    m2 = (counts @ (a * a) + counts @ (b * b)) / (2 * n)
    var_r = m2 - m1 * m1                                   # (R, m) bootstrap variances
    if per_column:
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            out[key] = np.zeros((k, y.shape[1]))
    for key in ("S1_all", "S1_all_conf", "ST_all", "ST_all_conf"):
        out[key] = np.zeros(k)
    vsum, vsum_r = var_all.sum(), var_r.sum(axis=1)
    for j in range(k):
        abj = ab[:, j]
        f1 = b * (abj - a)
        ft = 0.5 * (a - abj) ** 2
        if per_column:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant columns: SALib warns and returns 0
                out["S1"][j] = np.where(const, 0.0, salib.first_order(a / sd, abj / sd, b / sd))
                out["ST"][j] = np.where(const, 0.0, salib.total_order(a / sd, abj / sd, b / sd))
            with np.errstate(divide="ignore", invalid="ignore"):
                s1_r = np.where(var_r > eps * sd**2, (counts @ f1) / n / var_r, 0.0)
                st_r = np.where(var_r > eps * sd**2, (counts @ ft) / n / var_r, 0.0)
            out["S1_conf"][j] = np.where(const, 0.0, z * s1_r.std(axis=0, ddof=1))
            out["ST_conf"][j] = np.where(const, 0.0, z * st_r.std(axis=0, ddof=1))
        if vsum > 0:
            f1s, fts = f1.sum(axis=1), ft.sum(axis=1)
            out["S1_all"][j] = f1s.mean() / vsum
            out["ST_all"][j] = fts.mean() / vsum
            out["S1_all_conf"][j] = z * ((counts @ f1s) / n / vsum_r).std(ddof=1)
            out["ST_all_conf"][j] = z * ((counts @ fts) / n / vsum_r).std(ddof=1)
    return out


def sobol_indices(y: np.ndarray | pd.Series, design: SampleDesign, *, num_resamples: int = 100,
                  conf_level: float = 0.95, seed: SeedLike = None, n_base: int | None = None) -> pd.DataFrame:
    """First-order and total Sobol' indices of one output with bootstrap CIs, via SALib.

    Parameters
    ----------
    y : array (n,)
        Model output at every row of a ``"sobol"`` design, in the design's row order.
    design : SampleDesign
        From :func:`sobol_design` or :func:`sample_design` with ``method="sobol"``.
    num_resamples, conf_level : int, float
        Bootstrap resamples and confidence level of the intervals.
    n_base : int, optional
        Use only the first ``n_base`` base samples (for convergence checks).

    Returns
    -------
    DataFrame
        ``factor, order ("first" | "total"), estimate, ci_low, ci_high, n`` (n = base samples).

    Notes
    -----
    Computed by :func:`SALib.analyze.sobol.analyze` (Saltelli et al. 2010,
    doi:10.1016/j.cpc.2009.09.018); ``ci_low, ci_high = estimate -/+ z * bootstrap sd``.

    Examples
    --------
    Additive model y = 2 x1 + x2 with x1, x2 ~ U(0, 1): S1 = (4/5, 1/5).

    >>> d = sobol_design([Factor("x1"), Factor("x2")], 4096, seed=3)
    >>> s = sobol_indices(2 * d.u[:, 0] + d.u[:, 1], d, seed=3)
    >>> s.query("order == 'first'")["estimate"].round(1).tolist()
    [0.8, 0.2]
    """
    from SALib.analyze import sobol as salib

    if design.method != "sobol":
        raise SpecError(f"design: Sobol' indices need a 'sobol' design, got {design.method!r}")
    k = len(design.factors)
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != design.n:
        raise SpecError(f"y: expected {design.n} values (one per design row), got {y.shape[0]}")
    nb = design.n_base if n_base is None else int(n_base)
    y = y[: nb * (k + 2)]
    if np.isnan(y).any():
        raise RunError(f"y: {int(np.isnan(y).sum())} missing outputs; drop failed base samples first")
    gen = rng(seed)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = salib.analyze(design.salib_problem(), y, calc_second_order=False,
                            num_resamples=num_resamples, conf_level=conf_level, seed=_int_seed(gen))
    rows = []
    for order, key in (("first", "S1"), ("total", "ST")):
        for j, f in enumerate(design.factors):
            est, half = float(res[key][j]), float(res[f"{key}_conf"][j])
            rows.append({"factor": f.name, "order": order, "estimate": est, "ci_low": est - half,
                         "ci_high": est + half, "n": nb})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Sobol' indices, their convergence check and the replications behind them."""

    indices: pd.DataFrame
    convergence: pd.DataFrame
    replications: Replications
    n_dropped: int

    @property
    def converged(self) -> bool:
        """True when every aggregate index moved less than the tolerance from N/2 to N."""
        return bool(self.convergence["converged"].all()) if len(self.convergence) else True


def _valid_blocks(reps: Replications, k: int) -> np.ndarray:
    """Base samples whose k + 2 replications all succeeded."""
    step = k + 2
    nb = reps.n // step
    bad = reps.failed[: nb * step].reshape(nb, step).any(axis=1)
    return np.flatnonzero(~bad)


def _sobol_frame(reps: Replications, blocks: np.ndarray, outputs: Sequence[str], per_unit: bool,
                 num_resamples: int, conf_level: float, seed: int) -> pd.DataFrame:
    design = reps.design
    k = len(design.factors)
    step = k + 2
    rows_idx = (blocks[:, None] * step + np.arange(step)[None]).ravel()
    nb = len(blocks)
    names = list(design.names)

    def frame(est: np.ndarray, half: np.ndarray, order: str, unit: Any) -> pd.DataFrame:
        return pd.DataFrame({"unit": unit, "factor": np.repeat(names, est.size // k), "order": order,
                             "estimate": est.ravel(), "ci_low": (est - half).ravel(),
                             "ci_high": (est + half).ravel(), "n": nb})

    frames = []
    if "mean_abs_rank_shift" in outputs:
        # one scalar output per code, all estimated together
        shift = np.nanmean(np.abs(reps.ranks[rows_idx] - reps.nominal_ranks[None]), axis=1)  # (rows, T)
        res = _sobol_arrays(shift, k, num_resamples, conf_level, seed)
        for t, code in enumerate(reps.targets):
            for order, key in (("first", "S1"), ("total", "ST")):
                f = frame(res[key][:, t], res[f"{key}_conf"][:, t], order, "")
                f.insert(0, "output", "mean_abs_rank_shift")
                f.insert(0, "code", code)
                frames.append(f)
    for out in (o for o in outputs if o != "mean_abs_rank_shift"):
        for t, code in enumerate(reps.targets):
            arr = (reps.scores if out == "score" else reps.ranks)[rows_idx, :, t]
            keep = ~np.isnan(arr).any(axis=0)
            res = _sobol_arrays(arr[:, keep], k, num_resamples, conf_level, seed, per_column=per_unit)
            units = np.asarray(reps.units)[keep]
            for order, key in (("first", "S1"), ("total", "ST")):
                parts = [frame(res[f"{key}_all"], res[f"{key}_all_conf"], order, "")]
                if per_unit:
                    parts.append(frame(res[key], res[f"{key}_conf"], order, np.tile(units, k)))
                f = pd.concat(parts, ignore_index=True)
                f.insert(0, "output", out)
                f.insert(0, "code", code)
                frames.append(f)
    out_frame = pd.concat(frames, ignore_index=True)
    order_key = {o: i for i, o in enumerate(outputs)}
    code_key = {c: i for i, c in enumerate(reps.targets)}
    return (out_frame.assign(_c=out_frame["code"].map(code_key), _o=out_frame["output"].map(order_key))
            .sort_values(["_c", "_o"], kind="stable").drop(columns=["_c", "_o"]).reset_index(drop=True))


def convergence_check(full: pd.DataFrame, half: pd.DataFrame, *, tol: float = 0.05) -> pd.DataFrame:
    """Compare indices at N/2 and N base samples.

    Returns
    -------
    DataFrame
        ``code, output, factor, order, estimate, estimate_half, abs_diff, ci_width, converged``
        for the aggregate rows (``unit == ""``); ``converged`` when ``abs_diff <= tol`` and
        the CI at N is no wider than ``2 * tol``.
    """
    keys = ["code", "output", "unit", "factor", "order"]
    f = full[full["unit"] == ""]
    h = half[half["unit"] == ""][keys + ["estimate"]].rename(columns={"estimate": "estimate_half"})
    m = f.merge(h, on=keys, how="left")
    m["abs_diff"] = (m["estimate"] - m["estimate_half"]).abs()
    m["ci_width"] = m["ci_high"] - m["ci_low"]
    m["converged"] = (m["abs_diff"] <= tol) & (m["ci_width"] <= 2 * tol)
    return m[["code", "output", "factor", "order", "estimate", "estimate_half", "abs_diff",
              "ci_width", "converged"]]


def sensitivity_analysis(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem, *,
                         n_base: int = 1024, seed: SeedLike = None,
                         targets: Sequence[str] | None = None,
                         outputs: Sequence[SobolOutput] = ("mean_abs_rank_shift", "score"),
                         per_unit: bool = False, num_resamples: int = 100,
                         conf_level: float = 0.95, tol: float = 0.05, chunk_size: int | None = None,
                         progress: bool = False, max_failed_share: float = 0.05,
                         build_options: Mapping[str, Any] | None = None) -> SensitivityResult:
    """Variance-based sensitivity analysis of ranks and scores to the uncertain assumptions.

    Samples a Saltelli/Sobol' design of ``n_base * (k + 2)`` replications (k = varied
    assumptions), evaluates it with :func:`evaluate`, and estimates first-order (S1) and total
    (ST) Sobol' indices with bootstrap CIs for each target code and output:

    * ``"mean_abs_rank_shift"``: y = mean over units of |rank - nominal rank| (via
      :func:`SALib.analyze.sobol.analyze`);
    * ``"score"`` / ``"rank"``: every unit's score or rank; reported as the variance-weighted
      mean over units, S = sum_u V_u S_u / sum_u V_u (and per unit when ``per_unit``).

    The estimate is repeated with the first N/2 base samples; ``.convergence`` says whether N
    was enough (:func:`convergence_check`).

    Returns
    -------
    SensitivityResult
        ``.indices``: ``code, output, unit, factor, order, estimate, ci_low, ci_high, n``
        (``unit`` empty for aggregate rows); ``.convergence``; ``.replications``;
        ``.n_dropped`` base samples dropped because a replication in them failed.
    """
    for o in outputs:
        _check_choice(o, SOBOL_OUTPUTS, "outputs")
    if not problem.varied:
        raise SpecError("problem: no assumption varies; give at least one field two alternatives")
    gen = rng(seed)
    prep = _prepare(data, meta, problem, build_options)
    design = sample_design(data, meta, problem, n_base, method="sobol", seed=gen, _prep=prep)
    reps = evaluate(data, meta, problem, design, targets=targets, chunk_size=chunk_size,
                    progress=progress, max_failed_share=max_failed_share, _prep=prep)
    k = len(design.factors)
    blocks = _valid_blocks(reps, k)
    boot_seed = _int_seed(gen)
    full = _sobol_frame(reps, blocks, outputs, per_unit, num_resamples, conf_level, boot_seed)
    half = _sobol_frame(reps, blocks[: len(blocks) // 2], outputs, False, num_resamples,
                        conf_level, boot_seed)
    conv = convergence_check(full, half, tol=tol)
    return SensitivityResult(full, conv, reps, int(n_base - len(blocks)))
