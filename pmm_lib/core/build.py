"""The index pipeline: ``build(data, meta, spec) -> IndexResult`` and the ``pmm index`` command.

This module owns running the stages in order (denominate → impute → screen → treat →
normalise → weights → aggregate, COINr's order), keeping every intermediate table, the
weights (nominal and effective), one tidy log, scores and ranks at every level; loading
the PMM or COINr-format inputs a spec names (:func:`build_pmm`, :func:`build_from_spec_file`);
and the ``pmm index`` subcommand. The stages themselves live in :mod:`pmm_lib.core.transform`,
:mod:`pmm_lib.core.weights` and :mod:`pmm_lib.core.aggregate`.

Reference: OECD/JRC (2008), *Handbook on Constructing Composite Indicators*,
doi:10.1787/9789264043466-en, ch. 1 (the ten steps); COINr (Becker et al. 2022,
doi:10.21105/joss.04567), whose ASEM build ``tests/test_coinr_asem.py`` reproduces to 1e-9.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.core import aggregate as agg_mod
from pmm_lib.core import transform
from pmm_lib.core.hierarchy import Hierarchy, compile_hierarchy
from pmm_lib.core.rank import rank_desc
from pmm_lib.core.spec import Spec, WeightSpec
from pmm_lib.errors import InputError, SpecError
from pmm_lib.seed import SeedLike

__all__ = [
    "MAX_MAGNITUDE",
    "STAGES",
    "IndexResult",
    "Pipeline",
    "build",
    "build_from_spec_file",
    "build_pmm",
    "index_shares",
    "nominal_weights",
    "pmm_inputs",
    "stage_options",
]

@dataclass(frozen=True, eq=False)
class IndexResult:
    """Everything one build produced.

    Attributes
    ----------
    spec : Spec
    meta : DataFrame
        The hierarchy used (``code, name, level, parent, direction, weight``, ...).
    raw, denominated, imputed, screened, treated, normalised : DataFrame
        Units x indicators after each stage (``screened`` and later hold only kept units).
    aggregated : DataFrame
        Units x every code (meta order): the indicators' normalised values, then every
        aggregate up to the index.
    ranks : DataFrame
        Same shape; 1 = best (highest score), ties share the lowest rank ('min').
    nominal : Series
        code -> nominal weight within its parent (every code below the top).
    weights : DataFrame (computed on first access)
        ``code, parent, level, nominal, effective, index_share``: ``nominal`` is the weight
        within its parent (sums to 1 per parent); ``effective`` how much the node actually
        drives its parent in these data (squared correlation with the parent, scaled to sum
        to 1 per parent, :func:`pmm_lib.core.weights.effective_weights`; Paruolo, Saisana &
        Saltelli 2013, doi:10.1111/j.1467-985X.2012.01059.x); ``index_share`` the product of
        nominal weights up to the index (:func:`index_shares`). The top node has 1, 1, 1.
    log : DataFrame
        ``stage, code, unit, action, detail, value`` (see :mod:`pmm_lib.core.transform`).
    """

    spec: Spec
    meta: pd.DataFrame
    raw: pd.DataFrame
    denominated: pd.DataFrame
    imputed: pd.DataFrame
    screened: pd.DataFrame
    treated: pd.DataFrame
    normalised: pd.DataFrame
    aggregated: pd.DataFrame
    ranks: pd.DataFrame
    nominal: pd.Series
    log: pd.DataFrame

    @cached_property
    def weights(self) -> pd.DataFrame:
        """``code, parent, level, nominal, effective, index_share`` (computed on first use)."""
        return _weights_table(self.meta, self.nominal, self.aggregated)

    @property
    def top(self) -> str:
        """Code of the top node (the index)."""
        lv = self.meta["level"].astype(int)
        return str(self.meta.loc[lv == lv.max(), "code"].iloc[0])

    @property
    def index(self) -> pd.Series:
        """The index score per unit."""
        return self.aggregated[self.top].rename("score")

    @property
    def treatment(self) -> pd.DataFrame:
        """One row per treated indicator (:func:`pmm_lib.core.transform.treat_table`)."""
        return transform.treat_table(self.log)

    def scores(self, level: int) -> pd.DataFrame:
        """Units x the codes of one level."""
        codes = self.meta.loc[self.meta["level"].astype(int) == level, "code"]
        return self.aggregated[list(codes)]

    def to_long(self) -> pd.DataFrame:
        """Tidy scores: one row per unit and code.

        Returns
        -------
        DataFrame
            ``unit, code, level, score, rank`` (codes in meta order, level 1 = indicators,
            top level = index; units in data order within each code; ``rank`` is an integer,
            missing where the score is).
        """
        agg, rk = self.aggregated, self.ranks
        n_u, n_c = agg.shape
        level = self.meta.set_index("code")["level"].astype(int).reindex(agg.columns).to_numpy()
        return pd.DataFrame({
            "unit": np.tile(agg.index.astype(str).to_numpy(), n_c),
            "code": np.repeat(agg.columns.astype(str).to_numpy(), n_u),
            "level": np.repeat(level, n_u),
            "score": agg.to_numpy().T.reshape(-1),
            "rank": pd.array(rk.to_numpy().T.reshape(-1), dtype="Int64"),
        })


# --------------------------------------------------------------------------- weights
def nominal_weights(meta: pd.DataFrame, spec: WeightSpec | None = None,
                    normalised: pd.DataFrame | None = None, *,
                    base_dir: str | Path | None = None) -> pd.Series:
    """Weight of every node below the top for a :class:`WeightSpec`, summing to 1 per parent.

    A thin adapter onto :func:`pmm_lib.core.weights.resolve_weights` (the one place where a
    weighting name becomes a computation): ``values`` and ``path`` of the spec become its
    options, a relative ``path`` is taken relative to ``base_dir`` (the spec file's folder),
    and the spec's ``options`` are passed through.

    Returns
    -------
    Series
        code -> weight (top node excluded), normalised within each parent.
    """
    from pmm_lib.core import weights as weights_mod

    spec = spec or WeightSpec()
    options = {k: _thaw(v) for k, v in spec.options.items()}
    if spec.method == "explicit":
        options["values"] = dict(spec.values)
    elif spec.method == "file":
        p = Path(str(spec.path))
        options["path"] = p if p.is_absolute() or base_dir is None else Path(base_dir) / p
    got = weights_mod.resolve_weights(spec.method, normalised, meta, **options)
    return pd.Series(got, dtype="float64")


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def index_shares(meta: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """Product of the nominal (within-parent) weights from a node up to the index.

    .. math:: s_i = \\prod_{a \\in \\mathrm{path}(i)} w_a

    The share of the index a node carries when nothing is missing and every aggregation
    is arithmetic (COINr's "effective weights", ``get_eff_weights``). The top node has 1.
    """
    parent = dict(zip(meta["code"].astype(str), meta["parent"], strict=True))
    nom = nominal.to_dict()
    codes = meta["code"].astype(str).tolist()
    levels = meta["level"].astype(int).tolist()
    share: dict[str, float] = {}
    for _, code in sorted(zip(levels, codes, strict=True), key=lambda t: -t[0]):
        share[code] = float(nom[code]) * share.get(parent[code], 1.0) if code in nom else 1.0
    return pd.Series([share[c] for c in codes], index=codes, dtype="float64")


def _weights_table(m: pd.DataFrame, nominal: pd.Series, aggregated: pd.DataFrame) -> pd.DataFrame:
    """code, parent, level, nominal, effective (data-driven), index_share."""
    from pmm_lib.core import weights as weights_mod

    codes = m["code"].to_numpy()
    try:
        eff = weights_mod.effective_weights(aggregated, m, nominal).set_index("code")["effective"]
    except (InputError, SpecError, ValueError):  # e.g. a constant aggregate: no correlation
        eff = pd.Series(dtype="float64")
    return pd.DataFrame({
        "code": codes,
        "parent": m["parent"].to_numpy(),
        "level": m["level"].to_numpy(),
        "nominal": nominal.reindex(codes).fillna(1.0).to_numpy(),
        "effective": np.where(m["parent"].isna().to_numpy(), 1.0, eff.reindex(codes).to_numpy(dtype="float64")),
        "index_share": index_shares(m, nominal).to_numpy(),
    })


# --------------------------------------------------------------------------- build
#: The stages of a build, in order; ``Pipeline.run(spec, until=...)`` stops after any of them.
STAGES: tuple[str, ...] = ("raw", "denominated", "imputed", "screened", "treated", "normalised",
                           "aggregated")
#: Largest magnitude the stages accept: squares and spans of larger values overflow float64.
MAX_MAGNITUDE = 1e150


def stage_options(part: Any) -> dict[str, Any]:
    """The fields of a frozen stage spec as keyword arguments of its stage function.

    ``transform.normalise(x, meta, **stage_options(spec.normalise))``: a new field of
    :class:`~pmm_lib.core.spec.NormaliseSpec` reaches :func:`pmm_lib.core.transform.normalise`
    without any edit here or in the engine.

    >>> from pmm_lib.core.spec import NormaliseSpec
    >>> stage_options(NormaliseSpec("zscore", mean=50.0, sd=10.0))["sd"]
    10.0
    """
    return {f.name: getattr(part, f.name) for f in dataclasses.fields(part)}


def _normalised_meta(meta: pd.DataFrame, hierarchy: Hierarchy) -> pd.DataFrame:
    """The meta table in hierarchy order (level 1 first), codes as str and levels as int."""
    m = meta.reset_index(drop=True).copy()
    m["code"] = m["code"].astype(str)
    m["level"] = pd.to_numeric(m["level"]).astype(int)
    m = m.set_index("code", drop=False).loc[list(hierarchy.codes)].reset_index(drop=True)
    return m


def _group_labels(data: pd.DataFrame, groups: pd.DataFrame | pd.Series | None, name: str) -> pd.Series:
    if isinstance(groups, pd.Series):
        return groups
    if isinstance(groups, pd.DataFrame) and name in groups.columns:
        return groups[name]
    if name in data.columns:
        return data[name]
    have = list(groups.columns) if isinstance(groups, pd.DataFrame) else []
    raise InputError(f"impute.group: grouping column {name!r} not found", column=name,
                     expected=f"one of {have}" if have else "a column of the groups table")


def _check_magnitude(frame: pd.DataFrame, stage: str) -> None:
    """Refuse values the stages cannot represent: never a silent inf or NaN downstream."""
    x = frame.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        big = np.abs(x) > MAX_MAGNITUDE
    if big.any():
        i, j = (int(v[0]) for v in np.nonzero(big))
        raise InputError(f"{stage}: value {x[i, j]:.6g} for unit {frame.index[i]!r} is too large to process "
                         f"(|x| > {MAX_MAGNITUDE:g}: spans and squares would overflow); rescale the indicator "
                         f"(e.g. report it in thousands or millions)", column=str(frame.columns[j]),
                         expected=f"finite numbers with |x| <= {MAX_MAGNITUDE:g}")


def _check_finite(frame: pd.DataFrame, stage: str) -> None:
    x = frame.to_numpy(dtype=float)
    inf = np.isinf(x)
    if inf.any():  # pragma: no cover - guarded by _check_magnitude; kept as the last line of defence
        i, j = (int(v[0]) for v in np.nonzero(inf))
        raise InputError(f"{stage}: the stage produced an infinite value for unit {frame.index[i]!r}",
                         column=str(frame.columns[j]), expected="finite results")


class Pipeline:
    """The stages of :func:`build` over one input set, each cached by the frozen specs it depends on.

    ``build(data, meta, spec)`` is ``Pipeline(data, meta).run(spec)``. Keep one pipeline to
    build many variants of a spec: a stage is computed once per distinct *prefix* of the spec
    (``normalised`` depends on ``denominate, impute, screen, treat, normalise``; ``treated`` on
    the first four, and so on), so five treatments x two normalisations cost one imputation, five
    treatments and ten normalisations. The Monte Carlo engine calls exactly this (no copy of the
    stage sequence exists anywhere else).

    Parameters
    ----------
    data, meta, groups, denominators, panel, cycle, seed, thresholds
        As in :func:`build`. With ``seed`` a Generator, a cached stochastic stage is reused
        rather than redrawn; pass an int seed for builds that match one by one.

    Examples
    --------
    >>> import dataclasses
    >>> from pmm_lib.core.spec import NormaliseSpec
    >>> meta = pd.DataFrame({"code": ["a", "b", "I"], "level": [1, 1, 2],
    ...                      "parent": ["I", "I", None], "direction": [1, -1, 1], "weight": 1.0})
    >>> pipe = Pipeline(pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [1.0, 3.0, 2.0]}, index=list("XYZ")), meta)
    >>> pipe.run(Spec()).index.tolist()
    [50.0, 25.0, 75.0]
    >>> z = dataclasses.replace(Spec(), normalise=NormaliseSpec("zscore"))
    >>> pipe.stage("normalised", z).round(3)["a"].tolist()
    [-1.0, 0.0, 1.0]
    >>> sorted(k[0] for k in pipe.cached)
    ['denominated', 'imputed', 'normalised', 'normalised', 'screened', 'treated']
    """

    def __init__(self, data: pd.DataFrame, meta: pd.DataFrame, *,
                 groups: pd.DataFrame | pd.Series | None = None,
                 denominators: pd.DataFrame | None = None,
                 panel: Mapping[Any, pd.DataFrame] | None = None, cycle: Any = None,
                 seed: SeedLike = None, thresholds: pd.DataFrame | None = None) -> None:
        if isinstance(meta, pd.DataFrame):
            missing = [c for c in ("code", "level", "parent", "direction", "weight") if c not in meta.columns]
            if missing:
                raise InputError(f"meta: missing column(s) {missing}", column=missing[0],
                                 expected="code, level, parent, direction, weight")
        self.hierarchy = compile_hierarchy(meta)
        self.meta = _normalised_meta(meta, self.hierarchy)
        if not isinstance(data, pd.DataFrame):
            raise InputError(f"build: expected a DataFrame (units x indicators), got {type(data).__name__}")
        leaves = list(self.hierarchy.leaves)
        absent = [c for c in leaves if c not in data.columns]
        if absent:
            raise InputError(f"data lack indicator column(s) {absent[:5]} named in the meta table",
                             column=absent[0])
        self.data = data
        self.raw = transform._as_matrix(data[leaves], "build")
        _check_magnitude(self.raw, "build")
        self.groups, self.denominators, self.panel, self.cycle = groups, denominators, panel, cycle
        self.seed, self.thresholds = seed, thresholds
        self._cache: dict[tuple[Any, ...], tuple[pd.DataFrame, pd.DataFrame]] = {}

    @property
    def cached(self) -> tuple[tuple[Any, ...], ...]:
        """Keys of the cached stages: ``(stage, *spec parts)``."""
        return tuple(self._cache)

    def without(self, code: str) -> Pipeline:
        """The same inputs with one indicator removed from the data and the hierarchy."""
        self.hierarchy.without(code)  # checks that the indicator has a sibling
        meta = self.meta[self.meta["code"] != code].reset_index(drop=True)
        return Pipeline(self.data.drop(columns=[code]), meta, groups=self.groups,
                        denominators=self.denominators, panel=self.panel, cycle=self.cycle,
                        seed=self.seed, thresholds=self.thresholds)

    @staticmethod
    def _key(stage: str, spec: Spec) -> tuple[Any, ...]:
        parts = (spec.denominate, spec.impute, spec.screen, spec.treat, spec.normalise)
        depth = {"denominated": 1, "imputed": 2, "screened": 3, "treated": 4, "normalised": 5}[stage]
        return (stage, *parts[:depth])

    def stage(self, name: str, spec: Spec) -> pd.DataFrame:
        """Units x indicators after stage ``name`` (one of :data:`STAGES` up to ``normalised``)."""
        return self._stage(name, spec)[0]

    def _stage(self, name: str, spec: Spec) -> tuple[pd.DataFrame, pd.DataFrame]:
        if name == "raw":
            return self.raw, transform.empty_log()
        if name not in STAGES[:-1]:
            raise SpecError(f"stage: unknown value {name!r}; allowed: {', '.join(STAGES[:-1])}")
        key = self._key(name, spec)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if name == "denominated":
            out = (transform.denominate(self.raw, self.meta, self.denominators) if spec.denominate
                   else (self.raw, transform.empty_log()))
        elif name == "imputed":
            prev = self.stage("denominated", spec)
            imp = spec.impute
            g = (_group_labels(self.data, self.groups, str(imp.group))
                 if imp.method in ("group_mean", "group_median") else None)
            out = transform.impute(prev, imp.method, groups=g, panel=self.panel, cycle=self.cycle, seed=self.seed)
        elif name == "screened":
            out = transform.screen(self.stage("imputed", spec), spec.screen.min_coverage)
            if out[0].empty:
                raise InputError(f"screen: no unit has at least {spec.screen.min_coverage:.0%} of the indicators",
                                 expected="a lower screen.min_coverage")
        elif name == "treated":
            out = transform.treat(self.stage("screened", spec), **stage_options(spec.treat))
        else:
            out = transform.normalise(self.stage("treated", spec), self.meta, **stage_options(spec.normalise))
            _check_finite(out[0], "normalise")
        self._cache[key] = out
        return out

    def nominal_weights(self, spec: Spec) -> pd.Series:
        """Nominal weights of every code below the top for ``spec`` (normalised within parents)."""
        return nominal_weights(self.meta, spec.weights, self.stage("normalised", spec),
                               base_dir=spec.data.base_dir)

    def aggregate(self, spec: Spec, nominal: pd.Series) -> pd.DataFrame:
        """Units x every code: the normalised indicators and every aggregate (one kernel call)."""
        h = self.hierarchy
        normalised = self.stage("normalised", spec)
        per_level = spec.aggregate_for(h.n_levels)
        w = nominal.reindex(list(h.below_top)).to_numpy(dtype=float)
        levels, _ = agg_mod.aggregate_tree(
            normalised[list(h.leaves)].to_numpy(dtype=float), h, w, [a.method for a in per_level],
            p=[a.p for a in per_level], min_coverage=[a.min_coverage for a in per_level],
            thresholds=self.thresholds)
        data = np.column_stack([levels[lv] for lv in range(1, h.n_levels + 1)])
        out = pd.DataFrame(data, index=normalised.index, columns=list(h.codes))
        _check_finite(out, "aggregate")
        return out

    def run(self, spec: Spec | None = None) -> IndexResult:
        """Every stage of ``spec``: the :class:`IndexResult` :func:`build` returns."""
        spec = Spec() if spec is None else spec
        if not isinstance(spec, Spec):
            raise SpecError(f"spec: expected a pmm_lib.core.spec.Spec, got {type(spec).__name__}")
        tables, logs = {}, []
        for name in STAGES[1:-1]:
            table, lg = self._stage(name, spec)
            tables[name] = table
            if len(lg):
                logs.append(lg)
        nominal = self.nominal_weights(spec)
        aggregated = self.aggregate(spec, nominal)
        ranks = pd.DataFrame(rank_desc(aggregated.to_numpy().T).T, index=aggregated.index,
                             columns=aggregated.columns)
        log = pd.concat(logs, ignore_index=True) if logs else transform.empty_log()
        return IndexResult(spec=spec, meta=self.meta, raw=self.raw, denominated=tables["denominated"],
                           imputed=tables["imputed"], screened=tables["screened"], treated=tables["treated"],
                           normalised=tables["normalised"], aggregated=aggregated, ranks=ranks,
                           nominal=nominal, log=log)


def build(data: pd.DataFrame, meta: pd.DataFrame, spec: Spec | None = None, *,
          groups: pd.DataFrame | pd.Series | None = None,
          denominators: pd.DataFrame | None = None,
          panel: Mapping[Any, pd.DataFrame] | None = None, cycle: Any = None,
          seed: SeedLike = None, thresholds: pd.DataFrame | None = None) -> IndexResult:
    """Build an index: run every stage of ``spec`` on ``data``.

    Parameters
    ----------
    data : DataFrame
        Units x level-1 indicators (index = unit code); other columns (e.g. grouping
        variables) are ignored except as group labels.
    meta : DataFrame
        The hierarchy: ``code, level, parent, direction, weight`` (plus optional ``lower,
        upper, target, denominator`` used by goalposts, distance_to_target, denominate),
        validated by :func:`pmm_lib.core.hierarchy.compile_hierarchy`.
    spec : Spec, optional
        Default ``Spec()`` (no imputation or treatment, min-max 0-100, meta weights,
        arithmetic means).
    groups : DataFrame or Series, optional
        Grouping columns (units x columns) or one unit -> label Series, for group imputation.
    denominators : DataFrame, optional
        Units x denominator columns, for ``spec.denominate``.
    panel, cycle : optional
        Other cycles' matrices (cycle -> units x indicators) and the current cycle, for
        panel imputation.
    seed : int, Generator or None
        For stochastic stages (iterative imputation).
    thresholds : DataFrame, optional
        Grade thresholds for the graded aggregation rules ``m1``/``m2``.

    Returns
    -------
    IndexResult

    Raises
    ------
    SpecError
        A degenerate hierarchy (a top node with a parent, two top nodes, a cycle, an orphan code),
        an invalid spec.
    InputError
        Missing indicator columns, infinite values, magnitudes above :data:`MAX_MAGNITUDE`.

    Notes
    -----
    Stages run in COINr's order: denominate, impute, screen, treat, normalise, weights,
    aggregate (:class:`Pipeline`; :data:`STAGES`). Screening therefore counts imputed values as
    present (as COINr does); with ``impute: none`` (the PMM default) it screens on what Members
    reported. Ranks are computed at every level with 1 = highest score and ties sharing the
    lowest rank (:func:`pmm_lib.core.rank.rank_desc`).

    Examples
    --------
    >>> meta = pd.DataFrame({"code": ["a", "b", "I"], "level": [1, 1, 2],
    ...                      "parent": ["I", "I", None], "direction": [1, -1, 1], "weight": 1.0})
    >>> d = pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [1.0, 3.0, 2.0]}, index=list("XYZ"))
    >>> build(d, meta).index.tolist()
    [50.0, 25.0, 75.0]
    """
    spec = Spec() if spec is None else spec
    if not isinstance(spec, Spec):
        raise SpecError(f"spec: expected a pmm_lib.core.spec.Spec, got {type(spec).__name__}")
    return Pipeline(data, meta, groups=groups, denominators=denominators, panel=panel, cycle=cycle,
                    seed=seed, thresholds=thresholds).run(spec)


# --------------------------------------------------------------------------- loaders
def pmm_inputs(spec: Spec, *, region: str | None = None, cycle: int | None = None,
               observations: pd.DataFrame | None = None, framework_path: str | Path | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The PMM matrix, hierarchy and build options for one region and cycle (the one PMM loader).

    Loads the framework (its full table is the meta: bounds feed goalposts and targets), the
    observations (:func:`pmm_lib.inputs.data.load_observations` unless given) through
    :func:`pmm_lib.inputs.data.to_matrix`, the Members' grouping columns for group imputation,
    and, for panel imputation, the same region's other cycles.

    Parameters
    ----------
    spec : Spec
        ``region``/``cycle`` override ``spec.data``; the cycle defaults to the latest observed.
    framework_path : str or Path, optional
        A framework or candidate file (:func:`pmm_lib.inputs.candidates.load_design`); default the
        project's framework. A candidate's observations are mapped onto its KPIs.

    Returns
    -------
    data : DataFrame
        Members x KPIs.
    meta : DataFrame
        The framework table.
    build_options : dict
        Keyword arguments of :func:`build` (``cycle`` and, as the spec needs them, ``groups``, ``panel``).

    Raises
    ------
    InputError
        No observations, or none for the requested cycle (naming the cycles there are).
    SpecError
        An unknown Member grouping column for group imputation.
    """
    from pmm_lib.inputs import data as data_mod
    from pmm_lib.inputs.candidates import load_design

    fw = load_design(framework_path)
    obs = data_mod.load_observations() if observations is None else observations
    region = region if region is not None else spec.data.region
    cycles = sorted(int(c) for c in pd.unique(obs["cycle"]))
    if not cycles:
        raise InputError("no observations", column="cycle")
    cycle = cycle if cycle is not None else (spec.data.cycle if spec.data.cycle is not None else cycles[-1])
    if int(cycle) not in cycles:
        raise InputError(f"no observations for cycle {cycle}", column="cycle",
                         expected=f"one of {', '.join(map(str, cycles))}")
    matrix = data_mod.to_matrix(obs, int(cycle), region, framework_path=framework_path)
    options: dict[str, Any] = {"cycle": int(cycle)}
    if spec.impute.method in ("group_mean", "group_median"):
        members = data_mod.load_members().set_index("member")
        if spec.impute.group not in members.columns:
            raise SpecError(f"impute.group: unknown Member grouping column {spec.impute.group!r}; "
                            f"allowed: {', '.join(c for c in members.columns if c not in ('name',))}")
        options["groups"] = members.reindex(matrix.index)
    if spec.impute.method == "panel":
        options["panel"] = {c: data_mod.to_matrix(obs, c, region, framework_path=framework_path)
                            for c in cycles if c != int(cycle)}
    return matrix, fw.table(), options


