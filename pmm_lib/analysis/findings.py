r"""Findings: typed statements computed from a run's results by documented, overridable rules.

The paper's prose that depends on numbers is written from these findings, never typed by hand.
:func:`compute_findings` takes the tables a run writes (``tbl-scorecard``, ``tbl-pca``, ... as
DataFrames keyed by label, i.e. what the notebooks save with
:func:`pmm_lib.reporting.report.save_table`) and returns a list of :class:`Finding`; every
threshold lives in the frozen :class:`FindingRules` (override with :func:`dataclasses.replace` or
:meth:`FindingRules.from_dict`). A table that is absent simply produces no finding of its family.

Rule families (``Finding.rule`` names the rule that fired, with its threshold):

``data.*``
    participation and coverage (KPIs reported by fewer than ``coverage_low`` of the Members),
    structural gaps (a group of at least ``gap_min_group`` Members missing at least ``gap_in`` of an
    expected outcome's values while the others miss at most ``gap_out``: not missing at random).
``kpi.*``
    KPI fitness from the validity scorecard. *misdirected*: item-rest r below ``misdirected_r``
    (the KPI runs against its dimension after orientation: its direction is probably wrong);
    *unrelated*: ``|item-rest r| < unrelated_r`` and ``|index r| < unrelated_index_r`` (it measures
    something else); *collinear*: ``|r| > collinear_r`` with another KPI (one signal counted twice,
    keep one); other non-keep verdicts are reported for review without a drop. A drop is advised
    only when the evidence rests on at least ``min_n_drop`` Members; below that the KPI is flagged
    for review on the pooled sample.
``structure.*``
    per dimension: one dominant component when parallel analysis keeps one and it explains at least
    ``dominant_share`` of the variance (Horn 1965, doi:10.1007/BF02289447).
``weighting.*``
    each scheme against the framework's by median and largest absolute rank shift; effective
    weights (squared correlation with the parent, scaled) against nominal: a component is
    imbalanced when effective / nominal lies outside ``[1 / balance_ratio, balance_ratio]``
    (Paruolo, Saisana & Saltelli 2013, doi:10.1111/j.1467-985X.2012.01059.x). Advice: keep the
    framework weights unless they are imbalanced *and* a scheme that balances them moves ranks by a
    median of at most ``shift_small``.
``outcomes.*``
    the index against each external outcome (r with its interval and n); the expected sign from
    :mod:`pmm_lib.labels` (``wrong_sign`` when the interval excludes 0 on the wrong side, ``weak``
    when it includes 0); ``tracks_governance`` / ``tracks_income`` when the strongest governance
    correlation (or income gradient) exceeds the strongest trade correlation; partial r given GDP
    per capita (and governance, when the run computed it).
``robustness.*``
    the JRC form (Saisana, Saltelli & Tarantola 2005, doi:10.1111/j.1467-985X.2005.00350.x): the
    share of Members whose 5-95 % rank interval lies within ``rank_window`` of the nominal rank;
    robust when at least ``robust_share``; the others named as fragile.
``convergence.*`` / ``sample.*``
    Sobol' estimates on fewer than ``min_sobol_n`` base samples or with intervals wider than
    ``sobol_ci_width``; factors whose total effect is below ``zero_effect`` (their alternatives
    give identical results); a normalisation whose total index on the scores is at least
    ``normalisation_share`` (scores under different normalisations are on different scales);
    statistics withheld by :mod:`pmm_lib.analysis.guards`; a region with fewer than
    ``min_members`` Members.

Examples
--------
>>> import pandas as pd
>>> card = pd.DataFrame({"code": ["K01", "K40"], "dimension": ["OD", "OD"], "coverage": [1.0, 1.0],
...                      "n": [110, 110], "item_rest_r": [0.8, -0.86], "index_r": [0.8, -0.88],
...                      "r_max": [0.8, 0.81], "r_max_with": ["K40", "K01"], "verdict": ["keep", "drop"],
...                      "reasons": ["", "item-rest r -0.86 < 0.0"]})
>>> [f.rule for f in compute_findings({"tbl-scorecard": card})]
['kpi.misdirected (item-rest r < -0.3)', 'kpi.summary']
>>> advised_drops(compute_findings({"tbl-scorecard": card}))
('K40',)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmm_lib.analysis import guards
from pmm_lib.errors import SpecError
from pmm_lib.labels import variable_label, variable_meta
from pmm_lib.settings import numbers_from_dict

__all__ = [
    "Finding",
    "FindingRules",
    "SECTIONS",
    "Severity",
    "advised_drops",
    "advised_index",
    "compute_findings",
    "findings_frame",
    "group_gaps",
    "headlines",
    "kpi_fitness",
]

Severity = Literal["info", "warning", "critical"]
#: Sections a finding belongs to, in the paper's order.
SECTIONS: tuple[str, ...] = ("data", "validity", "structure", "weighting", "outcomes", "uncertainty")
_SEV_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One statement the results support.

    Attributes
    ----------
    statement : str
        What the results show, in words, with the numbers and their n.
    evidence : dict
        The numbers behind the statement (name → value).
    n : int or None
        Members (or samples) the evidence rests on.
    severity : {"info", "warning", "critical"}
    recommendation : str
        What to do ("" when nothing needs doing).
    rule : str
        ``family.rule`` that fired (see the module docstring for thresholds).
    section : str
        One of :data:`SECTIONS`.
    subjects : tuple of str
        KPI, dimension, outcome or Member codes the finding is about.
    drop : tuple of str
        KPIs the finding advises to leave out of the index.
    """

    statement: str
    evidence: dict[str, Any]
    n: int | None
    severity: Severity
    recommendation: str
    rule: str
    section: str
    subjects: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise SpecError(f"finding section {self.section!r} is not one of {', '.join(SECTIONS)}")
        if self.severity not in _SEV_ORDER:
            raise SpecError(f"finding severity {self.severity!r} is not one of info, warning, critical")


@dataclass(frozen=True)
class FindingRules:
    """Thresholds of the finding rules (module docstring); override with ``dataclasses.replace``."""

    coverage_low: float = 0.6
    gap_in: float = 0.9
    gap_out: float = 0.3
    gap_min_group: int = 3
    misdirected_r: float = -0.3
    unrelated_r: float = 0.3
    unrelated_index_r: float = 0.2
    collinear_r: float = 0.9
    dominant_share: float = 0.4
    shift_small: float = 2.0
    shift_large: float = 10.0
    balance_ratio: float = 1.5
    rank_window: int = 3
    robust_share: float = 0.8
    min_sobol_n: int = 1000
    sobol_ci_width: float = 0.3
    zero_effect: float = 1e-9
    normalisation_share: float = 0.3
    min_members: int = 10
    min_n_drop: int = 20

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> FindingRules:
        """Build from a mapping (e.g. a scenario's ``findings:`` section); unknown names raise SpecError."""
        return numbers_from_dict(cls, values, "finding rules")


