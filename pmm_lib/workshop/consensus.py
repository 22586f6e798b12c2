"""The room's consensus: AHP groups by the geometric mean of judgements, flags, effect on ranks.

This module owns what the facilitator's dashboard (:mod:`pmm_lib.workshop.dashboard`) and
``pmm workshop consensus`` compute from a session's latest submissions:

* **AHP aggregation of individual judgements** (AIJ): the groups' judgement matrices are
  combined element-wise by the geometric mean, ``a_ij = (prod_g a_ij^(g))^(1/G)``, which is
  the only mean that keeps the combined matrix reciprocal (Aczél & Saaty 1983); its
  principal eigenvector is the AHP groups' consensus (:func:`ahp_consensus`).
* **Room consensus** of the dimension points (:func:`room_consensus`): ``mean`` combines the
  budget groups' arithmetic mean of points and the AHP groups' AIJ priorities weighted by
  their numbers of groups, ``(n_b * mean_b + n_a * aij) / (n_b + n_a)``; ``median`` is the
  median of every group's points (AHP groups with their own priorities × 100), re-normalised
  to 100. A KPI block enters the consensus only when at least ``min_groups`` groups set it
  (default 3): a block one group set would otherwise *become* the consensus.
* **Flags** per group (:func:`group_flags`): an inconsistent AHP matrix (CR > 0.10) and KPI
  blocks set by fewer than ``min_groups`` groups.
* **Effect on ranks** (:func:`rank_effect`): ranks under the framework weights, the mean and
  the median consensus, and the range of ranks across the groups' own weights (the rank
  interval of the room's disagreement).

References
----------
Aczél, J. & Saaty, T. L. (1983). Procedures for synthesizing ratio judgements. *Journal of
Mathematical Psychology* 27(1), 93-102. doi:10.1016/0022-2496(83)90028-7
Forman, E. & Peniwati, K. (1998). Aggregating individual judgments and priorities with the
AHP. *European Journal of Operational Research* 108(1), 165-169.
doi:10.1016/S0377-2217(97)00244-0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError
from pmm_lib.workshop.exercise import (
    BUDGET,
    TOP_BLOCK,
    AhpLive,
    ahp_judgements,
    consensus_points,
    weights_table,
)
from pmm_lib.workshop.live import LiveIndex

__all__ = [
    "MIN_GROUPS",
    "RoomConsensus",
    "ahp_consensus",
    "geometric_mean_judgements",
    "group_flags",
    "rank_effect",
    "room_consensus",
    "top_changes",
]

#: a KPI block enters the consensus only when at least this many groups set it
MIN_GROUPS = 3


def _pair_key(a: str, b: str) -> str:
    return f"{a}/{b}"


def geometric_mean_judgements(judgements: Sequence[Mapping[str, float]], codes: Sequence[str]
                              ) -> dict[str, float]:
    """Element-wise geometric mean of several groups' pairwise judgements (AIJ).

    ``a_ij = exp(mean_g ln a_ij^(g))`` for every pair ``i < j`` in ``codes`` order; a group
    may give a pair either way round (``"B/A": 1/3`` is read as ``"A/B": 3``).

    Parameters
    ----------
    judgements : sequence of mapping
        One ``{"A/B": value}`` mapping per group, every unordered pair once.
    codes : sequence of str
        The compared elements.

    Returns
    -------
    dict
        ``{"A/B": geometric mean}`` for ``A`` before ``B`` in ``codes``.

    Examples
    --------
    >>> geometric_mean_judgements([{"A/B": 2}, {"A/B": 8}], ["A", "B"])
    {'A/B': 4.0}
    """
    if not judgements:
        raise InputError("no AHP judgements to combine", expected="at least one AHP group")
    codes = list(codes)
    out: dict[str, float] = {}
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            logs = []
            for g, j in enumerate(judgements):
                if _pair_key(a, b) in j:
                    v = float(j[_pair_key(a, b)])
                elif _pair_key(b, a) in j:
                    v = 1.0 / float(j[_pair_key(b, a)])
                else:
                    raise InputError(f"AHP group {g + 1} has no judgement for {a} vs {b}",
                                     expected="every pair of " + ", ".join(codes))
                if not v > 0:
                    raise InputError(f"AHP group {g + 1}: judgement {a} vs {b} must be positive, got {v!r}")
                logs.append(np.log(v))
            out[_pair_key(a, b)] = float(np.exp(np.mean(logs)))
    return out


def ahp_consensus(judgements: Mapping[str, Mapping[str, float]], codes: Sequence[str]) -> AhpLive:
    """The AHP groups' consensus: eigenvector priorities of the geometric-mean matrix.

    Parameters
    ----------
    judgements : mapping
        ``{group: {"A/B": value}}`` (e.g. :func:`pmm_lib.workshop.exercise.load_ahp`).
    codes : sequence of str

    Returns
    -------
    AhpLive
        Priorities, CR and the most inconsistent judgement of the combined matrix.

    Examples
    --------
    Two groups, one judging A 2× as important as B, the other 8×: the combined judgement is
    4 and the priorities 0.8 / 0.2.

    >>> r = ahp_consensus({"g1": {"A/B": 2}, "g2": {"A/B": 8}}, ["A", "B"])
    >>> [round(w, 6) for w in r.weights]
    [0.8, 0.2]
    """
    return ahp_judgements(list(codes), geometric_mean_judgements(list(judgements.values()), codes))


@dataclass(frozen=True)
class RoomConsensus:
    """The room's consensus (see the module docstring).

    Attributes
    ----------
    table : DataFrame
        ``block, code, n, mean, median, sd, iqr, min, max, weight_mean, weight_median,
        included`` (:func:`pmm_lib.workshop.exercise.consensus_points` per block; for the
        ``PMM`` block ``weight_mean`` is the AIJ-combined mean when AHP groups exist).
    blocks_mean, blocks_median : dict
        The consensus weight-point blocks (``PMM`` and the included KPI blocks).
    ahp : AhpLive or None
        The AHP groups' combined judgements, when any group used AHP.
    n_budget, n_ahp : int
        Number of groups per method.
    """

    table: pd.DataFrame
    blocks_mean: dict[str, dict[str, float]]
    blocks_median: dict[str, dict[str, float]]
    ahp: AhpLive | None
    n_budget: int
    n_ahp: int

    def blocks(self, statistic: str = "mean") -> dict[str, dict[str, float]]:
        """``blocks_mean`` or ``blocks_median``."""
        if statistic not in ("mean", "median"):
            raise InputError(f"statistic {statistic!r} is not accepted", expected="mean or median")
        return self.blocks_mean if statistic == "mean" else self.blocks_median


def room_consensus(submissions: pd.DataFrame, ahp: Mapping[str, Mapping[str, float]] | None = None, *,
                   min_groups: int = MIN_GROUPS) -> RoomConsensus:
    """Consensus of a session's latest submissions, AHP groups combined by AIJ.

    Parameters
    ----------
    submissions : DataFrame
        :func:`pmm_lib.workshop.exercise.load_submissions` (latest revisions).
    ahp : mapping, optional
        AHP groups' judgements (:func:`pmm_lib.workshop.exercise.load_ahp`); groups listed
        here are combined by the geometric mean of their judgements.
    min_groups : int
        KPI blocks set by fewer groups are reported (``included`` False) but left out.
    """
    if submissions.empty:
        raise InputError("no submissions to summarise", expected="at least one group's points")
    ahp = {g: j for g, j in (ahp or {}).items() if g in set(submissions["group"])}
    frames = []
    blocks_mean: dict[str, dict[str, float]] = {}
    blocks_median: dict[str, dict[str, float]] = {}
    top = weights_table(submissions, TOP_BLOCK)
    codes = list(top.columns)
    aij = ahp_consensus(ahp, codes) if ahp else None
    for block in dict.fromkeys(submissions["block"]):
        tab = weights_table(submissions, block)
        c = consensus_points(tab)
        c.insert(0, "block", block)
        if block == TOP_BLOCK and aij is not None:
            budget_groups = [g for g in tab.index if g not in ahp]
            n_b, n_a = len(budget_groups), len(tab.index) - len(budget_groups)
            mean_b = (tab.loc[budget_groups].astype(float).mean().to_numpy()
                      if n_b else np.zeros(len(codes)))
            aij_pts = aij.weights.reindex(codes).to_numpy() * BUDGET
            combined = (n_b * mean_b + n_a * aij_pts) / (n_b + n_a)
            c["weight_mean"] = combined / combined.sum() * BUDGET
        c["included"] = (block == TOP_BLOCK) or bool(len(tab) >= min_groups)
        frames.append(c)
        if bool(c["included"].iloc[0]):
            blocks_mean[block] = dict(zip(c["code"], c["weight_mean"].astype(float), strict=True))
            blocks_median[block] = dict(zip(c["code"], c["weight_median"].astype(float), strict=True))
    n_ahp = len(ahp)
    return RoomConsensus(pd.concat(frames, ignore_index=True), blocks_mean, blocks_median, aij,
                         int(top.shape[0]) - n_ahp, n_ahp)


def group_flags(submissions: pd.DataFrame, ahp: Mapping[str, Mapping[str, float]] | None = None, *,
                codes: Sequence[str] | None = None, min_groups: int = MIN_GROUPS) -> pd.DataFrame:
    """Per-group flags for the facilitator.

    Returns
    -------
    DataFrame
        ``group, method, cr, inconsistent`` (CR > 0.10), ``kpi_blocks`` (blocks the group
        set) and ``excluded_blocks`` (those set by fewer than ``min_groups`` groups, so left
        out of the consensus), one row per group, sorted by group.
    """
    cols = ["group", "method", "cr", "inconsistent", "kpi_blocks", "excluded_blocks"]
    if submissions.empty:
        return pd.DataFrame(columns=cols)
    counts = submissions.loc[submissions["block"] != TOP_BLOCK].groupby("block")["group"].nunique()
    codes = list(codes) if codes is not None else list(weights_table(submissions, TOP_BLOCK).columns)
    rows = []
    for group, g in submissions.groupby("group", sort=True):
        method = str(g["method"].iloc[-1])
        cr = float("nan")
        if ahp and str(group) in ahp:
            cr = ahp_judgements(codes, ahp[str(group)]).cr
        blocks = [b for b in dict.fromkeys(g["block"]) if b != TOP_BLOCK]
        rows.append(dict(group=str(group), method=method, cr=cr, inconsistent=bool(cr > 0.10),
                         kpi_blocks=" ".join(blocks),
                         excluded_blocks=" ".join(b for b in blocks if counts.get(b, 0) < min_groups)))
    return pd.DataFrame(rows, columns=cols)


def rank_effect(live: LiveIndex, submissions: pd.DataFrame, consensus: RoomConsensus) -> pd.DataFrame:
    """Ranks under the framework weights, the mean and median consensus and each group's weights.

    Returns
    -------
    DataFrame
        One row per member, sorted by ``rank_mean``: ``member, name, rank_framework,
        rank_mean, rank_median, shift_mean`` (``rank_framework - rank_mean``, > 0 = moves up),
        ``rank_low, rank_high`` (best and worst rank under any one group's weights: the
        range the room's disagreement spans) and ``n_groups``.
    """
    frame = live.default_rank_array
    r_mean = live.rank_array(live.score_array(consensus.blocks_mean))
    r_median = live.rank_array(live.score_array(consensus.blocks_median))
    per_group = []
    for _, g in submissions.groupby("group", sort=True):
        blocks = {str(b): {str(c): float(v) for c, v in zip(x["code"], x["points"], strict=True)}
                  for b, x in g.groupby("block", sort=False)}
        per_group.append(live.rank_array(live.score_array(blocks)))
    stack = np.vstack(per_group) if per_group else np.full((1, len(live.members)), np.nan)
    with np.errstate(all="ignore"):
        low = np.nanmin(stack, axis=0) if per_group else stack[0]
        high = np.nanmax(stack, axis=0) if per_group else stack[0]
    out = pd.DataFrame({"member": live.members, "name": live.names.to_numpy(), "rank_framework": frame,
                        "rank_mean": r_mean, "rank_median": r_median, "shift_mean": frame - r_mean,
                        "rank_low": low, "rank_high": high, "n_groups": len(per_group)})
    return out.sort_values(["rank_mean", "member"], kind="stable", na_position="last").reset_index(drop=True)


def top_changes(effect: pd.DataFrame, *, top: int = 10, places: int = 5) -> dict[str, int]:
    """Summary of :func:`rank_effect`: ``moved`` (Members whose mean-consensus rank differs from
    the framework rank by ``places`` or more) and ``top_differs`` (Members in the top ``top``
    under one of mean / median consensus but not the other)."""
    moved = int((effect["shift_mean"].abs() >= places).sum())
    a = set(effect.loc[effect["rank_mean"] <= top, "member"])
    b = set(effect.loc[effect["rank_median"] <= top, "member"])
    return {"moved": moved, "top_differs": len(a ^ b)}

