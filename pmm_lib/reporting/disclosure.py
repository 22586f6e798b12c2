"""Disclosure control: what each audience may see of a Member's KPI values.

Each Member chooses, per KPI and cycle, whether a value is ``public``, ``wco`` (WCO Secretariat
and Members only) or ``restricted`` (the Member itself and the methodology team). Every table,
figure and paper carries an audience:

========== =========================================================
audience   Member-level KPI values it may contain
========== =========================================================
public     values marked ``public``
wco        values marked ``public`` or ``wco``
internal   everything (the methodology team's working papers)
========== =========================================================

The disclosure model (correct by construction)
---------------------------------------------
Every number in an audience's artefacts is a function of the values that audience may see:

1. **The audience view.** :func:`audience_view` drops every observation the audience may not see
   (of every cycle: panel imputation reads other cycles) and keeps, separately, *whether* a value
   was reported (coverage says that a value exists, never what it is). Every per-KPI statistic
   (correlations, alpha and alpha-if-deleted, item-rest, loadings, effective weights, outlier and
   distribution tables, regressions on KPIs) and every composite score of an audience's run is
   computed from :attr:`AudienceView.observations` (:meth:`AudienceView.build`): a hidden value
   is a skipped value. Normalisation bounds, winsorisation limits, imputed values and z-score
   means are therefore functions of visible values too, which the threshold rule alone does not
   give (a min-max bound set by a hidden value moves every Member's score).
2. **Composite scores.** Under (1) no composite of an audience's run pools a hidden value, so the
   threshold rule ("at least ``min_n`` hidden contributors, or none") holds with *none*.
   :func:`mask_aggregates` keeps the rule for full-data composites; they must not be published.
3. **Groups.** A statistic of a group of Members (a regional or income-group mean, a share of
   skips) is published only if the group has at least ``min_n`` Members (:func:`group_aggregate`,
   :func:`suppress_small_groups`).
4. **Presentation.** Tables of a public or wco run are rounded to :data:`PRESENTATION_DIGITS`
   significant digits (:func:`present`), in the CSV as in the paper; by (1) the rounding is a
   second line of defence, not the protection.
5. **Pseudonyms.** A public artefact names Members by ``HMAC-SHA256(key, cycle | ISO3)`` with a
   secret key from ``PMM_PSEUDONYM_KEY`` or the file named by ``PMM_PSEUDONYM_KEY_FILE``
   (:func:`pseudonym_key`, outside the repository and the run folder); a public or wco run
   refuses to start without one.

Residual risk: the view reveals *that* a Member reported a KPI (coverage, missingness) and how
many values are hidden; a Member that hides a KPI is scored without it (its composites differ
from the internal edition); an audience that also holds another audience's artefacts learns
what that audience may see, nothing more; a reader who knows a Member's hidden value from
elsewhere learns nothing new from the run.

Reference: Hundepool, A. et al. (2012), *Statistical Disclosure Control*, Wiley,
doi:10.1002/9781118348239 (ch. 4: the threshold rule for tabular data and disclosure by
differencing; ch. 1.3: an attacker who holds everything else).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from pmm_lib.errors import SpecError
from pmm_lib.vocab import Audience

if TYPE_CHECKING:
    from pmm_lib.core.build import IndexResult
    from pmm_lib.core.spec import Spec

__all__ = [
    "Audience",
    "AudienceView",
    "DEFAULT_MIN_N",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "MIN_KEY_BYTES",
    "PRESENTATION_DIGITS",
    "audience_matrix",
    "audience_observations",
    "audience_view",
    "check_audience",
    "create_key_file",
    "default_key_file",
    "disclosure_matrix",
    "figure_values",
    "group_aggregate",
    "hidden_values",
    "mask_aggregates",
    "mask_matrix",
    "member_labels",
    "needs_key",
    "present",
    "prune_meta",
    "pseudonym_key",
    "pseudonymise",
    "suppress_by_count",
    "suppress_member_kpi",
    "suppress_small_groups",
    "visible_levels",
]

DEFAULT_MIN_N = 3
#: significant digits of the numbers in a public or wco table (CSV and paper)
PRESENTATION_DIGITS = 4
#: environment variable holding the pseudonym key itself
KEY_ENV = "PMM_PSEUDONYM_KEY"
#: environment variable naming a file that holds the pseudonym key
KEY_FILE_ENV = "PMM_PSEUDONYM_KEY_FILE"
#: shortest acceptable key (bytes): 128 bits
MIN_KEY_BYTES = 16
_VISIBLE: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "wco": frozenset({"public", "wco"}),
    "internal": frozenset({"public", "wco", "restricted"}),
}


def check_audience(audience: str) -> Audience:
    """Return ``audience`` if valid, else raise :class:`SpecError` listing the allowed ones."""
    if audience not in _VISIBLE:
        raise SpecError(f"audience {audience!r} is not one of {', '.join(get_args(Audience))}")
    return audience  # type: ignore[return-value]


def visible_levels(audience: str) -> frozenset[str]:
    """Disclosure levels an audience may see at Member level.

    >>> sorted(visible_levels("wco"))
    ['public', 'wco']
    """
    return _VISIBLE[check_audience(audience)]


def disclosure_matrix(observations: pd.DataFrame, cycle: int, *,
                      members: Iterable[str] | None = None,
                      kpis: Iterable[str] | None = None) -> pd.DataFrame:
    """Members × KPIs table of disclosure levels for one cycle.

    Parameters
    ----------
    observations : DataFrame
        Tidy observations with columns ``member, cycle, kpi, disclosure``.
    cycle : int
        The cycle to tabulate.
    members, kpis : iterable of str, optional
        Row and column order (e.g. a matrix's index and columns). Cells without an
        observation are ``"public"``: there is no value there to protect.

    Returns
    -------
    DataFrame
        Index ``member``, one column per KPI, values in {public, wco, restricted}.
    """
    obs = observations.loc[observations["cycle"] == cycle, ["member", "kpi", "disclosure"]]
    wide = obs.drop_duplicates(["member", "kpi"], keep="last").pivot(
        index="member", columns="kpi", values="disclosure")
    if members is not None:
        wide = wide.reindex(index=list(members))
    if kpis is not None:
        wide = wide.reindex(columns=list(kpis))
    wide = wide.astype(object).where(wide.notna(), "public")
    wide.index.name, wide.columns.name = "member", None
    return wide


def _hidden_mask(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    visible = visible_levels(audience)
    levels = disclosure.reindex(index=matrix.index, columns=matrix.columns)
    # A value with no disclosure record is treated as restricted: fail safe.
    levels = levels.astype(object).where(levels.notna(), "restricted")
    return ~levels.isin(visible) & matrix.notna()


def mask_matrix(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Copy of a members × KPIs matrix with every value the audience may not see set to NaN.

    Parameters
    ----------
    matrix : DataFrame
        Index = Members, columns = KPI codes (raw, treated or normalised values).
    disclosure : DataFrame
        Same shape of disclosure levels (:func:`disclosure_matrix`). A value whose
        disclosure is unknown is suppressed for every audience but ``internal``.
    audience : {"public", "wco", "internal"}

    Examples
    --------
    >>> m = pd.DataFrame({"K01": [1.0, 2.0]}, index=["AAA", "BBB"])
    >>> d = pd.DataFrame({"K01": ["public", "restricted"]}, index=["AAA", "BBB"])
    >>> mask_matrix(m, d, "public")["K01"].tolist()
    [1.0, nan]
    """
    hidden = _hidden_mask(matrix, disclosure, audience)
    return matrix.mask(hidden)


def hidden_values(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Tidy list of the values an audience may not see (``member, kpi, value``): what scans look for."""
    hidden = _hidden_mask(matrix, disclosure, audience)
    stacked = matrix.where(hidden).stack().dropna().rename("value").reset_index()
    stacked.columns = ["member", "kpi", "value"]
    return stacked


def mask_aggregates(scores: pd.DataFrame, raw: pd.DataFrame, meta: pd.DataFrame,
                    disclosure: pd.DataFrame, audience: str, *, min_kpis: int = DEFAULT_MIN_N
                    ) -> pd.DataFrame:
    """Suppress Member-level scores that would reveal a hidden KPI value.

    A KPI column is masked as in :func:`mask_matrix`. An aggregate (outcome, dimension, index)
    of Member *c* is suppressed when at least one of the KPIs it pools is hidden from the
    audience and fewer than ``min_kpis`` of its KPIs were reported by *c*:

    .. math:: \\text{suppress}_{c,a} = (h_{c,a} \\ge 1) \\wedge (r_{c,a} < N)

    with :math:`h` the hidden and :math:`r` the reported KPIs below aggregate *a*. This is the
    threshold rule of :func:`group_aggregate` applied across KPIs instead of Members
    (Hundepool et al. 2012, sec. 4.2).

    Parameters
    ----------
    scores : DataFrame
        Members × codes (``IndexResult.aggregated``: KPI columns and aggregates).
    raw : DataFrame
        Members × KPIs as reported (NaN = not reported), for counting reported KPIs.
    meta : DataFrame
        The hierarchy (``code, level, parent``).
    disclosure : DataFrame
        Members × KPIs of disclosure levels (:func:`disclosure_matrix`).
    audience : {"public", "wco", "internal"}
    min_kpis : int
        Minimum number of reported KPIs for an aggregate that pools a hidden value.
    """
    if min_kpis < 1:
        raise SpecError(f"min_kpis must be at least 1, got {min_kpis}")
    kpis = meta.loc[meta["level"] == 1, "code"].tolist()
    parent = dict(zip(meta["code"], meta["parent"], strict=True))
    reported = raw.reindex(index=scores.index, columns=kpis).notna()
    hidden = _hidden_mask(raw.reindex(index=scores.index, columns=kpis), disclosure, audience)
    out = scores.copy()
    below: dict[str, list[str]] = {}
    for k in kpis:
        node = parent.get(k)
        while isinstance(node, str):
            below.setdefault(node, []).append(k)
            node = parent.get(node)
    for col in out.columns:
        if col in kpis:
            out[col] = out[col].mask(hidden[col])
        elif col in below:
            h = hidden[below[col]].sum(axis=1)
            r = reported[below[col]].sum(axis=1)
            out[col] = out[col].mask((h >= 1) & (r < min_kpis))
    return out


def suppress_member_kpi(frame: pd.DataFrame, *, observations: pd.DataFrame, cycle: int,
                        audience: str, member_col: str = "member", kpi_col: str = "kpi",
                        value_cols: Sequence[str] = ("value",)) -> pd.DataFrame:
    """Suppress Member-level KPI values in a tidy frame (one row per member and KPI).

    Rows whose (member, KPI) value the audience may not see keep their identifiers but get
    NaN in every column of ``value_cols`` and ``suppressed = True``.
    """
    visible = visible_levels(audience)
    obs = observations.loc[observations["cycle"] == cycle, ["member", "kpi", "disclosure"]]
    obs = obs.drop_duplicates(["member", "kpi"], keep="last")
    merged = frame.merge(obs.rename(columns={"member": member_col, "kpi": kpi_col}),
                         on=[member_col, kpi_col], how="left", validate="many_to_one")
    level = merged["disclosure"].astype(object).where(merged["disclosure"].notna(), "restricted")
    hide = ~level.isin(visible)
    out = frame.copy()
    for col in value_cols:
        out[col] = out[col].astype(float).mask(hide.to_numpy())
    out["suppressed"] = hide.to_numpy()
    return out


def audience_observations(observations: pd.DataFrame, audience: str) -> pd.DataFrame:
    """The observations an audience may see (every cycle); the rest are dropped, not zeroed.

    A row with an unknown or missing disclosure level is dropped for every audience but
    ``internal`` (fail safe).

    >>> obs = pd.DataFrame({"member": ["AAA", "BBB"], "cycle": [2024, 2024], "kpi": ["K01", "K01"],
    ...                     "value": [1.0, 2.0], "disclosure": ["public", "wco"]})
    >>> audience_observations(obs, "public")["member"].tolist()
    ['AAA']
    """
    visible = visible_levels(audience)
    if "disclosure" not in observations.columns:
        raise SpecError("observations lack the 'disclosure' column: cannot decide what an audience may see")
    if audience == "internal":
        return observations.copy()
    keep = observations["disclosure"].astype(object).isin(visible)
    return observations.loc[keep.to_numpy()].reset_index(drop=True)


def audience_matrix(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    """The audience's view of a members × KPIs matrix: hidden values are NaN (:func:`mask_matrix`)."""
    return mask_matrix(matrix, disclosure, audience)


@dataclass(frozen=True)
class AudienceView:
    """What one audience may see of one region and cycle: the input of every artefact it gets.

    Attributes
    ----------
    audience : {"public", "wco", "internal"}
    region : str
    cycle : int
    observations : DataFrame
        The visible observations of every cycle (:func:`audience_observations`).
    matrix : DataFrame
        Members × KPIs of the region and cycle, hidden values NaN. Members are those that
        reported at least one value (visible or not), so coverage keeps its denominator.
    reported : DataFrame
        Members × KPIs, True where a value was reported (visible or hidden).
    hidden : DataFrame
        Members × KPIs, True where a value was reported but is hidden from the audience.
    min_n : int
        The threshold of the group rule.
    framework_path : str or None
        A framework or candidate file (:func:`pmm_lib.inputs.candidates.load_design`); None: the
        project's framework.
    """

    audience: Audience
    region: str
    cycle: int
    observations: pd.DataFrame
    matrix: pd.DataFrame
    reported: pd.DataFrame
    hidden: pd.DataFrame
    min_n: int = DEFAULT_MIN_N
    framework_path: str | None = None

    @property
    def reported_matrix(self) -> pd.DataFrame:
        """Members × KPIs of 1.0 where a value was reported (visible or hidden), NaN where skipped:
        what coverage and missingness need, without any value."""
        return self.reported.astype(float).where(self.reported)

    @property
    def n_hidden(self) -> int:
        """Number of reported values of the region and cycle hidden from the audience."""
        return int(self.hidden.to_numpy().sum())

    @property
    def kpis(self) -> list[str]:
        """The KPIs of this audience's edition: those with at least ``min_n`` visible values in the
        region and cycle (a KPI the audience sees for fewer Members has no per-KPI statistic)."""
        counts = self.matrix.notna().sum()
        return [str(k) for k in self.matrix.columns if counts[k] >= self.min_n]

    def meta(self) -> pd.DataFrame:
        """The framework hierarchy pruned to :attr:`kpis` (aggregates left without KPIs dropped)."""
        from pmm_lib.inputs.candidates import load_design

        return prune_meta(load_design(self.framework_path).table(), self.kpis)

    def build(self, spec: Spec | None = None, *, seed: Any = None) -> IndexResult:
        """The index built on the visible values only, over :attr:`kpis`.

        The same loading as :func:`pmm_lib.core.build.build_pmm` (Member groups for group
        imputation, the region's other cycles for panel imputation), on
        :attr:`observations` and the pruned hierarchy (:meth:`meta`).
        """
        from pmm_lib.core.build import build
        from pmm_lib.core.spec import Spec as SpecClass
        from pmm_lib.inputs import data as data_mod

        spec = SpecClass.default() if spec is None else spec
        region = None if self.region == "ALL" else self.region
        kpis = self.kpis
        matrix = self.matrix[kpis]
        groups = None
        if spec.impute.method in ("group_mean", "group_median"):
            members = data_mod.load_members().set_index("member")
            if spec.impute.group not in members.columns:
                raise SpecError(f"impute.group: unknown Member grouping column {spec.impute.group!r}; "
                                f"allowed: {', '.join(c for c in members.columns if c not in ('name',))}")
            groups = members.reindex(matrix.index)
        panel = None
        if spec.impute.method == "panel":
            panel = {int(c): data_mod.to_matrix(self.observations, int(c), region,
                                                framework_path=self.framework_path).reindex(columns=kpis)
                     for c in sorted(pd.unique(self.observations["cycle"])) if int(c) != self.cycle}
        return build(matrix, self.meta(), spec, groups=groups, panel=panel, cycle=self.cycle, seed=seed)

    def inputs(self, spec: Spec | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        """Matrix, hierarchy and build options of the audience's edition for the uncertainty
        analysis (:func:`pmm_lib.uncertainty.sensitivity.pmm_inputs` on :attr:`observations`,
        restricted to :attr:`kpis` and :meth:`meta`)."""
        from pmm_lib.core.spec import Spec as SpecClass
        from pmm_lib.uncertainty.sensitivity import pmm_inputs

        spec = SpecClass.default() if spec is None else spec
        data, _, options = pmm_inputs(spec, region=self.region, cycle=self.cycle, observations=self.observations,
                                      framework_path=self.framework_path)
        kpis = self.kpis
        if isinstance(options.get("panel"), Mapping):
            options["panel"] = {c: m.reindex(columns=kpis) for c, m in options["panel"].items()}
        return data[kpis], self.meta(), options

    def labels(self, members: Iterable[str] | None = None) -> dict[str, str]:
        """Member → displayed name for this audience (:func:`member_labels`)."""
        return member_labels(self.matrix.index if members is None else members, self.audience, cycle=self.cycle)


def prune_meta(meta: pd.DataFrame, kpis: Iterable[str]) -> pd.DataFrame:
    """A hierarchy (``code, level, parent, ...``) restricted to the KPIs ``kpis`` (level 1):
    aggregates with no KPI left below them are dropped too.

    >>> meta = pd.DataFrame({"code": ["K1", "K2", "K3", "O1", "O2", "I"], "level": [1, 1, 1, 2, 2, 3],
    ...                      "parent": ["O1", "O1", "O2", "I", "I", None]})
    >>> prune_meta(meta, ["K1", "K2"])["code"].tolist()
    ['K1', 'K2', 'O1', 'I']
    """
    keep_kpis = set(kpis)
    parent = dict(zip(meta["code"], meta["parent"], strict=True))
    keep: set[str] = set()
    for k in meta.loc[meta["level"] == 1, "code"]:
        if k in keep_kpis:
            node = k
            while isinstance(node, str) and node not in keep:
                keep.add(node)
                node = parent.get(node)
    return meta[meta["code"].isin(keep)].reset_index(drop=True)


def audience_view(observations: pd.DataFrame, cycle: int, region: str | None, audience: str, *,
                  min_n: int = DEFAULT_MIN_N, framework_path: str | Path | None = None) -> AudienceView:
    """The :class:`AudienceView` of a region and cycle.

    Parameters
    ----------
    observations : DataFrame
        Tidy observations (:func:`pmm_lib.inputs.data.load_observations`), every cycle.
    cycle : int
    region : str or None
        A WCO region, ``"ALL"`` or None (every Member).
    audience : {"public", "wco", "internal"}
    min_n : int
        Threshold of the group rule (at least 1).
    framework_path : str or Path, optional
        A framework or candidate file; the observations are mapped onto its KPIs
        (:func:`pmm_lib.inputs.data.to_matrix`).

    Examples
    --------
    >>> from pmm_lib.inputs import data
    >>> v = audience_view(data.load_observations(), 2024, "AMS", "public")
    >>> bool(v.matrix[v.hidden].isna().all().all()), v.n_hidden > 0
    (True, True)
    """
    from pmm_lib.inputs import data as data_mod

    aud = check_audience(audience)
    if min_n < 1:
        raise SpecError(f"min_n must be at least 1, got {min_n}")
    fw_path = None if not framework_path else str(framework_path)
    full = data_mod.to_matrix(observations, int(cycle), region, framework_path=fw_path)
    visible_obs = audience_observations(observations, aud)
    # the view is the matrix of the visible observations (whatever the framework maps them to)
    cycle_obs = visible_obs[visible_obs["cycle"] == int(cycle)]
    if cycle_obs.empty:
        matrix = full.where(pd.DataFrame(False, index=full.index, columns=full.columns))
    else:
        matrix = data_mod.to_matrix(visible_obs, int(cycle), region, framework_path=fw_path).reindex(
            index=full.index, columns=full.columns)
    reported = full.notna()
    return AudienceView(audience=aud, region="ALL" if region is None else str(region), cycle=int(cycle),
                        observations=visible_obs, matrix=matrix, reported=reported,
                        hidden=reported & matrix.isna(), min_n=int(min_n), framework_path=fw_path)


def suppress_small_groups(frame: pd.DataFrame, groups: pd.Series, *, min_n: int = DEFAULT_MIN_N,
                          column: str = "{group}", group_col: str | None = None,
                          value_cols: Sequence[str] = ()) -> pd.DataFrame:
    """Blank the statistics of groups of fewer than ``min_n`` Members (the threshold rule).

    Two table shapes:

    * wide, one column per group (``column`` formats the group into the column name, e.g.
      ``"missing_share_{group}"``): the columns of small groups become NaN;
    * long, one row per group (``group_col`` names the group column): ``value_cols`` of the
      rows of small groups become NaN.

    Parameters
    ----------
    frame : DataFrame
    groups : Series
        Member → group label (the Members the statistics pooled).
    min_n : int
        Least number of Members of a published group statistic.

    Examples
    --------
    >>> t = pd.DataFrame({"kpi": ["K01"], "share_L": [0.5], "share_H": [0.25]})
    >>> g = pd.Series({"A": "L", "B": "H", "C": "H", "D": "H"})
    >>> suppress_small_groups(t, g, column="share_{group}")[["share_L", "share_H"]].to_numpy().tolist()
    [[nan, 0.25]]
    """
    if min_n < 1:
        raise SpecError(f"min_n must be at least 1, got {min_n}")
    sizes = groups.dropna().astype(str).value_counts()
    small = [g for g, n in sizes.items() if n < min_n]
    out = frame.copy()
    if group_col is None:
        for g in small:
            col = column.format(group=g)
            if col in out.columns:
                out[col] = np.nan
        return out
    if group_col not in out.columns:
        raise SpecError(f"group_col {group_col!r} is not a column of the table", )
    hide = out[group_col].astype(str).isin(small).to_numpy()
    for col in value_cols:
        out[col] = out[col].astype(float).mask(hide)
    return out


def suppress_by_count(frame: pd.DataFrame, counts: Mapping[str, str], *,
                      min_n: int = DEFAULT_MIN_N) -> pd.DataFrame:
    """Blank each statistic whose group count is below ``min_n`` (the threshold rule, long tables).

    Parameters
    ----------
    frame : DataFrame
    counts : mapping
        Statistic column → the column holding the number of Members it pools (e.g.
        ``{"missing_in": "n_group", "missing_out": "n_other"}``).

    Examples
    --------
    >>> t = pd.DataFrame({"share": [0.5, 0.25], "n": [1, 4]})
    >>> suppress_by_count(t, {"share": "n"})["share"].tolist()
    [nan, 0.25]
    """
    if min_n < 1:
        raise SpecError(f"min_n must be at least 1, got {min_n}")
    out = frame.copy()
    for stat, n_col in counts.items():
        if stat not in out.columns or n_col not in out.columns:
            raise SpecError(f"suppress_by_count: no column {stat!r} or {n_col!r} in the table")
        out[stat] = out[stat].astype(float).mask(out[n_col].astype(float) < min_n)
    return out


def group_aggregate(matrix: pd.DataFrame, disclosure: pd.DataFrame, groups: pd.Series, *,
                    audience: str, min_n: int = DEFAULT_MIN_N,
                    stat: Literal["mean", "median"] = "mean") -> pd.DataFrame:
    """Group statistics of each KPI on the audience's view, with the threshold rule.

    A group × KPI cell is computed over the values the audience may see (hidden ones are
    missing: a statistic computed with them and published would let the audience difference
    them out) and published only if it pools at least ``min_n`` Members.

    Returns
    -------
    DataFrame
        Tidy: ``group, kpi, score, n, n_hidden, suppressed`` (``n`` visible values pooled,
        ``n_hidden`` values left out).
    """
    if min_n < 1:
        raise SpecError(f"min_n must be at least 1, got {min_n}")
    if stat not in ("mean", "median"):
        raise SpecError(f"stat {stat!r} is not one of mean, median")
    hidden = _hidden_mask(matrix, disclosure, audience)
    view = matrix.mask(hidden)
    g = groups.reindex(matrix.index)
    rows: list[dict[str, Any]] = []
    for name, idx in view.groupby(g, sort=True).groups.items():
        block, hid = view.loc[idx], hidden.loc[idx]
        n = block.notna().sum()
        value = block.mean() if stat == "mean" else block.median()
        n_hidden = hid.sum()
        for kpi in matrix.columns:
            suppress = bool(n[kpi] < min_n)
            rows.append({"group": name, "kpi": kpi, "score": np.nan if suppress else value[kpi],
                         "n": int(n[kpi]), "n_hidden": int(n_hidden[kpi]), "suppressed": suppress})
    return pd.DataFrame(rows)


def present(frame: pd.DataFrame, audience: str, *, digits: int = PRESENTATION_DIGITS) -> pd.DataFrame:
    """Presentation rounding of a table for an audience: float columns to ``digits`` significant
    digits for ``public`` and ``wco``; ``internal`` tables are returned unchanged.

    >>> present(pd.DataFrame({"r": [0.123456789, 1234.5678]}), "public")["r"].tolist()
    [0.1235, 1235.0]
    """
    check_audience(audience)
    if digits < 1:
        raise SpecError(f"digits must be at least 1, got {digits}")
    if audience == "internal":
        return frame
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = _round_sig(out[col].to_numpy(dtype=float), digits)
    return out


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    mag = np.floor(np.log10(np.abs(x[ok])))
    scale = 10.0 ** (digits - 1 - mag)
    out[ok] = np.round(x[ok] * scale) / scale
    return out


# ----------------------------------------------------------------------------------------------
# Pseudonyms keyed by a secret
# ----------------------------------------------------------------------------------------------

def needs_key(audience: str) -> bool:
    """Whether a run for this audience needs the pseudonym key (every audience but internal)."""
    return check_audience(audience) != "internal"


def default_key_file() -> Path:
    """``$XDG_CONFIG_HOME/pmm/pseudonym.key`` (default ``~/.config/pmm/pseudonym.key``): where
    :func:`create_key_file` writes a key and :func:`pseudonym_key` looks last."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pmm" / "pseudonym.key"


def create_key_file(path: str | Path | None = None) -> Path:
    """Write a new random 256-bit key (hex) to ``path`` (default :func:`default_key_file`) with
    mode 0600, unless the file exists; returns the path. Refuses a path inside the project."""
    target = Path(path) if path is not None else default_key_file()
    _check_key_location(target, ())
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return target


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _check_key_location(path: Path, forbid: Iterable[str | Path]) -> None:
    from pmm_lib.paths import ROOT

    for folder in (ROOT, *map(Path, forbid)):
        if _inside(path, folder):
            raise SpecError(f"{KEY_FILE_ENV}={path}: the pseudonym key file lies inside {folder}; keep it "
                            "outside the repository and the run folder (e.g. ~/.config/pmm/pseudonym.key)")


def pseudonym_key(audience: str = "public", *, forbid: Iterable[str | Path] = (),
                  env: Mapping[str, str] | None = None) -> bytes | None:
    """The secret key of the pseudonyms, or None for an internal audience without one.

    Looked up in order: the environment variable ``PMM_PSEUDONYM_KEY`` (the key itself), the
    file named by ``PMM_PSEUDONYM_KEY_FILE``, :func:`default_key_file` if it exists. A key file
    must lie outside the repository and outside every folder of ``forbid`` (the run folder).

    Raises
    ------
    SpecError
        A public or wco audience and no key; a key shorter than :data:`MIN_KEY_BYTES` bytes; a
        key file that is missing, unreadable or inside the repository or run folder.
    """
    env = os.environ if env is None else env
    forbid = tuple(forbid)
    key: bytes | None = None
    if env.get(KEY_ENV):
        key = env[KEY_ENV].strip().encode()
        origin = KEY_ENV
    else:
        named = env.get(KEY_FILE_ENV)
        path = Path(named).expanduser() if named else default_key_file()
        origin = f"{KEY_FILE_ENV}={path}" if named else f"key file {path}"
        if named or path.is_file():
            _check_key_location(path, forbid)
            try:
                key = path.read_bytes().strip()
            except OSError as exc:
                raise SpecError(f"{origin}: cannot read the pseudonym key ({exc.strerror or exc})") from None
    if key is None:
        if needs_key(audience):
            raise SpecError(
                f"a {audience} run needs the secret pseudonym key: set {KEY_ENV} to a random string of at "
                f"least {MIN_KEY_BYTES} characters, or {KEY_FILE_ENV} to a file holding one (outside the "
                f"repository and the run folder), or create {default_key_file()} with `make key`; "
                "an internal run needs none")
        return None
    if len(key) < MIN_KEY_BYTES:
        raise SpecError(f"{origin}: the pseudonym key has {len(key)} bytes; use at least {MIN_KEY_BYTES} "
                        "random ones (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return key


def pseudonymise(members: Iterable[str], *, key: bytes | str | None = None, context: str | int = "",
                 prefix: str = "Member", salt: str | None = None) -> dict[str, str]:
    """Stable pseudonyms: ``HMAC-SHA256(key, "<context>|<ISO3>")`` shortened to 4 hex digits
    (longer on a clash).

    The same key and context (the cycle) give the same pseudonym in every artefact; a new cycle
    gives new pseudonyms (no linking across cycles). Without the key, trying the 186 Member codes
    gives nothing: the key is secret (:func:`pseudonym_key`), not derived from the run.

    Parameters
    ----------
    members : iterable of str
    key : bytes or str
        The secret (at least :data:`MIN_KEY_BYTES` bytes).
    context : str or int
        Mixed into each pseudonym (the cycle).
    salt : str, optional
        Deprecated alias of ``key`` (no length check); kept for one release.

    Examples
    --------
    >>> k = b"0123456789abcdef0123"
    >>> p = pseudonymise(["FRA", "BRA"], key=k, context=2024)
    >>> p == pseudonymise(["BRA", "FRA"], key=k, context=2024), p["FRA"] != p["BRA"]
    (True, True)
    """
    if key is None and salt is not None:
        key = salt
    elif key is not None and len(key) < MIN_KEY_BYTES:
        raise SpecError(f"the pseudonym key has {len(key)} bytes; use at least {MIN_KEY_BYTES}")
    if not key:
        raise SpecError("pseudonymise needs a secret key (pseudonym_key(); keep it out of every artefact)")
    secret = key.encode() if isinstance(key, str) else bytes(key)
    codes = sorted(set(members))
    ctx = str(context)
    digests = {m: hmac.new(secret, f"{ctx}|{m}".encode(), hashlib.sha256).hexdigest().upper() for m in codes}
    width = 4
    while len({d[:width] for d in digests.values()}) < len(codes):
        width += 1
    return {m: f"{prefix}-{digests[m][:width]}" for m in codes}


def member_labels(members: Iterable[str], audience: str, *, cycle: int | str = "",
                  key: bytes | None = None) -> dict[str, str]:
    """How an audience's artefacts name each Member: keyed pseudonyms for ``public``, ISO3 codes
    for ``wco`` and ``internal``. The key defaults to :func:`pseudonym_key` (raises without one).

    >>> member_labels(["FRA"], "wco")
    {'FRA': 'FRA'}
    """
    codes = list(members)
    if check_audience(audience) != "public":
        return {m: m for m in codes}
    secret = pseudonym_key(audience) if key is None else key
    return pseudonymise(codes, key=secret, context=cycle)


def figure_values(fig: Any) -> np.ndarray:
    """Every number drawn in a matplotlib figure (line and scatter data, bar sizes, image cells, texts).

    Used to record a figure's data beside its PNG so a disclosure scan can check figures too.
    """
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    values: list[np.ndarray] = []
    for artist in fig.findobj():
        try:
            if isinstance(artist, Line2D):
                values += [np.asarray(artist.get_xdata(), float).ravel(),
                           np.asarray(artist.get_ydata(), float).ravel()]
            elif isinstance(artist, Collection):
                values.append(np.asarray(artist.get_offsets(), float).ravel())
                arr = artist.get_array()
                if arr is not None:
                    values.append(np.asarray(arr, float).ravel())
            elif isinstance(artist, Rectangle):
                values.append(np.array([artist.get_width(), artist.get_height()], float))
            elif isinstance(artist, AxesImage):
                values.append(np.asarray(artist.get_array(), float).ravel())
            elif isinstance(artist, Text):
                text = artist.get_text().replace("−", "-")
                for token in text.replace(",", " ").split():
                    try:
                        values.append(np.array([float(token.strip("()[]%"))]))
                    except ValueError:
                        continue
        except (TypeError, ValueError):
            continue
    if not values:
        return np.array([], float)
    out = np.concatenate(values)
    return out[np.isfinite(out)]