# ------------------------------------------------------------------------------------ helpers

def _f(x: Any, d: int = 2) -> str:
    """Fixed decimals with a true minus sign."""
    v = float(x)
    if not math.isfinite(v):
        return "–"
    return f"{v:.{d}f}".replace("-", "−")


def _pct(x: float) -> str:
    return f"{100 * float(x):.0f} %"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _named(code: str, names: Mapping[str, str]) -> str:
    name = names.get(code, "")
    return f"{code} ({name})" if name and name != code else code


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce") if col in frame.columns else pd.Series(np.nan, frame.index)


# ------------------------------------------------------------------------------------ data

def group_gaps(matrix: pd.DataFrame, groups: pd.DataFrame, outcome_of: Mapping[str, str]) -> pd.DataFrame:
    """Share of an expected outcome's values missing inside and outside each group of Members.

    Parameters
    ----------
    matrix : DataFrame
        Members × KPIs (missing = skipped).
    groups : DataFrame
        Members (index) × boolean grouping variables (``sids``, ``landlocked``, ...); other
        dtypes are one-hot encoded by level.
    outcome_of : mapping
        KPI → expected outcome.

    Returns
    -------
    DataFrame
        ``variable, group, outcome, kpis, n_group, n_other, missing_in, missing_out``: one row per
        grouping level and expected outcome with at least one missing value.

    Examples
    --------
    >>> m = pd.DataFrame({"K1": [1, None, None, None, 2, 3], "K2": [1, 2, 3, 4, 5, 6]},
    ...                  index=list("abcdef"))
    >>> g = pd.DataFrame({"island": [False, True, True, True, False, False]}, index=list("abcdef"))
    >>> row = group_gaps(m, g, {"K1": "O1", "K2": "O1"}).iloc[0]
    >>> row["group"], float(row["missing_in"]), float(row["missing_out"])
    ('island', 0.5, 0.0)
    """
    rows = []
    g = groups.reindex(matrix.index)
    flags: dict[tuple[str, str], pd.Series] = {}
    for col in g.columns:
        v = g[col]
        if pd.api.types.is_bool_dtype(v) or set(v.dropna().unique()) <= {True, False}:
            flags[(str(col), str(col))] = v.fillna(False).astype(bool)
        else:
            for level in sorted(v.dropna().astype(str).unique()):
                flags[(str(col), f"{col} = {level}")] = v.astype(str).eq(level)
    by_outcome: dict[str, list[str]] = {}
    for k in matrix.columns:
        if k in outcome_of:
            by_outcome.setdefault(outcome_of[k], []).append(k)
    for (var, label), inside in flags.items():
        if inside.sum() == 0 or (~inside).sum() == 0:
            continue
        for out, kpis in by_outcome.items():
            miss = matrix[kpis].isna().to_numpy()
            if not miss.any():
                continue
            rows.append({"variable": var, "group": label, "outcome": out, "kpis": ", ".join(kpis),
                         "n_group": int(inside.sum()), "n_other": int((~inside).sum()),
                         "missing_in": float(miss[inside.to_numpy()].mean()),
                         "missing_out": float(miss[~inside.to_numpy()].mean())})
    return pd.DataFrame(rows, columns=["variable", "group", "outcome", "kpis", "n_group", "n_other",
                                       "missing_in", "missing_out"])


def _data_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    cov = t.get("tbl-coverage")
    if cov is not None and len(cov) and {"n", "n_members", "coverage"} <= set(cov.columns):
        n_members = int(_num(cov, "n_members").max())
        med = float(_num(cov, "coverage").median())
        key = "kpi" if "kpi" in cov.columns else "code"
        low = cov[_num(cov, "coverage") < r.coverage_low]
        out.append(Finding(
            f"{n_members} Members took part; the median KPI was reported by {_pct(med)} of them"
            + (f"; {len(low)} KPI{'s' if len(low) != 1 else ''} by fewer than {_pct(r.coverage_low)} "
               f"({_join([f'{c} ({_pct(v)})' for c, v in zip(low[key], _num(low, 'coverage'), strict=True)])})"
               if len(low) else f"; every KPI by at least {_pct(r.coverage_low)}") + ".",
            {"n_members": n_members, "median_coverage": med, "n_low": len(low)}, n_members,
            "warning" if len(low) else "info",
            (f"Impute or drop the thinly reported KPIs knowingly: {_join(list(low[key]))}." if len(low) else ""),
            f"data.coverage (coverage < {r.coverage_low})", "data", tuple(low[key].astype(str))))
        if n_members < r.min_members:
            out.append(Finding(
                f"Only {n_members} Members took part: correlations, PCA and regressions rest on very few "
                "Members and are withheld or wide.", {"n_members": n_members}, n_members, "critical",
                "Read the statistics of this region as descriptive; pool with other regions for validation.",
                f"sample.members (n < {r.min_members})", "data", ()))
    gaps = t.get("tbl-missing-by-group")
    if gaps is not None and len(gaps):
        hit = gaps[(_num(gaps, "missing_in") >= r.gap_in) & (_num(gaps, "missing_out") <= r.gap_out)
                   & (_num(gaps, "n_group") >= r.gap_min_group)]
        for _, row in hit.iterrows():
            grp = variable_label(str(row["group"]), unit=False) if row["group"] == row["variable"] else str(row["group"])
            out.append(Finding(
                f"{grp} Members (n = {int(row['n_group'])}) do not report expected outcome {row['outcome']} "
                f"({row['kpis']}): {_pct(row['missing_in'])} of their values are missing against "
                f"{_pct(row['missing_out'])} for the other {int(row['n_other'])} Members. The gap is structural, "
                "not random.",
                {"missing_in": float(row["missing_in"]), "missing_out": float(row["missing_out"]),
                 "n_group": int(row["n_group"])}, int(row["n_group"]) + int(row["n_other"]), "warning",
                f"Do not impute {row['outcome']} for these Members from the others' values; aggregate their "
                f"scores without {row['outcome']} (re-weighting its siblings) and say so.",
                f"data.structural_gap (missing ≥ {_pct(r.gap_in)} in group, ≤ {_pct(r.gap_out)} outside)", "data",
                (str(row["outcome"]), str(row["variable"]), *[k.strip() for k in str(row["kpis"]).split(",")])))
    return out


# ------------------------------------------------------------------------------------ KPI fitness

