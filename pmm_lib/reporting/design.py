"""Design review: compare a base framework with a candidate on the same observations.

This module owns the evidence of a design change and the verdict written from it:

* **coverage and burden** - KPIs asked, optional KPIs, values reported and expected skips;
* **internal consistency** - Cronbach's alpha with bootstrap CIs of every dimension and expected
  outcome before and after (:func:`pmm_lib.analysis.validity.consistency_table`; for a node of two
  KPIs, whose alpha the small-sample guards withhold, the Spearman-Brown two-item reliability), the first
  principal component of each dimension (:func:`pmm_lib.analysis.validity.pca_table`);
* **each KPI's scorecard verdict** before and after (:func:`pmm_lib.analysis.validity.scorecard`);
* **outcome validity** - correlations of the index and dimension scores with external outcomes
  (:func:`pmm_lib.analysis.outcomes.outcome_correlations`) before and after;
* **ranks and robustness** - the Monte Carlo uncertainty engine
  (:func:`pmm_lib.uncertainty.sensitivity.uncertainty_analysis`) run on both designs with the same
  seed, so replication *i* of both uses the same draw of the shared uncertain assumptions; each
  Member's rank shift is reported with its 5-95 % interval over the paired replications, not as a
  point shift.

Findings are :class:`pmm_lib.analysis.findings.Finding` (rules ``design.*``) computed by documented
thresholds (:class:`DesignThresholds`); the verdict is written from them.

Verdict rules
-------------
Each line of evidence gives a signal. *Consistency*: a dimension or outcome whose alpha changes by
at least ``alpha_delta`` (both finite) rises or falls; more rises than falls is positive, more falls
than rises negative. *Scorecard*: fewer KPIs with a ``drop`` verdict is positive, more is
negative. *Outcome validity*: the index's correlation with an outcome falling by more than
``outcome_loss`` is negative ("loss of outcome validity"); rising by more than ``outcome_gain``
positive. The verdict is ``improves`` (positive signals only), ``worsens`` (negative only),
``mixed`` (both) or ``neutral`` (none). Coverage, burden and rank shifts are reported, not scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmm_lib.analysis.findings import Finding
from pmm_lib.analysis.outcomes import outcome_correlations, outcome_table
from pmm_lib.analysis.validity import (
    consistency_table,
    fisher_ci,
    groups_from_meta,
    pca_table,
    scorecard,
)
from pmm_lib.core.build import IndexResult, build
from pmm_lib.core.spec import Spec
from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs.candidates import (
    changes_table,
    framework_diff,
    framework_hash,
    is_candidate_file,
    load_design,
)
from pmm_lib.inputs.framework import Framework
from pmm_lib.settings import numbers_from_dict

__all__ = [
    "DesignReview",
    "DesignThresholds",
    "Verdict",
    "compare_designs",
    "design_findings",
]

Verdict = Literal["improves", "worsens", "mixed", "neutral"]
Effect = Literal["positive", "negative", "neutral"]
_SEVERITY = {"positive": "info", "neutral": "info", "negative": "warning"}

#: Outcome variables (higher = better) the review correlates the scores with, when available.
OUTCOME_VARIABLES: tuple[str, ...] = ("lpi_customs", "lpi_overall", "wgi_ge")


@dataclass(frozen=True)
class DesignThresholds:
    """Documented, overridable thresholds of the design verdict (see the module docstring).

    Attributes
    ----------
    alpha_delta : float
        Change of Cronbach's alpha counted as a rise or fall (0.02, the scorecard's
        ``alpha_gain_review``).
    outcome_loss, outcome_gain : float
        Fall / rise of the index's correlation with an outcome counted as a loss / gain of
        outcome validity (0.05).
    rank_move : int
        Members whose nominal rank moves by more than this are reported (3).
    """

    alpha_delta: float = 0.02
    outcome_loss: float = 0.05
    outcome_gain: float = 0.05
    rank_move: int = 3

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> DesignThresholds:
        """Build from a mapping; unknown names raise :class:`~pmm_lib.errors.SpecError` listing the allowed ones."""
        return numbers_from_dict(cls, values, "design thresholds")


@dataclass(frozen=True, eq=False)
class DesignReview:
    """Everything a design review found; tables are tidy DataFrames (columns listed per field).

    Attributes
    ----------
    changes : DataFrame
        ``change, type, codes, description, reason`` (the candidate's changes; for two full framework
        files, the differences).
    differences : DataFrame
        :func:`pmm_lib.inputs.candidates.framework_diff` ``code, level, change, before, after``.
    burden : DataFrame
        One row per design: ``design, kpis, optional_kpis, members, cells, reported, skipped,
        skip_share, skipped_per_member``.
    consistency : DataFrame
        ``code, name, level, k_before, measure_before, alpha_before, ci_low_before, ci_high_before,
        k_after, measure_after, alpha_after, ci_low_after, ci_high_after, change, n``; ``measure`` is
        ``alpha`` or ``spearman_brown`` (two KPIs), empty when withheld.
    structure : DataFrame
        First principal component per dimension: ``code, explained_before, n_kaiser_before,
        kmo_before, withheld_before, explained_after, ...`` (``withheld``: why the small-sample guards
        withheld the statistics, when they did).
    verdicts : DataFrame
        ``code, parent_before, parent_after, verdict_before, verdict_after, item_rest_before,
        item_rest_after, reasons_before, reasons_after`` (``removed`` / ``new`` where absent).
    outcome_validity : DataFrame
        ``code, variable, estimate_before, ci_low_before, ci_high_before, estimate_after,
        ci_low_after, ci_high_after, change, n`` (Pearson).
    ranks : DataFrame
        Per Member: ``unit, score_before, score_after, rank_before, rank_after, shift, shift_q50,
        shift_low, shift_high, rank_low_before, rank_high_before, rank_low_after, rank_high_after``;
        ``shift = rank_before - rank_after`` (positive = moves up), ``shift_low/high`` the 5 % and 95 %
        quantiles of the paired replication shifts.
    robustness : DataFrame
        One row per design: ``design, mean_abs_rank_shift, mean_rank_range, max_rank_range, n, n_failed``.
    truth : DataFrame or None
        With a planted latent (synthetic data): ``design, estimate, n`` = Pearson r of the index
        with the latent.
    findings : tuple of Finding
    verdict : {"improves", "worsens", "mixed", "neutral"}
    verdict_text : str
        The verdict sentence, written from the findings.
    recommendation : str
        What the verdict advises.
    meta : dict
        ``base, candidate`` (paths), ``base_hash, candidate_hash``, ``region, cycle, n_members,
        n_samples, n_boot, seed, base_name, candidate_name``.
    """

    changes: pd.DataFrame
    differences: pd.DataFrame
    burden: pd.DataFrame
    consistency: pd.DataFrame
    structure: pd.DataFrame
    verdicts: pd.DataFrame
    outcome_validity: pd.DataFrame
    ranks: pd.DataFrame
    robustness: pd.DataFrame
    truth: pd.DataFrame | None
    findings: tuple[Finding, ...]
    verdict: Verdict
    verdict_text: str
    recommendation: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# One design's evidence
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Side:
    fw: Framework
    matrix: pd.DataFrame
    result: IndexResult
    consistency: pd.DataFrame
    structure: pd.DataFrame
    card: pd.DataFrame
    correlations: pd.DataFrame
    intervals: pd.DataFrame
    ranks: np.ndarray  # replications x units
    summary: pd.Series
    units: list[str]


def _matrix(obs: pd.DataFrame, path: Path, cycle: int, region: str | None) -> pd.DataFrame:
    from pmm_lib.inputs.data import to_matrix

    return to_matrix(obs, cycle, region, framework_path=path)


def _build_options(spec: Spec, obs: pd.DataFrame, path: Path, matrix: pd.DataFrame, cycle: int,
                   region: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"cycle": int(cycle)}
    if spec.impute.method in ("group_mean", "group_median"):
        from pmm_lib.inputs.data import load_members

        members = load_members().set_index("member")
        if spec.impute.group not in members.columns:
            raise SpecError(f"impute.group: unknown Member grouping column {spec.impute.group!r}")
        options["groups"] = members.reindex(matrix.index)
    if spec.impute.method == "panel":
        cycles = sorted(int(c) for c in pd.unique(obs["cycle"]))
        options["panel"] = {c: _matrix(obs, path, c, region) for c in cycles if c != int(cycle)}
    return options


def _reliability(normalised: pd.DataFrame, meta: pd.DataFrame, *, n_boot: int, seed: int) -> pd.DataFrame:
    """Alpha per node (:func:`consistency_table`, pairwise), Spearman-Brown for two-KPI nodes.

    The small-sample guards withhold alpha for ``k = 2`` (a rescaled correlation); a design change
    that leaves an outcome with two KPIs would then lose its consistency evidence. For those nodes
    the two-item reliability of Eisinga, te Grotenhuis & Pelzer (2013, doi:10.1007/s00038-012-0416-3),
    ``rho = 2 r / (1 + r)``, is reported instead (``measure = "spearman_brown"``), with the Fisher-z
    interval of ``r`` mapped through the same formula.
    """
    cons = consistency_table(normalised, meta, n_boot=n_boot, seed=seed, levels=(3, 2), missing="pairwise")
    cons["measure"] = np.where(cons["alpha"].notna(), "alpha", "")
    groups = groups_from_meta(meta, list(normalised.columns), (3, 2))
    for i, row in cons.iterrows():
        cols = groups.get(row["code"], [])
        if np.isfinite(row["alpha"]) or len(cols) != 2:
            continue
        pair = normalised[cols].dropna()
        if len(pair) < 4 or pair.std().min() == 0:
            continue
        r = float(np.corrcoef(pair.iloc[:, 0], pair.iloc[:, 1])[0, 1])
        lo, hi = fisher_ci(r, len(pair))

        def sb(x: float) -> float:
            return 2 * x / (1 + x) if x > -1 else float("nan")

        cons.loc[i, ["alpha", "ci_low", "ci_high", "n"]] = [sb(r), sb(lo), sb(hi), len(pair)]
        cons.loc[i, "measure"] = "spearman_brown"
    return cons


def _side(path: Path, obs: pd.DataFrame, outcomes: pd.DataFrame | None, spec: Spec, *, cycle: int,
          region: str | None, n_samples: int, n_boot: int, seed: int, progress: bool) -> _Side:
    from pmm_lib.uncertainty.sensitivity import standard_problem, uncertainty_analysis

    fw = load_design(path)
    matrix = _matrix(obs, path, cycle, region)
    if len(matrix) < 5:
        raise InputError(f"only {len(matrix)} Members report in cycle {cycle} for region {region or 'ALL'}",
                         column="member", expected="at least 5 Members for a design review")
    meta = fw.table()
    options = _build_options(spec, obs, path, matrix, cycle, region)
    res = build(matrix, meta, spec, seed=seed, **options)
    cons = _reliability(res.normalised, meta, n_boot=n_boot, seed=seed)
    struct = pca_table(res.normalised, meta, n_iter=100, seed=seed, levels=(3,), missing="pairwise")
    struct = struct[struct["component"] == struct.groupby("code")["component"].transform("min")]
    card = scorecard(matrix, meta, oriented=False)
    corr = pd.DataFrame(columns=["code", "variable", "method", "estimate", "ci_low", "ci_high", "p_value", "n"])
    if outcomes is not None and len(outcomes):
        variables = [v for v in OUTCOME_VARIABLES if v in set(outcomes["variable"])]
        if variables:
            codes = [res.top, *[d.code for d in fw.dimensions]]
            scores = res.aggregated[codes]
            wide = outcome_table(outcomes, variables, as_of=cycle, members=list(scores.index))
            corr = outcome_correlations(scores, wide, method="pearson")
    ua = uncertainty_analysis(matrix, meta, standard_problem(spec), n_samples=n_samples, seed=seed,
                              targets=[res.top], build_options=options, progress=progress)
    reps = ua.replications
    ok = ~reps.failed
    return _Side(fw=fw, matrix=matrix, result=res, consistency=cons, structure=struct, card=card,
                 correlations=corr, intervals=ua.rank_intervals, ranks=reps.ranks[ok, :, 0],
                 summary=ua.summary.iloc[0], units=[str(u) for u in reps.units])


# ----------------------------------------------------------------------------------------------
# Tables before / after
# ----------------------------------------------------------------------------------------------

def _burden(name: str, side: _Side) -> dict[str, Any]:
    m = side.matrix
    cells = int(m.size)
    reported = int(m.notna().sum().sum())
    return {"design": name, "kpis": len(side.fw.kpis), "optional_kpis": sum(k.optional for k in side.fw.kpis),
            "members": len(m), "cells": cells, "reported": reported, "skipped": cells - reported,
            "skip_share": (cells - reported) / cells if cells else float("nan"),
            "skipped_per_member": (cells - reported) / len(m) if len(m) else float("nan")}


def _before_after(a: pd.DataFrame, b: pd.DataFrame, on: list[str], values: list[str]) -> pd.DataFrame:
    left = a[on + values].rename(columns={v: f"{v}_before" for v in values})
    right = b[on + values].rename(columns={v: f"{v}_after" for v in values})
    return left.merge(right, on=on, how="outer", sort=False)


def _consistency(b: _Side, c: _Side) -> pd.DataFrame:
    out = _before_after(b.consistency, c.consistency, ["code"], ["k", "measure", "alpha", "ci_low", "ci_high", "n"])
    names = dict(zip(c.consistency["code"], c.consistency["name"], strict=True))
    names.update({k: v for k, v in zip(b.consistency["code"], b.consistency["name"], strict=True) if k not in names})
    levels = {**dict(zip(b.consistency["code"], b.consistency["level"], strict=True)),
              **dict(zip(c.consistency["code"], c.consistency["level"], strict=True))}
    out.insert(1, "name", out["code"].map(names))
    out.insert(2, "level", out["code"].map(levels).astype(int))
    out["change"] = out["alpha_after"] - out["alpha_before"]
    out["n"] = out[["n_before", "n_after"]].min(axis=1)
    out = out.drop(columns=["n_before", "n_after"])
    return out.sort_values(["level", "code"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _structure(b: _Side, c: _Side) -> pd.DataFrame:
    values = ["explained", "n_kaiser", "kmo"] + (["withheld"] if "withheld" in c.structure.columns else [])
    return _before_after(b.structure, c.structure, ["code"], values)


def _verdicts(b: _Side, c: _Side) -> pd.DataFrame:
    out = _before_after(b.card, c.card, ["code"], ["parent", "verdict", "item_rest_r", "reasons"])
    out = out.rename(columns={"item_rest_r_before": "item_rest_before", "item_rest_r_after": "item_rest_after"})
    out["verdict_before"] = out["verdict_before"].fillna("new")
    out["verdict_after"] = out["verdict_after"].fillna("removed")
    for col in ("parent_before", "parent_after", "reasons_before", "reasons_after"):
        out[col] = out[col].fillna("")
    return out[["code", "parent_before", "parent_after", "verdict_before", "verdict_after", "item_rest_before",
                "item_rest_after", "reasons_before", "reasons_after"]]


def _outcome_validity(b: _Side, c: _Side) -> pd.DataFrame:
    cols = ["code", "variable", "estimate_before", "ci_low_before", "ci_high_before", "estimate_after",
            "ci_low_after", "ci_high_after", "change", "n"]
    if b.correlations.empty or c.correlations.empty:
        return pd.DataFrame(columns=cols)
    out = _before_after(b.correlations, c.correlations, ["code", "variable"], ["estimate", "ci_low", "ci_high", "n"])
    out["change"] = out["estimate_after"] - out["estimate_before"]
    out["n"] = out[["n_before", "n_after"]].min(axis=1)
    return out[cols]


def _ranks(b: _Side, c: _Side) -> pd.DataFrame:
    units = [u for u in b.units if u in set(c.units)]
    ib = [b.units.index(u) for u in units]
    ic = [c.units.index(u) for u in units]
    n = min(len(b.ranks), len(c.ranks))
    shifts = b.ranks[:n][:, ib] - c.ranks[:n][:, ic]
    top_b, top_c = b.result.top, c.result.top
    ri_b = b.intervals.set_index("unit")
    ri_c = c.intervals.set_index("unit")
    q = np.nanquantile(shifts, [0.05, 0.5, 0.95], axis=0) if n else np.full((3, len(units)), np.nan)
    out = pd.DataFrame({
        "unit": units,
        "score_before": b.result.aggregated[top_b].reindex(units).to_numpy(),
        "score_after": c.result.aggregated[top_c].reindex(units).to_numpy(),
        "rank_before": b.result.ranks[top_b].reindex(units).to_numpy(),
        "rank_after": c.result.ranks[top_c].reindex(units).to_numpy(),
    })
    out["shift"] = out["rank_before"] - out["rank_after"]
    out["shift_q50"], out["shift_low"], out["shift_high"] = q[1], q[0], q[2]
    for side, ri in (("before", ri_b), ("after", ri_c)):
        out[f"rank_low_{side}"] = ri["rank_low"].reindex(units).to_numpy()
        out[f"rank_high_{side}"] = ri["rank_high"].reindex(units).to_numpy()
    return out.sort_values(["rank_after", "unit"], kind="stable").reset_index(drop=True)


def _robustness(name: str, side: _Side) -> dict[str, Any]:
    ri = side.intervals
    width = ri["rank_high"] - ri["rank_low"]
    return {"design": name, "mean_abs_rank_shift": float(side.summary["mean_abs_rank_shift"]),
            "mean_rank_range": float(width.mean()), "max_rank_range": float(width.max()),
            "n": int(side.summary["n"]), "n_failed": int(side.summary["n_failed"])}


# ----------------------------------------------------------------------------------------------
# Findings and verdict
# ----------------------------------------------------------------------------------------------

def _f2(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.2f}"


def _finding(statement: str, detail: str, n: int, effect: Effect, rule: str, section: str, *,
             recommendation: str = "", subjects: tuple[str, ...] = (), **numbers: Any) -> Finding:
    """A :class:`pmm_lib.analysis.findings.Finding` of a design review: ``evidence`` holds the
    ``effect`` (positive / negative / neutral for the candidate), a ``detail`` sentence and the numbers."""
    return Finding(statement=statement, evidence={"effect": effect, "detail": detail, **numbers}, n=int(n),
                   severity=_SEVERITY[effect], recommendation=recommendation, rule=rule,  # type: ignore[arg-type]
                   section=section, subjects=subjects)


_RECOMMENDATION: dict[str, str] = {
    "improves": "Adopt the candidate for the next cycle, after review by the methodology team.",
    "worsens": "Do not adopt the candidate.",
    "mixed": "Weigh the gains against the losses; consider splitting the candidate into separate changes.",
    "neutral": "The evidence neither supports nor opposes the candidate; decide on other grounds.",
}


def design_findings(review_tables: Mapping[str, pd.DataFrame], *, thresholds: DesignThresholds | None = None,
                    primary_outcome: str = "lpi_customs", index_code: str = "PMM",
                    n_members: int = 0) -> tuple[list[Finding], Verdict, str]:
    """Findings, verdict and verdict sentence from the before/after tables (rules in the module docstring).

    Parameters
    ----------
    review_tables : mapping
        ``consistency, verdicts, outcome_validity, ranks, burden`` and optionally ``robustness``, as in
        :class:`DesignReview`.

    Returns
    -------
    findings : list of Finding
        :class:`pmm_lib.analysis.findings.Finding` with rules ``design.*``; ``evidence["effect"]`` says
        whether the line of evidence speaks for (positive) or against (negative) the candidate.
    verdict : {"improves", "worsens", "mixed", "neutral"}
    text : str
        e.g. "The candidate improves the design: it raises the internal consistency of O17 from
        0.12 to 0.71 with no loss of outcome validity; 3 Members move by more than 3 ranks."
    """
    th = thresholds or DesignThresholds()
    findings: list[Finding] = []
    pos: list[str] = []
    neg: list[str] = []
    cons = review_tables["consistency"]
    both = cons[np.isfinite(cons["alpha_before"].astype(float)) & np.isfinite(cons["alpha_after"].astype(float))]
    rises = both[both["change"] >= th.alpha_delta].sort_values("change", ascending=False)
    falls = both[both["change"] <= -th.alpha_delta].sort_values("change")
    for frame, word, effect in ((rises, "raises", "positive"), (falls, "lowers", "negative")):
        for _, r in frame.iterrows():
            findings.append(_finding(
                f"The candidate {word} the internal consistency of {r['code']} from {_f2(r['alpha_before'])} to "
                f"{_f2(r['alpha_after'])}.",
                f"alpha {_f2(r['alpha_before'])} [{_f2(r['ci_low_before'])}, {_f2(r['ci_high_before'])}] -> "
                f"{_f2(r['alpha_after'])} [{_f2(r['ci_low_after'])}, {_f2(r['ci_high_after'])}]",
                int(r["n"]), effect, f"design.alpha_{'rise' if effect == 'positive' else 'fall'}", "validity",  # type: ignore[arg-type]
                recommendation="" if effect == "positive" else f"Revisit the change affecting {r['code']}.",
                subjects=(str(r["code"]),), alpha_before=float(r["alpha_before"]), alpha_after=float(r["alpha_after"]),
                threshold=th.alpha_delta))
    if len(rises) > len(falls):
        best = rises.iloc[0]
        pos.append(f"raises the internal consistency of {best['code']} from {_f2(best['alpha_before'])} to "
                   f"{_f2(best['alpha_after'])}" + (f" ({len(rises)} nodes rise, {len(falls)} fall)"
                                                   if len(rises) > 1 or len(falls) else ""))
    elif len(falls) > len(rises):
        worst = falls.iloc[0]
        neg.append(f"lowers the internal consistency of {worst['code']} from {_f2(worst['alpha_before'])} to "
                   f"{_f2(worst['alpha_after'])}" + (f" ({len(falls)} nodes fall, {len(rises)} rise)"
                                                    if len(falls) > 1 or len(rises) else ""))
    # scorecard verdicts
    v = review_tables["verdicts"]
    drop_b = int((v["verdict_before"] == "drop").sum())
    drop_a = int((v["verdict_after"] == "drop").sum())
    rev_b = int((v["verdict_before"] == "review").sum())
    rev_a = int((v["verdict_after"] == "review").sum())
    newly = tuple(str(c) for c in v.loc[(v["verdict_after"] == "drop") & (v["verdict_before"] != "drop"), "code"])
    eff: Effect = "positive" if drop_a < drop_b else ("negative" if drop_a > drop_b else "neutral")
    findings.append(_finding(
        f"KPIs with a 'drop' verdict: {drop_b} before, {drop_a} after; 'review': {rev_b} before, {rev_a} after.",
        "newly flagged 'drop': " + (", ".join(newly) or "none"), n_members, eff, "design.scorecard", "validity",
        recommendation="Inspect the KPIs the candidate newly flags." if eff == "negative" else "",
        subjects=newly, drop_before=drop_b, drop_after=drop_a, review_before=rev_b, review_after=rev_a))
    if drop_a < drop_b:
        pos.append(f"cuts the KPIs the scorecard would drop from {drop_b} to {drop_a}")
    elif drop_a > drop_b:
        neg.append(f"raises the KPIs the scorecard would drop from {drop_b} to {drop_a}")
    # outcome validity of the index
    ov = review_tables["outcome_validity"]
    idx = ov[ov["code"] == index_code] if len(ov) else ov
    loss_txt = ""
    if len(idx):
        losses = idx[idx["change"] < -th.outcome_loss]
        gains = idx[idx["change"] > th.outcome_gain]
        for _, r in idx.iterrows():
            e: Effect = ("negative" if r["change"] < -th.outcome_loss else
                         "positive" if r["change"] > th.outcome_gain else "neutral")
            findings.append(_finding(
                f"The index's correlation with {r['variable']} goes from {_f2(r['estimate_before'])} to "
                f"{_f2(r['estimate_after'])}.",
                f"r {_f2(r['estimate_before'])} [{_f2(r['ci_low_before'])}, {_f2(r['ci_high_before'])}] -> "
                f"{_f2(r['estimate_after'])} [{_f2(r['ci_low_after'])}, {_f2(r['ci_high_after'])}]",
                int(r["n"]) if np.isfinite(r["n"]) else 0, e, "design.outcome_validity", "outcomes",
                subjects=(str(r["variable"]),), r_before=float(r["estimate_before"]),
                r_after=float(r["estimate_after"]), loss=th.outcome_loss, gain=th.outcome_gain))
        if len(losses):
            worst = losses.sort_values("change").iloc[0]
            neg.append(f"loses outcome validity (r with {worst['variable']} {_f2(worst['estimate_before'])} -> "
                       f"{_f2(worst['estimate_after'])})")
        else:
            prim = idx[idx["variable"] == primary_outcome]
            ref = prim.iloc[0] if len(prim) else idx.iloc[0]
            loss_txt = (f"no loss of outcome validity (r with {ref['variable']} {_f2(ref['estimate_before'])} -> "
                        f"{_f2(ref['estimate_after'])})")
        if len(gains):
            best = gains.sort_values("change", ascending=False).iloc[0]
            pos.append(f"gains outcome validity (r with {best['variable']} {_f2(best['estimate_before'])} -> "
                       f"{_f2(best['estimate_after'])})")
    # ranks
    rk = review_tables["ranks"]
    moved = rk[rk["shift"].abs() > th.rank_move]
    sure = rk[(rk["shift_low"] > 0) | (rk["shift_high"] < 0)]
    n_units = len(rk)
    largest = rk.reindex(rk["shift"].abs().sort_values(ascending=False).index).head(5)
    findings.append(_finding(
        f"{len(moved)} of {n_units} Members move by more than {th.rank_move} ranks; the paired 90% interval of "
        f"the shift excludes zero for {len(sure)}.",
        "largest moves: " + (", ".join(f"{r['unit']} {int(r['shift']):+d} [{r['shift_low']:+.0f}, {r['shift_high']:+.0f}]"
                                        for _, r in largest.iterrows() if np.isfinite(r["shift"])) or "none"),
        n_units, "neutral", "design.rank_moves", "uncertainty", subjects=tuple(str(u) for u in moved["unit"]),
        moved=len(moved), interval_excludes_zero=len(sure), threshold=th.rank_move))
    rob = review_tables.get("robustness")
    if rob is not None and {"base", "candidate"} <= set(rob["design"]):
        rb = {str(d): {str(k): float(v) for k, v in row.items() if k != "design"}
              for d, row in zip(rob["design"], rob.to_dict(orient="records"), strict=True)}
        findings.append(_finding(
            f"The mean width of the Members' 90% rank intervals goes from {rb['base']['mean_rank_range']:.2f} "
            f"to {rb['candidate']['mean_rank_range']:.2f} ranks.",
            f"mean |rank shift| over replications {rb['base']['mean_abs_rank_shift']:.2f} -> "
            f"{rb['candidate']['mean_abs_rank_shift']:.2f}; {int(rb['candidate']['n'])} replications",
            n_units, "neutral", "design.robustness", "uncertainty",
            width_before=rb["base"]["mean_rank_range"], width_after=rb["candidate"]["mean_rank_range"]))
    burden = review_tables["burden"]
    if {"base", "candidate"} <= set(burden["design"]):
        bu = {str(d): {str(k): float(v) for k, v in row.items() if k != "design"}
              for d, row in zip(burden["design"], burden.to_dict(orient="records"), strict=True)}
        kb, kc = int(bu["base"]["kpis"]), int(bu["candidate"]["kpis"])
        sb, sc = int(bu["base"]["skipped"]), int(bu["candidate"]["skipped"])
        findings.append(_finding(
            f"Members are asked {kc} KPIs instead of {kb}; expected skips go from {sb} to {sc} values.",
            f"skip share {bu['base']['skip_share']:.2f} -> {bu['candidate']['skip_share']:.2f}",
            int(bu["candidate"]["members"]), "neutral", "design.burden", "data",
            kpis_before=kb, kpis_after=kc, skipped_before=sb, skipped_after=sc))
    verdict: Verdict = ("mixed" if pos and neg else "improves" if pos else "worsens" if neg else "neutral")
    tail = f"{len(moved)} Member{'s' if len(moved) != 1 else ''} move{'s' if len(moved) == 1 else ''} by more than " \
           f"{th.rank_move} ranks ({len(sure)} with a shift interval excluding zero)"
    if verdict == "improves":
        text = "The candidate improves the design: it " + "; it ".join(pos)
        text += (f" with {loss_txt}" if loss_txt else "") + f"; {tail}."
    elif verdict == "worsens":
        text = "The candidate worsens the design: it " + "; it ".join(neg) + f"; {tail}."
    elif verdict == "mixed":
        text = ("The evidence on the candidate is mixed: it " + "; it ".join(pos) + "; but it " + "; it ".join(neg)
                + f"; {tail}.")
    else:
        text = ("The candidate makes no difference the evidence can see: no alpha moves by "
                f"{th.alpha_delta} or more, the scorecard drops {drop_b} KPIs before and {drop_a} after"
                + (f", {loss_txt}" if loss_txt else "") + f"; {tail}.")
    return findings, verdict, text


# ----------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------

def compare_designs(base: str | Path, candidate: str | Path, *, region: str | None, cycle: int,
                    observations: pd.DataFrame | None = None, outcomes: pd.DataFrame | None = None,
                    spec: Spec | None = None, n_samples: int = 500, n_boot: int = 500, seed: int = 20240601,
                    thresholds: DesignThresholds | Mapping[str, Any] | None = None,
                    latent: pd.Series | None = None, progress: bool = False) -> DesignReview:
    """Compare two designs (framework files or candidate files) on one region and cycle.

    Parameters
    ----------
    base, candidate : path
        Framework files (``methodology/framework.yaml``) or candidate files (``base:`` + ``changes:``).
    region : str or None
        WCO region (None or ``"ALL"``: every Member).
    cycle : int
    observations : DataFrame, optional
        Tidy observations of the base framework (default :func:`pmm_lib.inputs.data.load_observations`).
    outcomes : DataFrame, optional
        Tidy external outcomes (default :func:`pmm_lib.inputs.data.load_outcomes`); an empty frame
        skips outcome validity.
    spec : Spec, optional
        How both designs are built (default :meth:`Spec.default`).
    n_samples, n_boot : int
        Monte Carlo replications of the uncertainty engine; bootstrap resamples of alpha.
    seed : int
        One seed for both designs (paired replications).
    latent : Series, optional
        Planted latent performance per Member (synthetic data): the review reports the index's
        correlation with it.

    Returns
    -------
    DesignReview

    Examples
    --------
    >>> from pmm_lib.paths import METHODOLOGY_DIR
    >>> rv = compare_designs(METHODOLOGY_DIR / "framework.yaml", METHODOLOGY_DIR / "candidates" / "reverse_merge.yaml",
    ...                      region="AMS", cycle=2024, n_samples=100, n_boot=100)
    >>> rv.verdict
    'improves'
    """
    from pmm_lib.inputs import data as data_mod

    base, candidate = Path(base), Path(candidate)
    spec = Spec.default() if spec is None else spec
    th = thresholds if isinstance(thresholds, DesignThresholds) else DesignThresholds.from_dict(thresholds)
    obs = data_mod.load_observations() if observations is None else observations
    outs = data_mod.load_outcomes() if outcomes is None else outcomes
    region = None if region in (None, "ALL") else region
    kw = dict(cycle=int(cycle), region=region, n_samples=n_samples, n_boot=n_boot, seed=seed, progress=progress)
    b = _side(base, obs, outs, spec, **kw)  # type: ignore[arg-type]
    c = _side(candidate, obs, outs, spec, **kw)  # type: ignore[arg-type]
    if is_candidate_file(candidate):
        changes = changes_table(candidate)
    else:
        diff = framework_diff(b.fw, c.fw)
        changes = pd.DataFrame({"change": range(1, len(diff) + 1), "type": diff["change"], "codes": diff["code"],
                                "description": diff["change"] + " " + diff["code"] + ": " + diff["before"] + " -> "
                                + diff["after"], "reason": ""})
    tables = {
        "burden": pd.DataFrame([_burden("base", b), _burden("candidate", c)]),
        "consistency": _consistency(b, c),
        "verdicts": _verdicts(b, c),
        "outcome_validity": _outcome_validity(b, c),
        "ranks": _ranks(b, c),
        "robustness": pd.DataFrame([_robustness("base", b), _robustness("candidate", c)]),
    }
    truth = None
    if latent is not None:
        rows = []
        for name, side in (("base", b), ("candidate", c)):
            s = side.result.index
            lat = latent.reindex(s.index).astype(float)
            ok = s.notna() & lat.notna()
            rows.append({"design": name, "estimate": float(np.corrcoef(s[ok], lat[ok])[0, 1]) if ok.sum() > 2
                         else float("nan"), "n": int(ok.sum())})
        truth = pd.DataFrame(rows)
    findings, verdict, text = design_findings(tables, thresholds=th, index_code=b.result.top,
                                              n_members=len(b.matrix))
    meta = {"base": str(base), "candidate": str(candidate), "base_hash": framework_hash(b.fw),
            "candidate_hash": framework_hash(c.fw), "region": region or "ALL", "cycle": int(cycle),
            "n_members": len(b.matrix), "n_samples": n_samples, "n_boot": n_boot, "seed": seed,
            "base_name": b.fw.name, "candidate_name": c.fw.name, "spec": spec.to_dict(),
            "thresholds": dataclasses.asdict(th)}
    return DesignReview(changes=changes, differences=framework_diff(b.fw, c.fw), burden=tables["burden"],
                        consistency=tables["consistency"], structure=_structure(b, c), verdicts=tables["verdicts"],
                        outcome_validity=tables["outcome_validity"], ranks=tables["ranks"],
                        robustness=tables["robustness"],
                        truth=truth, findings=tuple(findings), verdict=verdict, verdict_text=text,
                        recommendation=_RECOMMENDATION[verdict], meta=meta)
