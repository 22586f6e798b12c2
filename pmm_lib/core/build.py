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

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.core import transform
from pmm_lib.core.spec import Spec, WeightSpec
from pmm_lib.errors import InputError, SpecError
from pmm_lib.seed import SeedLike

__all__ = [
    "IndexResult",
    "build",
    "build_from_spec_file",
    "build_pmm",
    "index_shares",
    "nominal_weights",
]

_META_REQUIRED = ("code", "level", "parent", "direction", "weight")


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
def _check_meta(meta: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(meta, pd.DataFrame):
        raise InputError("meta: expected a DataFrame", expected=", ".join(_META_REQUIRED))
    missing = [c for c in _META_REQUIRED if c not in meta.columns]
    if missing:
        raise InputError(f"meta: missing column(s) {missing}", column=missing[0],
                         expected=", ".join(_META_REQUIRED))
    m = meta.reset_index(drop=True).copy()
    m["code"] = m["code"].astype(str)
    m["level"] = pd.to_numeric(m["level"], errors="coerce")
    if m["level"].isna().any():
        raise InputError("meta: every row needs a numeric level", column="level")
    m["level"] = m["level"].astype(int)
    return m.sort_values("level", kind="stable").reset_index(drop=True)


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
        upper, target, denominator`` used by goalposts, distance_to_target, denominate).
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

    Notes
    -----
    Stages run in COINr's order: denominate, impute, screen, treat, normalise, weights,
    aggregate. Screening therefore counts imputed values as present (as COINr does); with
    ``impute: none`` (the PMM default) it screens on what Members reported. Ranks are
    computed at every level with 1 = highest score and ties sharing the lowest rank.

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
    m = _check_meta(meta)
    leaves = m.loc[m["level"] == 1, "code"].tolist()
    absent = [c for c in leaves if c not in data.columns]
    if absent:
        raise InputError(f"data lack indicator column(s) {absent[:5]} named in the meta table",
                         column=absent[0])
    raw = transform._as_matrix(data[leaves], "build")
    logs = []

    if spec.denominate:
        den, lg = transform.denominate(raw, m, denominators)
        logs.append(lg)
    else:
        den = raw
    imp_spec = spec.impute
    g = None
    if imp_spec.method in ("group_mean", "group_median"):
        g = _group_labels(data, groups, str(imp_spec.group))
    imputed, lg = transform.impute(den, imp_spec.method, groups=g, panel=panel, cycle=cycle, seed=seed)
    logs.append(lg)
    screened, lg = transform.screen(imputed, spec.screen.min_coverage)
    logs.append(lg)
    if screened.empty:
        raise InputError(f"screen: no unit has at least {spec.screen.min_coverage:.0%} of the indicators",
                         expected="a lower screen.min_coverage")
    t = spec.treat
    treated, lg = transform.treat(screened, t.method, winmax=t.winmax, skew=t.skew, kurtosis=t.kurtosis,
                                  fallback=t.fallback, overrides=t.overrides)
    logs.append(lg)
    n = spec.normalise
    normalised, lg = transform.normalise(treated, m, n.method, low=n.low, high=n.high, mean=n.mean,
                                         sd=n.sd, targets=n.targets)
    logs.append(lg)

    nominal = nominal_weights(m, spec.weights, normalised, base_dir=spec.data.base_dir)
    aggregated = _aggregate(normalised, m, spec, nominal, thresholds)
    ranks = aggregated.rank(ascending=False, method="min", na_option="keep")
    logs = [lg for lg in logs if len(lg)]
    log = pd.concat(logs, ignore_index=True) if logs else transform.empty_log()
    return IndexResult(spec=spec, meta=m, raw=raw, denominated=den, imputed=imputed, screened=screened,
                       treated=treated, normalised=normalised, aggregated=aggregated, ranks=ranks,
                       nominal=nominal, log=log)