def _review_reason(row: pd.Series) -> str:
    """The scorecard's review rules that fired, in words, at three decimals (never "0.30 below 0.3")."""
    from pmm_lib.analysis.thresholds import ScorecardThresholds

    th = ScorecardThresholds()
    v = {k: pd.to_numeric(row.get(k), errors="coerce") for k in
         ("item_rest_r", "index_r", "alpha_change", "parent_r", "n", "r_max")}
    parts = []
    if v["item_rest_r"] < th.item_rest_review:
        parts.append(f"item-rest r = {_f(v['item_rest_r'], 3)} (review below {th.item_rest_review:.2f})")
    if v["index_r"] < th.index_review:
        parts.append(f"r with the index = {_f(v['index_r'], 3)} (review below {th.index_review:.2f})")
    if v["alpha_change"] > th.alpha_gain_review:
        parts.append(f"its dimension's alpha rises by {_f(v['alpha_change'], 3)} without it")
    if th.parent_review is not None and v["parent_r"] < th.parent_review:
        parts.append(f"r with its expected outcome = {_f(v['parent_r'], 3)} (review below {th.parent_review:.2f})")
    if v["n"] < th.min_n:
        parts.append(f"only {int(v['n'])} Members report it (review below {th.min_n})")
    n = int(v["n"]) if math.isfinite(v["n"]) else 0
    return ("flagged for review: " + "; ".join(parts) + f" (n = {n})") if parts else \
        f"flagged for review by the scorecard (n = {n})"


def kpi_fitness(card: pd.DataFrame, rules: FindingRules | None = None) -> pd.DataFrame:
    """Classify every non-keep KPI of a validity scorecard and advise what to do with it.

    Parameters
    ----------
    card : DataFrame
        :func:`pmm_lib.analysis.validity.scorecard` output (``code, dimension, n, coverage,
        item_rest_r, index_r, r_max, r_max_with, verdict``; ``reasons`` when present).
    rules : FindingRules, optional

    Returns
    -------
    DataFrame
        ``code, dimension, verdict, problem, reason, action, drop, n, thin`` — ``problem`` one of
        ``misdirected, unrelated, collinear, coverage, review``; ``reason`` in words with the
        numbers; ``drop`` True for the KPIs the index should leave out (one of each collinear
        pair: the later code); ``thin`` True when the evidence rests on fewer than
        ``rules.min_n_drop`` Members, so the KPI is flagged but no drop is advised.

    Examples
    --------
    >>> card = pd.DataFrame({"code": ["K46", "K47"], "dimension": ["OD", "OD"], "coverage": [1.0, 1.0],
    ...                      "n": [110, 110], "item_rest_r": [0.8, 0.81], "index_r": [0.78, 0.78],
    ...                      "r_max": [0.99, 0.99], "r_max_with": ["K47", "K46"], "verdict": ["review", "review"]})
    >>> kpi_fitness(card)[["code", "problem", "drop"]].values.tolist()
    [['K46', 'collinear', False], ['K47', 'collinear', True]]
    >>> kpi_fitness(card.assign(n=13))["drop"].tolist()  # 13 Members: flagged, no drop advised
    [False, False]
    """
    r = rules or FindingRules()
    rows = []
    ir, ix, rm = _num(card, "item_rest_r"), _num(card, "index_r"), _num(card, "r_max")
    cov = _num(card, "coverage")
    for i, row in card.iterrows():
        code, dim, n = str(row["code"]), str(row.get("dimension", "")), int(row.get("n", 0) or 0)
        verdict = str(row.get("verdict", "keep"))
        if ir[i] < r.misdirected_r:
            problem = "misdirected"
            reason = (f"runs against its dimension {dim}: item-rest r = {_f(ir[i])}, r with the index = "
                      f"{_f(ix[i])} (n = {n}); its direction is probably wrong")
            action, drop = "dropped from the advised index (or reverse its direction after checking)", True
        elif abs(ir[i]) < r.unrelated_r and abs(ix[i]) < r.unrelated_index_r:
            problem = "unrelated"
            reason = (f"unrelated to its dimension {dim}: item-rest r = {_f(ir[i])}, r with the index = "
                      f"{_f(ix[i])} (n = {n}); it measures something else")
            action, drop = "dropped from the advised index", True
        elif rm[i] > r.collinear_r:
            other = str(row.get("r_max_with", ""))
            problem = "collinear"
            reason = f"near-duplicate of {other}: |r| = {_f(rm[i])} (n = {n}); the pair counts one signal twice"
            first = min(code, other)
            drop = code != first
            action = f"dropped, {first} kept" if drop else f"kept, {max(code, other)} dropped"
        elif verdict == "keep":
            continue
        elif cov[i] < r.coverage_low:
            problem = "coverage"
            reason = f"reported by {_pct(cov[i])} of the Members (n = {n})"
            action, drop = "kept; imputed values weigh heavily", False
        else:
            problem = "review"
            reason = _review_reason(row)
            action, drop = "kept; to be reviewed", False
        thin = problem in ("misdirected", "unrelated", "collinear") and n < r.min_n_drop
        if thin:  # a correlation on a dozen Members is too noisy to take a KPI out of an index
            action = f"kept: n = {n} Members are too few to advise a drop (needs {r.min_n_drop}); judged on the pooled sample"
            drop = False
        rows.append({"code": code, "dimension": dim, "verdict": verdict, "problem": problem,
                     "reason": reason, "action": action, "drop": drop, "n": n, "thin": thin})
    return pd.DataFrame(rows, columns=["code", "dimension", "verdict", "problem", "reason", "action", "drop", "n",
                                       "thin"])


