"""The workshop's live index: what-if scores and ranks computed by the method core.

This module owns the data a workshop room looks at (one region and cycle, normalised once
by :func:`pmm_lib.core.build.build`, on the values the session's audience may see) and the hot path of
the participants' app: turning weight-point blocks into scores and ranks. Aggregation is
*not* reimplemented here: every evaluation calls
:func:`pmm_lib.core.aggregate.aggregate_hierarchy` with the spec's aggregation method and
``min_coverage``, so the workshop ranks are exactly those of ``pmm index`` with the same
weights.

Weights: a block ``{"PMM": {dim: points}}`` sets the dimension weights; a KPI block
``{dim: {kpi: points}}`` sets that dimension's KPI weights and each of its outcomes gets the
sum of its KPIs' points (:func:`pmm_lib.workshop.exercise.points_to_explicit`); everything
not set keeps the spec's nominal weights. Weights are re-normalised within each parent.

Examples
--------
>>> import pandas as pd
>>> from pmm_lib.inputs.framework import load_framework
>>> fw = load_framework()
>>> x = pd.DataFrame(50.0, index=["AAA", "BBB"], columns=fw.kpi_codes)
>>> x.loc["AAA"] = 80.0
>>> live = LiveIndex(x, fw)
>>> live.ranking({"PMM": {"TF": 40, "RC": 30, "ES": 20, "OD": 10}})["member"].tolist()
['AAA', 'BBB']
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from pmm_lib.core.aggregate import aggregate_hierarchy
from pmm_lib.core.rank import rank_desc
from pmm_lib.errors import InputError, PmmError, SpecError
from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.vocab import REGIONS
from pmm_lib.workshop.exercise import BUDGET, TOP_BLOCK, default_points

__all__ = [
    "OUTCOME_CHOICES",
    "LiveIndex",
    "OutcomeChoice",
    "load_live_index",
    "outcome_series",
    "shared_live_index",
]


@dataclass(frozen=True)
class OutcomeChoice:
    """A trade-cost outcome offered in the app: variable, year, transform and the expected sign.

    ``label`` is the string-catalogue key of its plain-language name
    (:mod:`pmm_lib.workshop.i18n`).
    """

    label: str
    variable: str
    year: int
    transform: Literal["identity", "log1p"] = "identity"
    better: Literal["higher", "lower"] = "higher"

    def __post_init__(self) -> None:
        for name, allowed in (("transform", ("identity", "log1p")), ("better", ("higher", "lower"))):
            if getattr(self, name) not in allowed:
                raise SpecError(f"OutcomeChoice {self.label!r}: {name} {getattr(self, name)!r} is not one of "
                                f"{', '.join(allowed)}")


OUTCOME_CHOICES: tuple[OutcomeChoice, ...] = (
    OutcomeChoice("out_lpi_customs_2018", "lpi_customs", 2018),
    OutcomeChoice("out_lpi_overall_2018", "lpi_overall", 2018),
    OutcomeChoice("out_db_import_border_2020", "db_time_import_border_h", 2020, "log1p", "lower"),
    OutcomeChoice("out_db_import_doc_2020", "db_time_import_doc_h", 2020, "log1p", "lower"),
    OutcomeChoice("out_db_export_border_2020", "db_time_export_border_h", 2020, "log1p", "lower"),
    OutcomeChoice("out_lpi_customs_2023", "lpi_customs", 2023),
)


def outcome_series(outcomes: pd.DataFrame, choice: OutcomeChoice) -> pd.Series:
    """One outcome as a Series indexed by member (tidy ``member, year, variable, value`` in).

    Returns an empty Series when the variable/year is absent; ``log1p`` outcomes are
    ``log(1 + max(v, 0))``.
    """
    sel = outcomes.loc[(outcomes["variable"] == choice.variable) & (outcomes["year"] == choice.year)]
    s = sel.drop_duplicates("member", keep="last").set_index("member")["value"].astype(float)
    if choice.transform == "log1p":
        s = pd.Series(np.log1p(s.clip(lower=0).to_numpy()), index=s.index)
    s.name = choice.label
    return s


def _dim_of(fw: Framework) -> dict[str, str]:
    out_parent = {o.code: str(o.parent) for o in fw.outcomes}
    return {k.code: out_parent[k.parent] for k in fw.kpis}


class LiveIndex:
    """Fast what-if index for the workshop, aggregated by the method core.

    Parameters
    ----------
    normalised : DataFrame
        Members × KPI codes (higher = better), e.g. ``build(...).normalised``; KPIs of the
        framework that are absent are treated as missing for every member.
    framework : Framework, optional
    names : Series, optional
        Member → display name (e.g. real names, or pseudonyms for a public audience).
    method : str or sequence of str
        Aggregation method(s) of :func:`pmm_lib.core.aggregate.aggregate_hierarchy`.
    min_coverage : float
        Passed to the core: an aggregate is missing when less than this share of its
        children's weight is available.
    p : float, optional
        Power of the generalised mean.
    nominal : Series, optional
        Code → nominal weight the groups start from (default: the framework weights).

    Notes
    -----
    One evaluation is one call of ``aggregate_hierarchy`` on the members × KPIs matrix:
    about 3 ms for 180 members and 40 KPIs here.
    """

    def __init__(self, normalised: pd.DataFrame, framework: Framework | None = None, *,
                 names: pd.Series | None = None, method: str | list[str] = "arithmetic",
                 min_coverage: float = 0.0, p: float | None = None, nominal: pd.Series | None = None):
        fw = framework if framework is not None else load_framework()
        self.framework = fw
        kpis = fw.kpi_codes
        unknown = [c for c in normalised.columns if c not in kpis]
        if unknown:
            raise InputError(f"normalised matrix has columns that are not framework KPIs: {unknown}",
                             expected=f"KPI codes among {', '.join(kpis)}")
        self.members = [str(m) for m in normalised.index]
        self._x = normalised.reindex(columns=kpis).astype(float)
        self._x.index = self.members
        self.names = (names.reindex(self.members).fillna(pd.Series(self.members, index=self.members))
                      if names is not None else pd.Series(self.members, index=self.members))
        self.meta = fw.meta()
        self.method = method
        self.min_coverage = float(min_coverage)
        self.p = p
        self.dims = [d.code for d in fw.dimensions]
        self.top = fw.index.code
        dim_of = _dim_of(fw)
        self.kpis_of: dict[str, list[str]] = {d: [k for k in kpis if dim_of[k] == d] for d in self.dims}
        self.outcomes_of: dict[str, list[str]] = {d: [o.code for o in fw.outcomes if o.parent == d]
                                                  for d in self.dims}
        base = self.meta.set_index("code")["weight"].astype(float)
        if nominal is not None:
            base.loc[nominal.index] = nominal.astype(float).to_numpy()
        self.nominal = base
        dim_w = [float(base[d]) for d in self.dims]
        self.default_dim_points = default_points(dim_w)
        self.default_kpi_points = {d: default_points(self._kpi_shares(d)) for d in self.dims}
        self.default_score_array = self._aggregate(self.nominal)[self.top].to_numpy(dtype=float)
        self.default_rank_array = self.rank_array(self.default_score_array)
        self._outcome_cache: tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray, str]]] | None = None

    def outcome_arrays(self, outcomes: pd.DataFrame | None, *, min_n: int = 3
                       ) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
        """The :data:`OUTCOME_CHOICES` with at least ``min_n`` Members, aligned to :attr:`members`.

        Returns ``{label: (positions, values, better)}``: the positions in :attr:`members` of the
        Members that have the outcome, their (transformed) values and the expected direction.
        Computed once per outcomes table and kept (every participant of a room asks for the
        same one: the server builds it once, not once per page).
        """
        if outcomes is None or outcomes.empty:
            return {}
        cached = self._outcome_cache
        if cached is not None and cached[0] is outcomes and min_n == 3:
            return cached[1]
        out: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
        for choice in OUTCOME_CHOICES:
            s = outcome_series(outcomes, choice).reindex(self.members)
            pos = np.flatnonzero(s.notna().to_numpy())
            if pos.size >= min_n:
                out[choice.label] = (pos, s.to_numpy(dtype=float)[pos], choice.better)
        if min_n == 3:
            self._outcome_cache = (outcomes, out)
        return out

    def _kpi_shares(self, dim: str) -> list[float]:
        """Each KPI's nominal share within its dimension (KPI-in-outcome × outcome-in-dimension)."""
        w = self.nominal
        outs = self.outcomes_of[dim]
        osum = sum(float(w[o]) for o in outs)
        shares = []
        for o in outs:
            ks = [k.code for k in self.framework.kpis if k.parent == o]
            ksum = sum(float(w[k]) for k in ks)
            shares += [float(w[k]) / ksum * float(w[o]) / osum if ksum > 0 and osum > 0 else 0.0 for k in ks]
        return shares

    # ------------------------------------------------------------------ weights
    def weights(self, blocks: Mapping[str, Mapping[str, float]]) -> pd.Series:
        """Nominal weights of every code for weight-point blocks (the core's ``weights=``).

        Blocks need not sum to 100 (the app evaluates drafts); every block must have a
        positive sum. Dimensions get ``points / 100``; a KPI block sets its KPIs' points and
        each outcome the sum of its KPIs' points (an outcome whose KPIs all have 0 gets 0 and
        its KPIs keep their nominal weights).
        """
        w = self.nominal.copy()
        top = blocks[TOP_BLOCK]
        for d in self.dims:
            w[d] = float(top[d]) / BUDGET
        if sum(float(top[d]) for d in self.dims) <= 0:
            raise SpecError("the dimension points are all zero")
        for dim, pts in blocks.items():
            if dim == TOP_BLOCK:
                continue
            if dim not in self.kpis_of:
                raise SpecError(f"unknown block {dim!r}; expected {TOP_BLOCK!r} or one of {', '.join(self.dims)}")
            for o in self.outcomes_of[dim]:
                ks = [k.code for k in self.framework.kpis if k.parent == o]
                osum = sum(float(pts[k]) for k in ks)
                w[o] = osum / BUDGET
                if osum > 0:
                    for k in ks:
                        w[k] = float(pts[k]) / BUDGET
        return w

    def _aggregate(self, weights: pd.Series) -> pd.DataFrame:
        return aggregate_hierarchy(self._x, self.meta, method=self.method, weights=weights, p=self.p,
                                   min_coverage=self.min_coverage)

    def aggregated(self, blocks: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
        """Members × every code of the framework (KPIs, outcomes, dimensions, index) for ``blocks``."""
        return self._aggregate(self.weights(blocks))

    def score_array(self, blocks: Mapping[str, Mapping[str, float]]) -> np.ndarray:
        """Index scores (ndarray, member order) for weight-point blocks: the app's hot path."""
        return self.aggregated(blocks)[self.top].to_numpy(dtype=float)

    def dimension_scores(self, blocks: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
        """Members × dimensions scores (framework weights when ``blocks`` is None)."""
        agg = self._aggregate(self.nominal) if blocks is None else self.aggregated(blocks)
        return agg[self.dims]

    def scores(self, blocks: Mapping[str, Mapping[str, float]]) -> pd.Series:
        """Index score per member for weight-point blocks (only ``PMM`` required)."""
        return pd.Series(self.score_array(blocks), index=self.members, name="score")

    @staticmethod
    def rank_array(scores: np.ndarray) -> np.ndarray:
        """Ranks, 1 = best, ties share the smallest rank ('min'); NaN scores get NaN."""
        return rank_desc(scores)

    def ranking(self, blocks: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
        """Ranks under ``blocks`` against the framework defaults.

        Returns
        -------
        DataFrame
            Sorted by rank: ``member, name, score, rank, default_score, default_rank,
            rank_shift`` (``default_rank - rank``: positive = moves up).
        """
        s = self.score_array(blocks)
        r = self.rank_array(s)
        out = pd.DataFrame({"member": self.members, "name": self.names.to_numpy(), "score": s,
                            "rank": r, "default_score": self.default_score_array,
                            "default_rank": self.default_rank_array})
        out["rank_shift"] = out["default_rank"] - out["rank"]
        return out.sort_values(["rank", "member"], kind="stable", na_position="last").reset_index(drop=True)

    @staticmethod
    def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """Spearman's rho of two aligned arrays over pairs where both are present: ``(rho, n)``.

        rho is Pearson's r of the average ranks (ties averaged); NaN when n < 3 or a side is constant.
        """
        ok = ~(np.isnan(x) | np.isnan(y))
        n = int(ok.sum())
        if n < 3:
            return float("nan"), n
        rx, ry = stats.rankdata(x[ok]), stats.rankdata(y[ok])
        rx, ry = rx - rx.mean(), ry - ry.mean()
        den = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
        return (float((rx * ry).sum() / den) if den > 0 else float("nan")), n

    def correlation(self, scores: pd.Series, outcome: pd.Series) -> dict[str, float]:
        """Spearman correlation of index scores with an outcome over members having both.

        Returns ``{"estimate": rho, "p_value": p, "n": n}`` (NaN when n < 3).
        """
        both = pd.concat([scores.rename("s"), outcome.rename("o")], axis=1, join="inner").dropna()
        n = len(both)
        if n < 3 or both["s"].nunique() < 2 or both["o"].nunique() < 2:
            return {"estimate": float("nan"), "p_value": float("nan"), "n": float(n)}
        res = stats.spearmanr(both["s"], both["o"])
        return {"estimate": float(res.statistic), "p_value": float(res.pvalue), "n": float(n)}

    @classmethod
    def from_build(cls, matrix: pd.DataFrame, framework: Framework | None = None, *, spec: Any = None,
                   names: pd.Series | None = None, disclosure: pd.DataFrame | None = None,
                   audience: str = "wco") -> LiveIndex:
        """Normalise ``matrix`` with the method core (:func:`pmm_lib.core.build.build`) and precompute.

        The spec's aggregation (method, ``p``, ``min_coverage``) and nominal weights are kept.
        Every value of ``matrix`` enters the build: this is the ``internal`` edition. An
        audience that may not see some values gets :meth:`from_view` (masking normalised values
        after a build on all values would leak them through the normalisation bounds and the
        imputation), so ``disclosure`` is accepted only with ``audience="internal"``, where it
        hides nothing.

        Raises
        ------
        SpecError
            ``disclosure`` given for an audience other than ``internal``.
        """
        from pmm_lib.core.build import build

        if disclosure is not None and audience != "internal":
            raise SpecError(f"LiveIndex.from_build builds on every value: the {audience!r} audience's live "
                            "index must be built on its view, LiveIndex.from_view(audience_view(...))")
        fw = framework if framework is not None else load_framework()
        result = build(matrix, fw.meta(), spec) if spec is not None else build(matrix, fw.meta())
        return cls._from_result(result, fw, names)

    @classmethod
    def from_view(cls, view: Any, spec: Any = None, *, names: pd.Series | None = None) -> LiveIndex:
        """The live index of an audience: built on what it may see (:meth:`AudienceView.build`).

        Hidden values are missing before any stage runs, so normalisation bounds, imputed values
        and scores are functions of the visible values only, exactly the audience's numbers of
        the rest of the product. The framework is restricted to the view's KPIs
        (:attr:`AudienceView.kpis`, :meth:`AudienceView.meta`): KPIs with too few visible
        values are not offered in the KPI blocks and aggregates left without KPIs go too.

        Parameters
        ----------
        view : AudienceView
            :func:`pmm_lib.reporting.disclosure.audience_view` of the region and cycle.
        spec : Spec, optional
            Default ``Spec()`` (as :meth:`from_build`).
        names : Series, optional
            Member → displayed name (default: :meth:`AudienceView.labels`).
        """
        from pmm_lib.core.spec import Spec
        from pmm_lib.inputs.candidates import load_design

        result = view.build(Spec() if spec is None else spec)
        fw = _restrict(load_design(view.framework_path), view.kpis)
        if names is None:
            names = pd.Series(view.labels())
        return cls._from_result(result, fw, names)

    @classmethod
    def _from_result(cls, result: Any, fw: Framework, names: pd.Series | None) -> LiveIndex:
        per_level = result.spec.aggregate_for(int(result.meta["level"].max()))
        if len({(a.p, a.min_coverage) for a in per_level}) != 1:
            raise SpecError("the workshop needs one p and one min_coverage for every aggregation level")
        return cls(result.normalised, fw, names=names, method=[a.method for a in per_level],
                   min_coverage=per_level[0].min_coverage, p=per_level[0].p, nominal=result.nominal)


def _restrict(fw: Framework, kpis: list[str]) -> Framework:
    """``fw`` restricted to ``kpis`` and the aggregates above them
    (:func:`pmm_lib.reporting.disclosure.prune_meta`, the hierarchy of the audience's edition)."""
    from dataclasses import replace

    from pmm_lib.reporting.disclosure import prune_meta

    keep = set(prune_meta(fw.meta(), kpis)["code"])
    if fw.index.code not in keep:
        raise InputError("the audience may see too few values for a live index (no KPI has enough visible values)")
    def pruned(node: Any) -> Any:   # an aggregate's children: only those the view keeps
        return replace(node, children=tuple(c for c in node.children if c in keep))

    return replace(fw, index=pruned(fw.index), kpis=tuple(k for k in fw.kpis if k.code in keep),
                   outcomes=tuple(pruned(o) for o in fw.outcomes if o.code in keep),
                   dimensions=tuple(pruned(d) for d in fw.dimensions if d.code in keep))


def load_live_index(region: str, cycle: int, *, audience: str = "wco", spec: Any = None
                    ) -> tuple[LiveIndex, pd.DataFrame | None]:
    """The workshop's data: a :class:`LiveIndex` for one region and cycle, and the outcomes.

    Reads observations and members through :mod:`pmm_lib.inputs.data` and builds with the
    method core (default ``Spec()``, or ``spec``): the ``internal`` audience on every value
    (:meth:`LiveIndex.from_build`), any other on its view
    (:func:`pmm_lib.reporting.disclosure.audience_view`, :meth:`LiveIndex.from_view`): hidden
    values are missing before normalisation and imputation, and only the KPIs of the
    audience's edition are offered. A ``public`` audience sees Members by their keyed pseudonyms
    (:func:`pmm_lib.reporting.disclosure.member_labels`; raises without the secret key),
    the others by name.

    Returns ``(live, outcomes)``; outcomes is the tidy outcome table or None when it cannot
    be loaded.
    """
    from pmm_lib.inputs import data
    from pmm_lib.reporting.disclosure import audience_view, check_audience

    check_audience(audience)
    fw = load_framework()
    obs = data.load_observations()
    reg = None if region in (None, "", "ALL") else region
    matrix = data.to_matrix(obs, cycle, reg)
    if matrix.empty:
        raise InputError(f"no observations for region {region!r} and cycle {cycle}",
                         expected="a region among ALL, " + ", ".join(REGIONS) + " and a reported cycle")
    names = None
    if audience != "public":
        with contextlib.suppress(PmmError, OSError, KeyError):
            members = data.load_members()
            names = members.set_index("member")["name"].astype(str)
    if audience == "internal":
        live = LiveIndex.from_build(matrix, fw, spec=spec, names=names)
    else:
        # public: names=None -> the view's keyed pseudonyms (raises without the secret key)
        live = LiveIndex.from_view(audience_view(obs, cycle, reg, audience), spec, names=names)
    outcomes = None
    with contextlib.suppress(PmmError, OSError, KeyError):
        outcomes = data.load_outcomes()
    return live, outcomes


@functools.lru_cache(maxsize=8)
def shared_live_index(region: str, cycle: int, audience: str = "wco"
                      ) -> tuple[LiveIndex, pd.DataFrame | None]:
    """:func:`load_live_index`, computed once per process and shared by every participant.

    The server builds the index once; 50 sessions then share one copy (read-only).
    """
    return load_live_index(region, cycle, audience=audience)