def _aggregate(normalised: pd.DataFrame, m: pd.DataFrame, spec: Spec, nominal: pd.Series,
               thresholds: pd.DataFrame | None) -> pd.DataFrame:
    """Adapter onto :func:`pmm_lib.core.aggregate.aggregate_hierarchy`.

    That function takes one ``p`` and one ``min_coverage`` for the whole tree; when the
    spec gives different ones per level, each level is aggregated by its own call on a
    two-level slice of the hierarchy.
    """
    from pmm_lib.core import aggregate as agg_mod

    top = int(m["level"].max())
    if top < 2:
        raise InputError("meta: the hierarchy needs at least one aggregate above the indicators",
                         column="level")
    per_level = spec.aggregate_for(top)
    methods = [a.method for a in per_level]
    w = nominal.copy()
    if len({(a.p, a.min_coverage) for a in per_level}) == 1:
        return agg_mod.aggregate_hierarchy(normalised, m, method=methods, weights=w, p=per_level[0].p,
                                           min_coverage=per_level[0].min_coverage, thresholds=thresholds)
    cols = {c: normalised[c] for c in normalised.columns}
    for level, a in zip(range(2, top + 1), per_level, strict=True):
        sub = m[m["level"].isin([level - 1, level])].copy()
        sub["level"] = sub["level"] - (level - 2)
        sub.loc[sub["level"] == 2, "parent"] = None
        below = sub.loc[sub["level"] == 1, "code"].tolist()
        x = pd.DataFrame({c: cols[c] for c in below}, index=normalised.index)
        out = agg_mod.aggregate_hierarchy(x, sub, method=a.method, weights=w.reindex(below), p=a.p,
                                          min_coverage=a.min_coverage, thresholds=thresholds)
        for c in sub.loc[sub["level"] == 2, "code"]:
            cols[c] = out[c]
    return pd.DataFrame({c: cols[c] for c in m["code"]}, index=normalised.index)


# --------------------------------------------------------------------------- loaders
def build_pmm(spec: Spec | None = None, *, region: str | None = None, cycle: int | None = None,
              observations: pd.DataFrame | None = None, seed: SeedLike = None) -> IndexResult:
    """Build the PMM index for one region and cycle from the observations.

    Loads the framework (its full table is the meta: bounds feed goalposts and targets),
    the observations (:func:`pmm_lib.inputs.data.load_observations` unless given) through
    :func:`pmm_lib.inputs.data.to_matrix`, the Members' grouping columns for group imputation, and,
    for panel imputation, the same region's other cycles.

    Parameters
    ----------
    spec : Spec, optional
        Default :meth:`Spec.default`. ``region``/``cycle`` override ``spec.data``.
    """
    from pmm_lib.inputs import data as data_mod
    from pmm_lib.inputs.framework import load_framework

    spec = Spec.default() if spec is None else spec
    fw = load_framework()
    obs = data_mod.load_observations() if observations is None else observations
    region = region if region is not None else spec.data.region
    cycles = sorted(int(c) for c in pd.unique(obs["cycle"]))
    if not cycles:
        raise InputError("no observations", column="cycle")
    cycle = cycle if cycle is not None else (spec.data.cycle if spec.data.cycle is not None else cycles[-1])
    matrix = data_mod.to_matrix(obs, int(cycle), region)
    meta = fw.table()
    groups = None
    if spec.impute.method in ("group_mean", "group_median"):
        members = data_mod.load_members().set_index("member")
        if spec.impute.group not in members.columns:
            raise SpecError(f"impute.group: unknown Member grouping column {spec.impute.group!r}; "
                            f"allowed: {', '.join(c for c in members.columns if c not in ('name',))}")
        groups = members.reindex(matrix.index)
    panel = None
    if spec.impute.method == "panel":
        panel = {}
        for c in cycles:
            if c != int(cycle):
                other = data_mod.to_matrix(obs, c, region)
                panel[c] = other
    return build(matrix, meta, spec, groups=groups, panel=panel, cycle=int(cycle), seed=seed)


def build_from_spec_file(path: str | Path, *, seed: SeedLike = None) -> IndexResult:
    """Build the index a spec file describes (PMM or COINr-format data).

    For ``data.format: coinr`` the ``idata``/``imeta`` paths are relative to the spec file.
    """
    spec = Spec.from_yaml(path)
    if spec.data.format == "coinr":
        from pmm_lib.inputs.coinr import load_coinr

        ds = load_coinr(spec.data.resolve(spec.data.idata), spec.data.resolve(spec.data.imeta),
                        time=spec.data.cycle)
        return build(ds.data, ds.meta, spec, groups=ds.groups, denominators=ds.denominators,
                     panel=ds.panel or None, cycle=ds.time, seed=seed)
    return build_pmm(spec, seed=seed)