def _kpi_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    card = t.get("tbl-scorecard")
    if card is None or not len(card):
        return []
    fit = kpi_fitness(card, r)
    out: list[Finding] = []
    rules = {"misdirected": f"kpi.misdirected (item-rest r < {r.misdirected_r})",
             "unrelated": f"kpi.unrelated (|item-rest r| < {r.unrelated_r} and |index r| < {r.unrelated_index_r})",
             "collinear": f"kpi.collinear (|r| > {r.collinear_r})",
             "coverage": f"kpi.coverage (coverage < {r.coverage_low})", "review": "kpi.review (scorecard)"}
    done: set[str] = set()
    for _, row in fit.iterrows():
        code = row["code"]
        if code in done:
            continue
        if row["problem"] == "collinear":
            pair = fit[(fit["problem"] == "collinear") & fit["reason"].str.contains(code)]
            codes = sorted({code, *pair["code"]})
            done.update(codes)
            dropped = tuple(pair.loc[pair["drop"], "code"]) + (() if not row["drop"] else (code,))
            dropped = tuple(sorted(set(dropped)))
            rec = (f"Keep one of the pair: the advised index keeps {codes[0]} and drops {_join(list(dropped))}."
                   if dropped else f"Check {_join(codes)} on the pooled sample: n = {int(row['n'])} Members are "
                   f"too few to advise a drop here.")
            out.append(Finding(
                f"{_join([_named(c, names) for c in codes])} are near-duplicates: " + row["reason"].split(": ", 1)[1]
                + ".", {"r_max": float(_num(card[card["code"] == code], "r_max").iloc[0])}, int(row["n"]),
                "warning", rec, rules["collinear"], "validity", tuple(codes), dropped))
            continue
        done.add(code)
        sev: Severity = "critical" if row["problem"] == "misdirected" else (
            "warning" if row["drop"] or row["problem"] == "coverage" else "info")
        rec = {"misdirected": f"Drop {code} or reverse its direction once its definition is checked.",
               "unrelated": f"Drop {code} from the index (keep reporting it) until its link to its "
                            "dimension is shown.",
               "coverage": f"Keep {code} but report how much of it is imputed.",
               "review": f"Review {code}; the index keeps it."}[row["problem"]]
        if row["thin"]:
            rec = (f"Review {code} on the pooled sample: n = {int(row['n'])} Members are too few to advise "
                   "dropping it here.")
            sev = "warning"
        row_card = card[card["code"] == code].iloc[0]
        out.append(Finding(
            f"{_named(code, names)} {row['reason']}.",
            {k: float(row_card[k]) for k in ("item_rest_r", "index_r", "r_max", "coverage") if k in row_card},
            int(row["n"]), sev, rec, rules[row["problem"]], "validity", (code,),
            (code,) if row["drop"] else ()))
    counts = card["verdict"].value_counts() if "verdict" in card.columns else pd.Series(dtype=int)
    drops = tuple(sorted(fit.loc[fit["drop"], "code"]))
    n = int(_num(card, "n").max()) if len(card) else None
    out.append(Finding(
        f"The scorecard keeps {int(counts.get('keep', 0))} of {len(card)} KPIs, flags "
        f"{int(counts.get('review', 0))} for review and {int(counts.get('drop', 0))} for dropping; "
        + (f"the findings advise leaving out {_join(list(drops))}; the framework index computed in this run "
           "still includes them." if drops else
           "no drop is advised on so few Members; the flagged KPIs are judged on the pooled sample."
           if fit["thin"].any() else "no KPI needs to leave the index."),
        {"keep": int(counts.get("keep", 0)), "review": int(counts.get("review", 0)),
         "drop": int(counts.get("drop", 0)), "advised_drops": len(drops)}, n,
        "warning" if drops else "info",
        (f"Publish the index without {_join(list(drops))} (compared with the framework index in the weighting "
         "section), or justify keeping them." if drops else ""),
        "kpi.summary", "validity", drops, drops))
    return out


# ------------------------------------------------------------------------------------ structure

def _structure_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    pca = t.get("tbl-pca")
    if pca is None or not len(pca):
        return []
    out: list[Finding] = []
    for code, g in pca.groupby("code", sort=False):
        withheld = str(g["withheld"].iloc[0]) if "withheld" in g.columns and pd.notna(g["withheld"].iloc[0]) else ""
        n, k = int(_num(g, "n").iloc[0]), int(_num(g, "k").iloc[0])
        if withheld:
            out.append(Finding(f"Dimension {code}: {withheld}.", {"n": n, "k": k}, n, "warning",
                               "Judge the structure of the dimensions on a larger (pooled) sample.",
                               f"sample.pca (n ≤ k or n < {guards.MIN_N_MULTIVARIATE})", "structure", (str(code),)))
            continue
        pc1 = g[g["component"].astype(str) == "PC1"]
        if not len(pc1):
            continue
        share = float(_num(pc1, "explained").iloc[0])
        kept = int(_num(pc1, "n_parallel").iloc[0])
        kmo = float(_num(pc1, "kmo").iloc[0])
        one = kept <= 1 and share >= r.dominant_share
        out.append(Finding(
            f"Dimension {code}: " + (f"one dominant component explains {_pct(share)} of the variance of its "
                                     f"{k} KPIs" if one else
                                     f"parallel analysis keeps {kept} components; the first explains "
                                     f"{_pct(share)} of the variance of its {k} KPIs")
            + (f" (KMO {_f(kmo)}, n = {n})." if math.isfinite(kmo) else f" (n = {n})."),
            {"pc1_share": share, "components": kept, "kmo": kmo, "k": k}, n, "info" if one else "warning",
            "" if one else f"Check whether {code} mixes sub-dimensions; its aggregate averages them.",
            f"structure.{'one' if one else 'several'}_components (parallel analysis; share ≥ {r.dominant_share})",
            "structure", (str(code),)))
    return out


# ------------------------------------------------------------------------------------ weighting