def build_pmm(spec: Spec | None = None, *, region: str | None = None, cycle: int | None = None,
              observations: pd.DataFrame | None = None, seed: SeedLike = None,
              framework_path: str | Path | None = None) -> IndexResult:
    """Build the PMM index for one region and cycle from the observations (:func:`pmm_inputs`, then :func:`build`).

    Parameters
    ----------
    spec : Spec, optional
        Default :meth:`Spec.default`. ``region``/``cycle`` override ``spec.data``.
    framework_path : str or Path, optional
        A framework or candidate file (see :func:`pmm_inputs`).
    """
    spec = Spec.default() if spec is None else spec
    matrix, meta, options = pmm_inputs(spec, region=region, cycle=cycle, observations=observations,
                                       framework_path=framework_path)
    return build(matrix, meta, spec, seed=seed, **options)


def build_from_spec_file(path: str | Path, *, seed: SeedLike = None) -> IndexResult:
    """Build the index a spec file describes (PMM or COINr-format data).

    For ``data.format: coinr`` the ``idata``/``imeta`` paths are relative to the spec file.
    """
    spec = Spec.from_yaml(path)
    if spec.data.format == "coinr":
        from pmm_lib.inputs.coinr import load_coinr

        idata, imeta = spec.data.resolve(spec.data.idata), spec.data.resolve(spec.data.imeta)
        if idata is None or imeta is None:
            raise SpecError(f"{path}: data.format 'coinr' needs data.idata and data.imeta")
        ds = load_coinr(idata, imeta, time=spec.data.cycle)
        return build(ds.data, ds.meta, spec, groups=ds.groups, denominators=ds.denominators,
                     panel=ds.panel or None, cycle=ds.time, seed=seed)
    return build_pmm(spec, seed=seed)