def _weighting_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    ranks = t.get("tbl-weighting-ranks")
    eff = t.get("tbl-effective-weights")
    imbalanced: list[str] = []
    if eff is not None and len(eff) and {"nominal", "effective"} <= set(eff.columns):
        ratio = _num(eff, "effective") / _num(eff, "nominal")
        bad = eff[(ratio > r.balance_ratio) | (ratio < 1 / r.balance_ratio)]
        imbalanced = bad["code"].astype(str).tolist()
        lv = _num(eff, "level")
        top = eff[lv == lv.max()]
        n = int(_num(eff, "n").max()) if "n" in eff.columns else None
        spread = (f"the dimensions' effective weights range from {_pct(_num(top, 'effective').min())} to "
                  f"{_pct(_num(top, 'effective').max())} (nominal {_pct(_num(top, 'nominal').min())}"
                  + (f"–{_pct(_num(top, 'nominal').max())}" if _num(top, 'nominal').nunique() > 1 else "") + ")")
        out.append(Finding(
            (f"Effective weights depart from the nominal ones by more than a factor {r.balance_ratio:g} for "
             f"{len(bad)} component{'s' if len(bad) != 1 else ''} ("
             + _join([f"{c} {_f(x)}×" for c, x in zip(bad["code"], ratio[bad.index], strict=True)][:8])
             + (", …" if len(bad) > 8 else "") + f"); {spread}." if len(bad) else
             f"Effective weights match the nominal ones within a factor {r.balance_ratio:g} at every level; {spread}."),
            {"n_imbalanced": len(bad), "max_ratio": float(ratio.max()), "min_ratio": float(ratio.min())}, n,
            "warning" if len(bad) else "info",
            (f"Check why these components drive their parent more or less than intended: {_join(imbalanced[:8])}." if len(bad) else ""),
            f"weighting.balance (effective/nominal outside 1/{r.balance_ratio:g}–{r.balance_ratio:g})", "weighting",
            tuple(imbalanced)))
    if ranks is None or not len(ranks) or "framework" not in ranks.columns:
        return out
    key = "member" if "member" in ranks.columns else ranks.columns[0]
    base = _num(ranks, "framework")
    schemes = [c for c in ranks.columns if c not in (key, "framework")]
    summary: dict[str, tuple[float, float, str]] = {}
    for s in schemes:
        shift = (_num(ranks, s) - base).abs()
        if shift.notna().sum() == 0:
            continue
        j = int(np.nanargmax(shift.to_numpy(dtype=float)))  # a Member a scheme leaves unranked is skipped
        summary[s] = (float(shift.median()), float(shift.max()), str(ranks[key].iloc[j]))
    n = int(base.notna().sum())
    identical = [s for s, (_, mx, _) in summary.items() if mx == 0]
    for s in identical:
        out.append(Finding(f"The '{s}' weights give exactly the framework's ranks (n = {n}): the framework "
                           f"weights are already {s} at every level, so this scheme is not an alternative.",
                           {"max_shift": 0.0}, n, "info", "", "weighting.identical (largest |rank shift| = 0)",
                           "weighting", (s,)))
    far = {s: v for s, v in summary.items() if v[1] > r.shift_large and s not in identical}
    if summary:
        def _largest(s: str) -> str:
            j = int(np.nanargmax((_num(ranks, s) - base).abs().to_numpy(dtype=float)))
            return f"rank {int(base.iloc[j])} → {int(_num(ranks, s).iloc[j])}"
        parts = [f"{s}: median {_f(v[0], 1)}, largest {v[1]:.0f} ({v[2]}, {_largest(s)})"
                 for s, v in summary.items() if s not in identical]
        if parts:
            out.append(Finding("Rank shifts against the framework weights (n = " + str(n) + "): " + "; ".join(parts) + ".",
                               {f"{s}_median": v[0] for s, v in summary.items()} | {f"{s}_max": v[1] for s, v in summary.items()},
                               n, "warning" if far else "info",
                               (f"Schemes that reorder Members by more than {r.shift_large:g} places ("
                                f"{_join(list(far))}) are different indices, not variants." if far else ""),
                               f"weighting.rank_shift (largest |shift| > {r.shift_large:g})", "weighting",
                               tuple(summary)))
    close = [s for s, v in summary.items() if v[0] <= r.shift_small and s not in identical and s != "bod"]
    if imbalanced and "balanced" in summary and summary["balanced"][0] <= r.shift_small:
        advice = ("the 'balanced' weights are advised: the framework's effective weights are imbalanced and "
                  f"balancing them moves ranks by a median of only {_f(summary['balanced'][0], 1)}")
        adv = "balanced"
    else:
        adv = "framework"
        advice = ("the framework weights are advised: " + (
            "their effective weights are balanced" if not imbalanced else
            "no alternative balances them without reordering Members") +
            (f", and the close alternatives ({_join(close)}) move ranks by a median of at most {r.shift_small:g}"
             if close else ""))
    out.append(Finding(f"{advice[:1].upper()}{advice[1:]}.", {"advised": adv}, n, "info",
                       f"Publish the index with the {adv} weights; report the others as sensitivity checks.",
                       f"weighting.advice (imbalance and median |shift| ≤ {r.shift_small:g})", "weighting", (adv,)))
    return out


def _advised_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    """The advised index (framework KPIs minus the advised drops) against the framework's."""
    out: list[Finding] = []
    adv_tab = t.get("tbl-advised-index")
    if adv_tab is not None and len(adv_tab) and {"rank_framework", "rank_advised"} <= set(adv_tab.columns):
        shift = (_num(adv_tab, "rank_advised") - _num(adv_tab, "rank_framework")).abs()
        j = int(shift.to_numpy().argmax())
        first = adv_tab["dropped"].iloc[0] if "dropped" in adv_tab.columns else ""
        dropped = str(first) if pd.notna(first) else ""  # an empty CSV cell reads back as NaN
        if not dropped:
            out.append(Finding(f"No KPI is advised to leave the index, so the advised index is the framework's "
                               f"(n = {len(adv_tab)}).", {"max_shift": 0.0}, len(adv_tab), "info", "",
                               "weighting.advised_index", "weighting", ()))
            return out
        out.append(Finding(
            (f"Without {dropped} the index " if dropped else "The advised index ")
            + f"moves Members by a median of {_f(shift.median(), 1)} ranks and at most {shift.max():.0f} "
              f"({adv_tab['member'].iloc[j]}: {int(_num(adv_tab, 'rank_framework').iloc[j])} → "
              f"{int(_num(adv_tab, 'rank_advised').iloc[j])}; n = {len(adv_tab)}).",
            {"median_shift": float(shift.median()), "max_shift": float(shift.max())}, len(adv_tab),
            "warning" if shift.max() > r.rank_window else "info",
            "Publish the advised index beside the framework's until the flagged KPIs are revised.",
            "weighting.advised_index", "weighting", (str(adv_tab["member"].iloc[j]),)))
    return out




# ------------------------------------------------------------------------------------ outcomes

def _outcome_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    oc = t.get("tbl-outcome-correlations")
    if oc is None or not len(oc):
        return []
    code = "PMM" if "PMM" in set(oc["code"]) else str(oc["code"].iloc[0])
    sub = oc[(oc["code"] == code) & (oc["method"] == "pearson")] if "method" in oc.columns else oc[oc["code"] == code]
    out: list[Finding] = []
    best: dict[str, tuple[float, str]] = {}
    lines = []
    wrong, weak = [], []
    for _, row in sub.iterrows():
        meta = variable_meta(str(row["variable"]))
        est, lo, hi, n = float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"])
        if not math.isfinite(est):
            continue
        label = variable_label(str(row["variable"]))
        lines.append(f"{label} r = {_f(est)} [{_f(lo)}, {_f(hi)}], n = {n}")
        if meta is None:
            continue
        signed = est * meta.direction
        if meta.kind in ("trade", "governance", "income") and signed > best.get(meta.kind, (-2.0, ""))[0]:
            best[meta.kind] = (signed, label)
        if meta.kind == "trade":
            if (hi < 0 if meta.direction > 0 else lo > 0):
                wrong.append((label, est, lo, hi, n))
            elif lo <= 0 <= hi:
                weak.append((label, est, n))
    n_all = int(_num(sub, "n").max()) if len(sub) else None
    if lines:
        out.append(Finding("The index against the external outcomes (Pearson, 95 % interval): " + "; ".join(lines) + ".",
                           {"n_outcomes": len(lines)}, n_all, "info", "", "outcomes.correlations", "outcomes", (code,)))
    for label, est, lo, hi, n in wrong:
        out.append(Finding(f"The index runs the wrong way with {label}: r = {_f(est)} [{_f(lo)}, {_f(hi)}] (n = {n}); "
                           "better-scored Members have worse outcomes.", {"estimate": est}, n, "critical",
                           "Check the KPIs behind this outcome and the outcome's coverage before publishing.",
                           "outcomes.wrong_sign (interval excludes 0 on the wrong side)", "outcomes", (label,)))
    if weak:
        def _weak(lb: str, e: float, n: int) -> str:
            meta = next((variable_meta(str(v)) for v in sub["variable"] if variable_label(str(v)) == lb), None)
            wrong_way = meta is not None and e * meta.direction < 0
            return f"{lb} (r = {_f(e)}{', the wrong sign' if wrong_way else ''}, n = {n})"

        out.append(Finding("No clear relation with " + _join([_weak(lb, e, n) for lb, e, n in weak])
                           + ": the 95 % interval includes 0.", {"n_weak": len(weak)}, n_all, "warning",
                           "Do not claim the index predicts these outcomes.",
                           "outcomes.weak (interval includes 0)", "outcomes", tuple(lb for lb, _, _ in weak)))
    if "trade" in best and "governance" in best and best["governance"][0] > best["trade"][0]:
        g, tr = best["governance"], best["trade"]
        out.append(Finding(f"The index correlates more with {g[1]} (|r| = {_f(g[0])}) than with its closest trade "
                           f"outcome, {tr[1]} (|r| = {_f(tr[0])}): it may partly track governance or income "
                           "rather than Customs performance.", {"governance_r": g[0], "trade_r": tr[0]}, n_all,
                           "warning", "Read the partial correlations (given GDP per capita and governance) before "
                                      "interpreting the index as a trade-facilitation measure.",
                           "outcomes.tracks_governance (|r| governance > |r| trade)", "outcomes", (g[1], tr[1])))
    pc = t.get("tbl-partial-correlations")
    if pc is not None and len(pc):
        psub = pc[(pc["code"] == code) & (pc["method"] == "pearson")] if "method" in pc.columns else pc[pc["code"] == code]
        for covar, g in psub.groupby("covar", sort=False):
            trade = [(variable_label(str(v)), float(e), float(lo), float(hi), int(n))
                     for v, e, lo, hi, n in zip(g["variable"], g["estimate"], g["ci_low"], g["ci_high"], g["n"], strict=True)
                     if (m := variable_meta(str(v))) is not None and m.kind == "trade" and math.isfinite(float(e))]
            if not trade:
                continue
            kept = [x for x in trade if not (x[2] <= 0 <= x[3])]
            cv = _join([variable_label(c.strip(), unit=False) for c in str(covar).split(",")])
            out.append(Finding(
                f"Given {cv}, the index still relates to {len(kept)} of {len(trade)} trade outcomes "
                f"(e.g. {trade[0][0]}: partial r = {_f(trade[0][1])} [{_f(trade[0][2])}, {_f(trade[0][3])}], "
                f"n = {trade[0][4]}).", {"n_kept": len(kept), "n_trade": len(trade)}, trade[0][4],
                "info" if len(kept) * 2 >= len(trade) else "warning",
                "" if len(kept) * 2 >= len(trade) else f"Most of the index's link to trade outcomes runs through {cv}.",
                f"outcomes.partial ({covar})", "outcomes", (str(covar),)))
    return out


# ------------------------------------------------------------------------------------ robustness

def _uncertainty_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    ri = t.get("tbl-rank-intervals")
    if ri is not None and len(ri):
        code = "PMM" if "PMM" in set(ri["code"]) else str(ri["code"].iloc[0])
        g = ri[ri["code"] == code]
        rank, lo, hi = _num(g, "rank"), _num(g, "rank_low"), _num(g, "rank_high")
        within = (lo >= rank - r.rank_window) & (hi <= rank + r.rank_window)
        share = float(within.mean())
        fragile = g[~within]
        n_rep = int(_num(g, "n").max()) if "n" in g.columns else None
        unit = "unit" if "unit" in g.columns else "member"
        frag = [f"{u} (rank {int(a)}, interval {b:.0f}–{c:.0f})"
                for u, a, b, c in zip(fragile[unit], rank[fragile.index], lo[fragile.index], hi[fragile.index], strict=True)]
        out.append(Finding(
            f"{int(within.sum())} of {len(g)} Members ({_pct(share)}) have a 90 % rank interval within ±{r.rank_window} "
            f"of their nominal rank ({n_rep} replications)"
            + (f"; fragile: {_join(frag[:10])}{', …' if len(frag) > 10 else ''}." if frag else "."),
            {"share_within": share, "n_fragile": len(frag)}, len(g),
            "info" if share >= r.robust_share else "warning",
            "" if share >= r.robust_share else "Publish ranks with their intervals (or as bands), not as single places.",
            f"robustness.rank_window (share within ±{r.rank_window} ≥ {_pct(r.robust_share)})", "uncertainty",
            tuple(str(u) for u in fragile[unit])))
    sob = t.get("tbl-sobol")
    if sob is not None and len(sob):
        n_base = int(_num(sob, "n").max())
        width = (_num(sob, "ci_high") - _num(sob, "ci_low"))
        if n_base < r.min_sobol_n or width.max() > r.sobol_ci_width:
            out.append(Finding(
                f"The Sobol' indices rest on N = {n_base} base samples; their 95 % intervals are up to "
                f"{_f(width.max())} wide: the estimates have not converged.", {"n_base": n_base, "max_width": float(width.max())},
                n_base, "warning", f"Rerun the sensitivity analysis with n_samples ≥ {r.min_sobol_n} before ranking "
                                   "the assumptions by importance.",
                f"convergence.sobol (N < {r.min_sobol_n} or interval width > {r.sobol_ci_width})", "uncertainty", ()))
        tot = sob[(sob["order"] == "total")] if "order" in sob.columns else sob.iloc[0:0]
        if len(tot):
            idx = tot[tot["code"] == ("PMM" if "PMM" in set(tot["code"]) else tot["code"].iloc[0])]
            zero = sorted({str(f) for f, e in zip(idx["factor"], _num(idx, "estimate"), strict=True)
                           if abs(e) <= r.zero_effect})
            if zero:
                out.append(Finding(
                    f"The assumption{'s' if len(zero) > 1 else ''} {_join(zero)} ha{'ve' if len(zero) > 1 else 's'} a "
                    "total Sobol' index of 0: all its alternatives give identical results on these data (e.g. no "
                    "value is treated as an outlier), so it is not a source of uncertainty here.",
                    {"factors": len(zero)}, n_base, "info", "", "convergence.zero_effect", "uncertainty", tuple(zero)))
            norm = idx[(idx["factor"] == "normalise") & (idx["output"] == "score")] if "output" in idx.columns else idx.iloc[0:0]
            if len(norm) and float(norm["estimate"].iloc[0]) >= r.normalisation_share:
                out.append(Finding(
                    f"The normalisation drives most of the variance of the scores (total Sobol' index "
                    f"{_f(norm['estimate'].iloc[0])}): scores computed under different normalisations are on different "
                    "scales, so score intervals and pooled score distributions mix scales; ranks are comparable.",
                    {"total": float(norm["estimate"].iloc[0])}, n_base, "warning",
                    "Compare Members by rank intervals, not by score intervals, across normalisations.",
                    f"uncertainty.normalisation_scale (total index ≥ {r.normalisation_share})", "uncertainty",
                    ("normalise",)))
            top = idx.sort_values("estimate", ascending=False)
            if "output" in top.columns:
                top = top[top["output"] == top["output"].iloc[0]]
            if len(top):
                f0 = top.iloc[0]
                out.append(Finding(
                    f"The assumption that matters most is {f0['factor']} (total Sobol' index {_f(f0['estimate'])} "
                    f"[{_f(f0['ci_low'])}, {_f(f0['ci_high'])}] of {str(f0.get('output', 'the output')).replace('_', ' ')}).",
                    {"total": float(f0["estimate"])}, n_base, "info", "", "uncertainty.top_factor", "uncertainty",
                    (str(f0["factor"]),)))
    return out


def _sample_findings(t: Mapping[str, pd.DataFrame], r: FindingRules, names: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    alpha = t.get("tbl-alpha")
    if alpha is not None and "withheld" in alpha.columns:
        w = alpha[alpha["withheld"].astype("string").fillna("") != ""]
        if len(w):
            out.append(Finding(f"Cronbach's alpha is withheld for {len(w)} of {len(alpha)} groups of KPIs "
                               f"({_join(list(w['code'].astype(str))[:10])}{', …' if len(w) > 10 else ''}): "
                               f"{w['withheld'].iloc[0].split(': ', 1)[-1]}.", {"n_withheld": len(w)}, None, "info",
                               "", f"sample.alpha (k < {guards.MIN_K_ALPHA})", "structure", tuple(w["code"].astype(str))))
    ols = t.get("tbl-ols")
    if ols is not None and "dropped_controls" in ols.columns:
        d = sorted({x for x in ols["dropped_controls"].astype("string").fillna("") if x})
        if d:
            out.append(Finding("Regression controls dropped: " + "; ".join(d) + ".", {"n": len(d)}, None, "info",
                               "", f"sample.controls (< {guards.MIN_GROUP} Members)", "outcomes", ()))
    kg = t.get("tbl-known-groups")
    if kg is not None and "dropped_groups" in kg.columns:
        d = sorted({x for x in kg["dropped_groups"].astype("string").fillna("") if x})
        if d:
            out.append(Finding("Income groups left out of the known-groups test: " + "; ".join(d) + ".", {}, None,
                               "info", "", f"sample.groups (< {guards.MIN_GROUP} Members)", "outcomes", ()))
    return out


_FAMILIES: tuple[Callable[[Mapping[str, pd.DataFrame], FindingRules, Mapping[str, str]], list[Finding]], ...] = (
    _data_findings, _kpi_findings, _structure_findings, _sample_findings, _weighting_findings,
    _advised_findings, _outcome_findings, _uncertainty_findings)


def compute_findings(tables: Mapping[str, pd.DataFrame], *, rules: FindingRules | Mapping[str, Any] | None = None,
                     names: Mapping[str, str] | None = None) -> list[Finding]:
    """Every finding the tables of a run support, in the paper's section order.

    Parameters
    ----------
    tables : mapping
        Table label (``tbl-scorecard``, ``tbl-pca``, ``tbl-coverage``, ``tbl-missing-by-group``,
        ``tbl-effective-weights``, ``tbl-weighting-ranks``, ``tbl-advised-index``,
        ``tbl-outcome-correlations``, ``tbl-partial-correlations``, ``tbl-rank-intervals``,
        ``tbl-sobol``, ``tbl-alpha``, ``tbl-ols``, ``tbl-known-groups``) → DataFrame as saved.
    rules : FindingRules or mapping, optional
    names : mapping, optional
        KPI code → name (defaults to the ``name`` column of ``tbl-coverage``).

    Returns
    -------
    list of Finding
        Sorted by section (:data:`SECTIONS`), then severity (critical first), stable otherwise.
    """
    r = rules if isinstance(rules, FindingRules) else FindingRules.from_dict(rules)
    if names is None:
        cov = tables.get("tbl-coverage")
        key = "kpi" if cov is not None and "kpi" in cov.columns else "code"
        names = dict(zip(cov[key].astype(str), cov["name"].astype(str), strict=True)) \
            if cov is not None and "name" in cov.columns else {}
    found = [f for fam in _FAMILIES for f in fam(tables, r, names)]
    order = {s: i for i, s in enumerate(SECTIONS)}
    return sorted(found, key=lambda f: (order[f.section], _SEV_ORDER[f.severity]))


def headlines(findings: Sequence[Finding]) -> list[tuple[str, str, str]]:
    """The key findings of a paper's first page: one short statement per family, with its recommendation.

    Returns
    -------
    list of (section, statement, recommendation)
        KPI fitness first (every advised drop named with its problem and evidence), then data gaps,
        weighting, external validity, robustness, convergence and structure.

    Examples
    --------
    >>> card = pd.DataFrame({"code": ["K01", "K40"], "dimension": ["OD", "OD"], "coverage": [1.0, 1.0],
    ...                      "n": [110, 110], "item_rest_r": [0.8, -0.86], "index_r": [0.8, -0.88],
    ...                      "r_max": [0.8, 0.81], "r_max_with": ["K40", "K01"], "verdict": ["keep", "drop"]})
    >>> headlines(compute_findings({"tbl-scorecard": card}))[0][1]
    'The findings advise dropping K40 (runs against its dimension: item-rest r = −0.86, n = 110); the index computed in this run still includes it.'
    """
    out: list[tuple[str, str, str]] = []
    by = lambda prefix: [f for f in findings if f.rule.startswith(prefix)]  # noqa: E731
    parts = []
    thin = [f for f in findings if f.rule.startswith(("kpi.unrelated", "kpi.misdirected", "kpi.collinear"))
            and not f.drop]
    unrel = [f for f in by("kpi.unrelated") if f.drop]
    if unrel:
        rs = [abs(f.evidence.get("item_rest_r", float("nan"))) for f in unrel]
        parts.append(f"{_join([f.subjects[0] for f in unrel])} (unrelated to {'their' if len(unrel) > 1 else 'its'} "
                     f"dimension: |item-rest r| ≤ {_f(max(rs))})")
    for f in [f for f in by("kpi.misdirected") if f.drop]:
        parts.append(f"{f.subjects[0]} (runs against its dimension: item-rest r = {_f(f.evidence['item_rest_r'])}, "
                     f"n = {f.n})")
    for f in [f for f in by("kpi.collinear") if f.drop]:
        kept = [c for c in f.subjects if c not in f.drop]
        parts.append(f"{_join(list(f.drop))} (near-duplicate of {_join(kept)}: |r| = {_f(f.evidence['r_max'])})")
    summary = by("kpi.summary")
    if parts:
        n_drop = len(advised_drops(findings))
        out.append(("validity", f"The findings advise dropping {_join(parts)}; the index computed in this run still "
                                f"includes {'them' if n_drop > 1 else 'it'}.", summary[0].recommendation if summary else ""))
    elif summary:
        out.append(("validity", summary[0].statement, summary[0].recommendation))
    if thin:
        codes = sorted({c for f in thin for c in f.subjects})
        ns = sorted({int(f.n) for f in thin if f.n is not None})
        out.append(("validity", f"{_join(codes)} {'are' if len(codes) > 1 else 'is'} flagged as unrelated, "
                                "misdirected or duplicated, but on too few Members to advise a drop "
                                f"(n = {ns[0]}{f'–{ns[-1]}' if len(ns) > 1 else ''}); the pooled evidence decides.",
                    "Judge the flagged KPIs on the pooled (all-region) sample before changing the index."))
    for f in by("data.structural_gap"):
        out.append(("data", f.statement, f.recommendation))
    for f in by("data.coverage"):
        if f.severity != "info":
            out.append(("data", f.statement, f.recommendation))
    for f in by("sample.members"):
        out.append(("data", f.statement, f.recommendation))
    adv = by("weighting.advice")
    ai = by("weighting.advised_index")
    ident = by("weighting.identical")
    if adv:
        text = adv[0].statement + (" " + ai[0].statement if ai else "")
        if ident:
            text += f" The '{ident[0].subjects[0]}' scheme is identical to the framework's."
        out.append(("weighting", text, adv[0].recommendation))
    for prefix in ("outcomes.wrong_sign", "outcomes.tracks_governance", "outcomes.weak"):
        for f in by(prefix):
            out.append(("outcomes", f.statement, f.recommendation))
    conv = by("convergence.sobol")
    for f in by("robustness.rank_window"):
        text = f.statement.split("; fragile: ", 1)[0]
        if f.subjects:
            text += (f"; fragile: {_join(list(f.subjects[:5]))}" if len(f.subjects) <= 5 else
                     f"; fragile: {', '.join(f.subjects[:4])} and {len(f.subjects) - 4} others")
        text = text.rstrip(".") + "."
        rec = f.recommendation
        if conv:
            text += f" Sobol' estimates: N = {conv[0].evidence['n_base']} base samples, not converged."
            rec = " ".join(x for x in (rec, conv[0].recommendation) if x)
        out.append(("uncertainty", text, rec))
    if conv and not by("robustness.rank_window"):
        out.append(("uncertainty", conv[0].statement, conv[0].recommendation))
    struct = by("structure.")
    several = [f for f in struct if f.rule.startswith("structure.several")]
    withheld = by("sample.pca")
    if struct:
        shares = [f.evidence["pc1_share"] for f in struct if "pc1_share" in f.evidence]
        one = [f.subjects[0] for f in struct if f.rule.startswith("structure.one")]
        text = (f"One dominant component in {_join(one)} ({_pct(min(shares))}–{_pct(max(shares))} of the variance)"
                if one and shares else "")
        if several:
            text += ("; " if text else "") + f"several components in {_join([f.subjects[0] for f in several])}"
        if withheld:
            text += ("; " if text else "") + f"PCA withheld for {_join([f.subjects[0] for f in withheld])} (too few Members)"
        out.append(("structure", text + ".", several[0].recommendation if several else ""))
    elif withheld:
        dims = _join([f"{f.subjects[0]} (n = {f.evidence['n']}, k = {f.evidence['k']})" for f in withheld])
        out.append(("structure", f"PCA, KMO and Bartlett's test are withheld for {dims}: they need more Members "
                                 f"than KPIs and at least {guards.MIN_N_MULTIVARIATE}.", withheld[0].recommendation))
    return out


def advised_drops(findings: Sequence[Finding]) -> tuple[str, ...]:
    """KPIs the findings advise leaving out of the index (sorted, unique)."""
    return tuple(sorted({k for f in findings for k in f.drop}))


def advised_index(result: Any, drop: Sequence[str]) -> pd.DataFrame:
    """The index rebuilt without the advised KPIs, beside the framework's (same spec otherwise).

    The KPIs in ``drop`` leave the data and the hierarchy (an expected outcome left with no KPI
    leaves too; siblings keep their nominal weights, renormalised within the parent) and
    :func:`pmm_lib.core.build.build` runs again with ``result.spec``.

    Parameters
    ----------
    result : IndexResult
        The framework build (:func:`pmm_lib.core.build.build_pmm`).
    drop : sequence of str
        KPI codes (e.g. :func:`advised_drops`); empty gives identical columns.

    Returns
    -------
    DataFrame
        ``member, framework, advised, rank_framework, rank_advised, shift, dropped`` sorted by
        framework rank (``shift`` = framework rank - advised rank, positive = moves up).
    """
    from pmm_lib.core.build import build

    top = result.top
    meta = result.meta
    drop = [c for c in drop if c in set(meta["code"])]
    gone = set(drop)
    lv = meta["level"].astype(int)
    for level in sorted(lv.unique())[1:]:  # a node whose children all left leaves too
        for code in meta.loc[lv == level, "code"]:
            kids = meta.loc[meta["parent"] == code, "code"]
            if len(kids) and set(kids) <= gone:
                gone.add(code)
    m2 = meta[~meta["code"].isin(gone)]
    data = result.raw[[c for c in result.raw.columns if c not in gone]]
    alt = build(data, m2, result.spec) if drop else result
    out = pd.DataFrame({"framework": result.aggregated[top], "advised": alt.aggregated[top].reindex(result.aggregated.index),
                        "rank_framework": result.ranks[top],
                        "rank_advised": alt.ranks[top].reindex(result.ranks.index)})
    out["shift"] = out["rank_framework"] - out["rank_advised"]
    out["dropped"] = ", ".join(drop)
    out.index.name = "member"
    return out.sort_values("rank_framework").reset_index()


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """Findings as a table: ``section, severity, statement, recommendation, rule, n, subjects``."""
    return pd.DataFrame([{"section": f.section, "severity": f.severity, "statement": f.statement,
                          "recommendation": f.recommendation, "rule": f.rule, "n": f.n,
                          "subjects": ", ".join(f.subjects)} for f in findings],
                        columns=["section", "severity", "statement", "recommendation", "rule", "n", "subjects"])


