"""Workshop group exercises: weight budgets, AHP judgements, submissions and consensus.

This module owns the computations behind the regional PMM design workshops (e.g. the
virtual Americas and Caribbean workshop of February 2021, 50+ participants from 22
administrations working in groups): a group distributes weight points or makes AHP pairwise
judgements in the participants' app (:mod:`pmm_lib.workshop.widgets`), sees ranks and an outcome
correlation move at once, and submits; the facilitator gathers every group's latest
submission into consensus weights with their dispersion and agreement, and exports them as
a scenario for ``pmm run --scenario`` and as alternative weight sets for the uncertainty engine.
Neighbours: :mod:`~pmm_lib.workshop.live` (scores by the method core),
:mod:`~pmm_lib.workshop.session` (groups, devices), :mod:`~pmm_lib.workshop.consensus` (AIJ,
flags, rank effects), :mod:`~pmm_lib.workshop.server` (one Solara process for the room) and
:mod:`~pmm_lib.workshop.commands` (``pmm workshop``).

Weight points ("blocks")
------------------------
A group's weights are a mapping ``block -> {code: points}``. Block ``"PMM"`` holds the four
dimensions (TF, RC, ES, OD); an optional block named after a dimension (e.g. ``"TF"``) holds
points over *all KPIs of that dimension*. Points in every block are non-negative and sum to
100 (budget allocation: integers; AHP: the principal-eigenvector weights × 100).
:func:`points_to_explicit` turns blocks into the explicit hierarchical weights of a Spec:
a KPI gets its points, and each outcome gets the sum of its KPIs' points, so that after the
re-normalisation within each parent (docs/CONTRACTS.md) a KPI's effective weight within its
dimension is exactly ``points / 100``.

Submission files
----------------
One JSON file per group: ``<root>/<session>/<group-slug>.json`` where ``root`` is
``$PMM_WORKSHOP_DIR`` if set, else ``outputs/workshop``. Resubmitting appends to the
file's ``history`` (nothing is ever overwritten or lost); the latest entry is the group's
current position::

    {"schema": "pmm-workshop-submission/1", "session": "demo", "group": "Caribbean 1",
     "history": [
       {"revision": 1, "submitted_at": "2026-02-10T14:03:11.52Z", "method": "budget",
        "device": "<browser id>", "token": "<idempotency key>",
        "points": {"PMM": {"TF": 40, "RC": 20, "ES": 20, "OD": 20},
                   "TF": {"K01": 10, "K02": 5, ...}},
        "ahp": null},
       {"revision": 2, "submitted_at": "...", "method": "ahp",
        "points": {"PMM": {"TF": 47.2, "RC": 28.1, "ES": 15.9, "OD": 8.8}},
        "ahp": {"judgements": {"TF/RC": 2, "TF/ES": 3, ...}, "cr": 0.031}}]}

``judgements["A/B"] = a`` means "A is ``a`` times as important as B" (Saaty 1/9..9).

Weight-set export (for the uncertainty engine)
----------------------------------------------
:func:`export_weight_sets` writes one weight set per group, as YAML::

    kind: pmm-weight-sets
    version: 1
    session: demo
    source: pmm workshop (latest submission per group)
    weight_sets:
    - name: Caribbean 1
      submitted_at: '2026-02-10T14:03:11.52Z'
      method: budget
      values: {TF: 0.4, RC: 0.2, ES: 0.2, OD: 0.2, O01: 0.15, K01: 0.1, ...}

or, when the path ends in ``.csv``, as a tidy table ``submission, code, weight`` (the format
``pmm_lib.uncertainty.sensitivity.load_weight_sets`` reads). ``values`` has the
meaning of ``weights: {method: explicit, values: ...}`` in a Spec (re-normalised within
each parent); codes a group did not set keep the framework default.

References
----------
Saaty, T. L. (1977). A scaling method for priorities in hierarchical structures. *Journal of
Mathematical Psychology* 15(3), 234-281. doi:10.1016/0022-2496(77)90033-5
Kendall, M. G. & Babington Smith, B. (1939). The problem of m rankings. *Annals of
Mathematical Statistics* 10(3), 275-287. doi:10.1214/aoms/1177732186
OECD/JRC (2008). *Handbook on Constructing Composite Indicators*, sections 6.1.4 (budget
allocation) and 6.1.5 (AHP). doi:10.1787/9789264043466-en
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.io import write_text_atomic
from pmm_lib.paths import OUTPUTS_DIR
from pmm_lib.seed import SeedLike, rng

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "AhpLive",
    "ENV_DIR",
    "ENV_REGION",
    "ENV_SESSION",
    "SaveRefused",
    "SAATY_SCALE",
    "SUBMISSION_SCHEMA",
    "TOP_BLOCK",
    "Method",
    "agreement",
    "ahp_judgements",
    "check_blocks",
    "consensus",
    "consensus_points",
    "default_points",
    "export_scenario",
    "export_weight_sets",
    "kendall_w",
    "load_ahp",
    "largest_remainder",
    "load_submissions",
    "plot_consensus",
    "plot_rank_shift",
    "points_to_explicit",
    "rebalance",
    "resolve_session",
    "saaty_label",
    "saaty_verbal",
    "scenario_dict",
    "session_dir",
    "simulate_submissions",
    "slug",
    "submission_overview",
    "submit",
    "weight_sets",
    "weights_table",
]

SUBMISSION_SCHEMA = "pmm-workshop-submission/1"
#: environment variable carrying the session name (set by ``pmm workshop serve``)
ENV_SESSION = "PMM_WORKSHOP_SESSION"
#: environment variable overriding where submissions are kept (default outputs/workshop)
ENV_DIR = "PMM_WORKSHOP_DIR"
#: environment variable with the region the app shows (set by ``pmm workshop serve --region``)
ENV_REGION = "PMM_WORKSHOP_REGION"
#: the block holding the dimension points
TOP_BLOCK = "PMM"
Method = Literal["budget", "ahp"]
BUDGET = 100

#: Saaty's fundamental scale, 1/9 .. 9
SAATY_SCALE: tuple[float, ...] = tuple([1 / k for k in range(9, 1, -1)] + list(range(1, 10)))
#: file names of a session folder that are not group files
_RESERVED = frozenset({"session", "claims"})
_NAME_RE = re.compile(r"^[\w][\w .\-()&']{0,59}$", re.UNICODE)


# --------------------------------------------------------------------------- budgets

def largest_remainder(shares: Sequence[float], total: int = BUDGET) -> list[int]:
    """Round non-negative shares to integers summing exactly to ``total`` (Hamilton's method).

    Each share is scaled to ``total``, floored, and the units left over go to the largest
    fractional parts; ties go to the earlier position, so the result is deterministic.

    Parameters
    ----------
    shares : sequence of float
        Non-negative, at least one positive (any scale).
    total : int
        The integer sum wanted.

    Examples
    --------
    >>> largest_remainder([1, 1, 1])
    [34, 33, 33]
    """
    x = np.asarray(shares, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0) or x.sum() <= 0:
        raise SpecError(f"shares must be non-negative finite numbers with a positive sum, got {list(shares)!r}")
    quota = x / x.sum() * total
    base = np.floor(quota + 1e-9).astype(int)
    left = int(total - base.sum())
    if left > 0:
        frac = quota - base
        order = sorted(range(x.size), key=lambda i: (-round(frac[i], 12), i))
        for i in order[:left]:
            base[i] += 1
    return [int(v) for v in base]


def default_points(weights: Sequence[float], total: int = BUDGET) -> list[int]:
    """Integer points summing to ``total`` proportional to default weights (:func:`largest_remainder`)."""
    return largest_remainder(weights, total)


def rebalance(points: Sequence[int], index: int, value: int, *, total: int = BUDGET,
              fallback: Sequence[float] | None = None, locked: Sequence[bool] | None = None) -> list[int]:
    """Set one slider of a budget and rebalance the others so that the budget stays exact.

    The other sliders share ``total - value`` in proportion to their current points,
    rounded by the largest-remainder method (ties to the earlier slider): for others ``j``,
    ``p_j' = round_LR((total - value) * p_j / sum_{k != i} p_k)``. When the others are all
    zero they share in proportion to ``fallback`` (default: equally).

    Parameters
    ----------
    points : sequence of int
        Current points (non-negative; their sum is not required to be ``total``).
    index : int
        Position of the slider that moved.
    value : int
        Its new value, clipped to ``[0, total]``.
    total : int
        The budget.
    fallback : sequence of float, optional
        Shares for the others when they are all zero.
    locked : sequence of bool, optional
        Sliders that keep their points; the moved slider is then clipped to
        ``[0, total - sum(locked points)]`` and only unlocked others are rebalanced.

    Returns
    -------
    list of int
        Non-negative integers summing to ``total`` with ``result[index] == clip(value)``.

    Examples
    --------
    >>> rebalance([25, 25, 25, 25], 0, 40)
    [40, 20, 20, 20]
    >>> rebalance([40, 30, 20, 10], 3, 0)
    [45, 33, 22, 0]
    >>> rebalance([40, 30, 20, 10], 1, 40, locked=[True, False, False, False])
    [40, 40, 13, 7]
    """
    if locked is not None and any(locked):
        if len(locked) != len(points):
            raise SpecError(f"locked has {len(locked)} entries for {len(points)} sliders")
        fixed = [j for j in range(len(points)) if locked[j] and j != index]
        free = [j for j in range(len(points)) if j not in fixed]
        held = sum(max(int(points[j]), 0) for j in fixed)
        if held > total:
            raise SpecError(f"locked sliders hold {held} points, more than the budget {total}")
        sub = rebalance([points[j] for j in free], free.index(index), min(int(value), total - held),
                        total=total - held,
                        fallback=None if fallback is None else [fallback[j] for j in free])
        out = [int(points[j]) for j in range(len(points))]
        for j, v in zip(free, sub, strict=True):
            out[j] = v
        return out
    n = len(points)
    if not 0 <= index < n:
        raise SpecError(f"slider index {index} out of range 0..{n - 1}")
    value = int(min(max(int(value), 0), total))
    out = [0] * n
    out[index] = value
    others = [j for j in range(n) if j != index]
    if not others:
        out[index] = total
        return out
    rest = total - value
    if rest == 0:
        return out
    cur = [max(int(points[j]), 0) for j in others]
    if sum(cur) == 0:
        cur = [float(fallback[j]) for j in others] if fallback is not None else [1.0] * len(others)
        if sum(cur) <= 0:
            cur = [1.0] * len(others)
    for j, p in zip(others, largest_remainder(cur, rest), strict=True):
        out[j] = p
    return out


# --------------------------------------------------------------------------- AHP

@dataclass(frozen=True)
class AhpLive:
    """Live AHP feedback for participants: priorities, consistency, what to revisit.

    Attributes
    ----------
    codes : tuple of str
        The compared elements, in matrix order.
    matrix : ndarray
        The reciprocal judgement matrix ``A`` (``A[i, j]`` = importance of i over j).
    weights : Series
        Principal right eigenvector of ``A``, normalised to sum 1 (index = codes).
    lambda_max : float
        Principal eigenvalue.
    ci, cr : float
        Consistency index ``(lambda_max - n) / (n - 1)`` and ratio ``CI / RI(n)``
        (0 for n <= 2).
    worst : tuple of (str, str) or None
        The judgement deviating most from the priorities: the pair ``(i, j)``, i before j,
        maximising ``|ln(a_ij * w_j / w_i)|`` (Saaty 2003, doi:10.1016/S0377-2217(02)00227-8).
    worst_value, worst_implied : float
        That judgement and the ratio ``w_i / w_j`` the other judgements imply.
    suggestion : float
        The Saaty-scale value closest (on the log scale) to ``worst_implied``.
    """

    codes: tuple[str, ...]
    matrix: np.ndarray
    weights: pd.Series
    lambda_max: float
    ci: float
    cr: float
    worst: tuple[str, str] | None
    worst_value: float
    worst_implied: float
    suggestion: float

    @property
    def consistent(self) -> bool:
        """Saaty's rule: CR <= 0.10."""
        return self.cr <= 0.10

    def explain(self) -> str:
        """One sentence for participants: the CR and, when inconsistent, what to revisit."""
        head = f"Consistency ratio CR = {self.cr:.3f}"
        if self.consistent or self.worst is None:
            return head + " (≤ 0.10: acceptable)."
        a, b = self.worst
        return (f"{head} (> 0.10: inconsistent). Most inconsistent judgement: {a} vs {b} = "
                f"{saaty_label(self.worst_value)}; your other judgements imply about "
                f"{self.worst_implied:.2f} (nearest on the scale: {saaty_label(self.suggestion)}).")


def saaty_label(value: float) -> str:
    """``3`` → ``"3"``, ``1/3`` → ``"1/3"`` for scale values; other numbers with 2 decimals."""
    if value >= 1 and abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    inv = 1 / value
    if abs(inv - round(inv)) < 1e-9:
        return f"1/{int(round(inv))}"
    return f"{value:.2f}"


#: Saaty's verbal scale (Saaty 1980, table 1): odd values named, even values "between"
SAATY_VERBAL: dict[int, str] = {1: "equal", 2: "equal to moderate", 3: "moderate", 4: "moderate to strong",
                                5: "strong", 6: "strong to very strong", 7: "very strong",
                                8: "very strong to extreme", 9: "extreme"}


def saaty_verbal(value: float) -> tuple[int, str]:
    """The intensity (1..9) and English verbal label of a Saaty judgement, either direction.

    >>> saaty_verbal(5), saaty_verbal(1 / 3)
    ((5, 'strong'), (3, 'moderate'))
    """
    if not (value > 0 and math.isfinite(value)):
        raise SpecError(f"a judgement must be positive, got {value!r}")
    k = int(round(value if value >= 1 else 1 / value))
    k = min(max(k, 1), 9)
    return k, SAATY_VERBAL[k]


def ahp_judgements(codes: Sequence[str], judgements: Mapping[Any, float]) -> AhpLive:
    """Live AHP feedback: priorities, consistency and the judgement to revisit.

    The priorities and consistency come from :func:`pmm_lib.core.weights.ahp` (Saaty's
    eigenvector method, ``A w = lambda_max w``, ``CI = (lambda_max - n)/(n - 1)``,
    ``CR = CI / RI(n)``) called with ``max_cr=None`` so that an inconsistent matrix is shown
    rather than refused; this function adds what participants need to fix it: the value of the
    most inconsistent judgement, the ratio ``w_i / w_j`` the other judgements imply and the
    nearest Saaty-scale value.

    Parameters
    ----------
    codes : sequence of str
        The compared elements (e.g. the four dimensions), in display order.
    judgements : mapping
        ``{(a, b): value}`` or ``{"a/b": value}``; ``value`` > 0 means "a is value times as
        important as b". Every unordered pair exactly once.

    Raises
    ------
    SpecError
        A missing, duplicated or unknown pair, or a non-positive judgement, naming the pair.

    Examples
    --------
    Saaty's consistent 3 × 3 example:

    >>> r = ahp_judgements(["A", "B", "C"], {"A/B": 2, "A/C": 4, "B/C": 2})
    >>> [round(w, 4) for w in r.weights], round(r.cr, 6)
    ([0.5714, 0.2857, 0.1429], 0.0)
    """
    from pmm_lib.core.weights import ahp

    codes = tuple(codes)
    if len(set(codes)) != len(codes) or len(codes) < 2:
        raise SpecError(f"AHP needs at least two distinct codes, got {list(codes)!r}")
    res = ahp(dict(judgements), codes=codes, max_cr=None)
    a = res.matrix.loc[list(codes), list(codes)].to_numpy()
    w = res.weights.reindex(list(codes))
    worst, wv, wi, sug = None, float("nan"), float("nan"), float("nan")
    if len(codes) > 2 and res.worst is not None:
        worst = (str(res.worst[0]), str(res.worst[1]))
        wv = float(res.matrix.loc[worst[0], worst[1]])
        wi = float(w[worst[0]] / w[worst[1]])
        scale = np.asarray(SAATY_SCALE)
        sug = float(scale[np.argmin(np.abs(np.log(scale) - math.log(wi)))])
    return AhpLive(codes, a, w.rename("weight"), float(res.lambda_max), float(res.ci), float(res.cr),
                   worst, wv, wi, sug)


# --------------------------------------------------------------------------- blocks → Spec weights

def _framework(framework: Framework | None) -> Framework:
    return framework if framework is not None else load_framework()


def check_blocks(blocks: Mapping[str, Mapping[str, float]], framework: Framework | None = None, *,
                 where: str = "points", tol: float = 1e-6) -> dict[str, dict[str, float]]:
    """Validate weight-point blocks (see module docstring) and return them as plain floats.

    Raises
    ------
    InputError
        Unknown block or code, a missing dimension, negative points or a sum other than 100,
        naming the block and code.
    """
    fw = _framework(framework)
    dims = [d.code for d in fw.dimensions]
    kpis_of = {d.code: [k.code for k in fw.kpis if _dim_of(fw, k.parent) == d.code] for d in fw.dimensions}
    if TOP_BLOCK not in blocks:
        raise InputError(f"{where}: no {TOP_BLOCK!r} block with the dimension points",
                         expected=f"{{'{TOP_BLOCK}': {{{', '.join(d + ': ..' for d in dims)}}}}}")
    out: dict[str, dict[str, float]] = {}
    for block, pts in blocks.items():
        allowed = dims if block == TOP_BLOCK else kpis_of.get(block)
        if allowed is None:
            raise InputError(f"{where}: unknown block {block!r}",
                             expected=f"{TOP_BLOCK!r} or a dimension code ({', '.join(dims)})")
        if not isinstance(pts, Mapping):
            raise InputError(f"{where}: block {block!r} must map codes to points, got {pts!r}")
        unknown = sorted(set(pts) - set(allowed))
        if unknown:
            raise InputError(f"{where}: block {block!r} has unknown codes {unknown}",
                             expected=f"codes among {', '.join(allowed)}")
        missing = [c for c in allowed if c not in pts]
        if missing:
            raise InputError(f"{where}: block {block!r} lacks points for {missing}",
                             expected=f"points for every one of {', '.join(allowed)}")
        vals: dict[str, float] = {}
        for c in allowed:
            try:
                v = float(pts[c])
            except (TypeError, ValueError):
                raise InputError(f"{where}: block {block!r} code {c}: points {pts[c]!r} is not a number") from None
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"{where}: block {block!r} code {c}: points must be >= 0, got {pts[c]!r}")
            vals[c] = v
        s = sum(vals.values())
        if abs(s - BUDGET) > tol * BUDGET:
            raise InputError(f"{where}: block {block!r} points sum to {s:g}", expected=f"a sum of {BUDGET}")
        out[block] = vals
    return out


def _dim_of(fw: Framework, outcome: str) -> str:
    for o in fw.outcomes:
        if o.code == outcome:
            return str(o.parent)
    raise KeyError(outcome)


def points_to_explicit(blocks: Mapping[str, Mapping[str, float]], framework: Framework | None = None
                       ) -> dict[str, float]:
    """Explicit hierarchical weights (Spec ``weights.values``) from weight-point blocks.

    Dimensions get ``points / 100``. For a dimension with a KPI block, KPI ``k`` gets
    ``p_k / 100`` and outcome ``o`` gets ``sum_{k in o} p_k / 100``; after re-normalisation
    within parents, a KPI's effective weight within its dimension is ``p_k / 100``. When an
    outcome's KPIs all have 0 points the outcome gets 0 and its KPIs keep the framework
    weights (so that no parent has an all-zero set of children to re-normalise).

    Examples
    --------
    >>> v = points_to_explicit({"PMM": {"TF": 40, "RC": 20, "ES": 20, "OD": 20}})
    >>> v["TF"], v["OD"]
    (0.4, 0.2)
    """
    fw = _framework(framework)
    blocks = check_blocks(blocks, fw)
    values: dict[str, float] = {c: p / BUDGET for c, p in blocks[TOP_BLOCK].items()}
    for dim in fw.dimensions:
        pts = blocks.get(dim.code)
        if pts is None:
            continue
        for o in fw.outcomes:
            if o.parent != dim.code:
                continue
            osum = sum(pts[k] for k in o.children)
            values[o.code] = osum / BUDGET
            for k in o.children:
                values[k] = pts[k] / BUDGET if osum > 0 else fw.kpi(k).weight
    return values


# --------------------------------------------------------------------------- sessions and submissions

def slug(name: str, *, what: str = "group") -> str:
    """Validate a session or group name and return its file-safe slug.

    Names: 1-60 characters, starting with a letter or digit; letters, digits, spaces and
    ``. - _ ( ) & '``. The slug is lower case with runs of other characters replaced by ``-``.

    Raises
    ------
    InputError
        Naming the parameter and what is accepted.

    Examples
    --------
    >>> slug("Caribbean Group 1")
    'caribbean-group-1'
    """
    if not isinstance(name, str) or not _NAME_RE.match(name.strip()):
        raise InputError(f"parameter {what!r}: name {name!r} is not accepted",
                         expected="1-60 characters: letters, digits, spaces, . - _ ( ) & ', "
                                  "starting with a letter or digit")
    s = re.sub(r"[^\w]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-") or "x"
    if what == "group" and s in _RESERVED:
        raise InputError(f"parameter 'group': name {name!r} is reserved", expected="another group name")
    return s


def resolve_session(session: str | None = "") -> str:
    """The session name: the argument if non-empty, else ``$PMM_WORKSHOP_SESSION``, else ``"demo"``."""
    name = (session or "").strip() or os.environ.get(ENV_SESSION, "").strip() or "demo"
    slug(name, what="session")
    return name


def session_dir(session: str, root: str | Path | None = None) -> Path:
    """Folder of a session's submissions: ``<root>/<session-slug>``.

    ``root`` defaults to ``$PMM_WORKSHOP_DIR``, else ``outputs/workshop``.
    """
    base = Path(root) if root else Path(os.environ.get(ENV_DIR) or OUTPUTS_DIR / "workshop")
    return base / slug(session, what="session")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_submission(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}", file=path, row=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("schema") != SUBMISSION_SCHEMA:
        raise InputError("not a workshop submission", file=path, expected=f'"schema": "{SUBMISSION_SCHEMA}"')
    hist = doc.get("history")
    if not isinstance(hist, list) or not hist:
        raise InputError("no submissions in 'history'", file=path, expected="a non-empty list")
    return doc


class SaveRefused(InputError):
    """A submission was refused on purpose (the group is held by another device)."""


def submit(session: str, group: str, points: Mapping[str, Mapping[str, float]], *,
           method: Method = "budget", ahp: Mapping[str, Any] | None = None,
           root: str | Path | None = None, framework: Framework | None = None,
           submitted_at: str | None = None, device: str | None = None,
           token: str | None = None) -> Path:
    """Record a group's weights: append a revision to ``<session dir>/<group-slug>.json``.

    The file is rewritten atomically (:mod:`pmm_lib.io`) under a lock, keeping all earlier
    revisions in ``history`` (format in the module docstring).

    Parameters
    ----------
    session, group : str
        Names (see :func:`slug`).
    points : mapping
        Weight-point blocks (validated by :func:`check_blocks`).
    method : {"budget", "ahp"}
    ahp : mapping, optional
        For AHP: ``{"judgements": {"A/B": v, ...}, "cr": float}``.
    root : path, optional
        Base folder (see :func:`session_dir`).
    submitted_at : str, optional
        ISO 8601 timestamp; default now (UTC).
    device : str, optional
        The submitting device; when given it must be the group's current holder
        (:func:`pmm_lib.workshop.session.claim_group`), else :class:`SaveRefused`.
    token : str, optional
        Idempotency key: when the group's last revision carries the same token, nothing is
        appended (a double click or a retried request gives one revision).

    Returns
    -------
    Path
        The group's file.

    Raises
    ------
    SaveRefused
        Another device holds the group.
    """
    if method not in get_args(Method):
        raise SpecError(f"method {method!r} is not one of {', '.join(get_args(Method))}")
    gslug = slug(group, what="group")
    blocks = check_blocks(points, framework, where=f"submission of group {group!r}")
    folder = session_dir(session, root)
    path = folder / f"{gslug}.json"
    with _locked(folder):
        if path.exists():
            doc = _read_submission(path)
            if doc.get("group") != group.strip():
                raise InputError(f"group name {group.strip()!r} clashes with {doc.get('group')!r} "
                                 f"(same file name {path.name})", file=path,
                                 expected="a group name differing in more than case or punctuation")
        else:
            doc = {"schema": SUBMISSION_SCHEMA, "session": session, "group": group.strip(), "history": []}
        if device is not None:
            claims_path = folder / "claims.json"
            claims = json.loads(claims_path.read_text(encoding="utf-8")).get("claims", {}) \
                if claims_path.exists() else {}
            holder = claims.get(gslug, {}).get("device")
            if holder != device:
                raise SaveRefused(f"group {group.strip()!r} is open on another device; this device no longer "
                                  "holds it", expected="one device per group (join again to take it over)")
        if token is not None and doc["history"] and doc["history"][-1].get("token") == token:
            return path
        entry = {"revision": len(doc["history"]) + 1, "submitted_at": submitted_at or _utcnow(),
                 "method": method,
                 "points": {b: {c: (int(v) if float(v).is_integer() else v) for c, v in pts.items()}
                            for b, pts in blocks.items()},
                 "ahp": dict(ahp) if ahp is not None else None}
        if device is not None:
            entry["device"] = device
        if token is not None:
            entry["token"] = token
        doc["history"].append(entry)
        write_text_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return path


SUBMISSION_COLUMNS = ["session", "group", "revision", "submitted_at", "method", "block", "code", "points"]


def load_submissions(session: str, *, root: str | Path | None = None, latest: bool = True,
                     framework: Framework | None = None) -> pd.DataFrame:
    """A session's submissions as a tidy table.

    Parameters
    ----------
    session : str
    root : path, optional
        See :func:`session_dir`.
    latest : bool
        Keep only each group's last revision (default) or every revision.

    Returns
    -------
    DataFrame
        ``session, group, revision, submitted_at, method, block, code, points``: one row per
        group, revision, block and code (empty with these columns when there are none).

    Raises
    ------
    InputError
        A malformed file, naming it.
    """
    folder = session_dir(session, root)
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name in ("session.json", "claims.json"):
            continue
        doc = _read_submission(path)
        hist = doc["history"][-1:] if latest else doc["history"]
        for entry in hist:
            try:
                blocks = check_blocks(entry["points"], framework, where=f"{path.name} revision {entry.get('revision')}")
            except (KeyError, TypeError):
                raise InputError("a history entry has no 'points'", file=path) from None
            for block, pts in blocks.items():
                for code, v in pts.items():
                    rows.append(dict(session=session, group=str(doc.get("group", path.stem)),
                                     revision=int(entry.get("revision", 0)),
                                     submitted_at=str(entry.get("submitted_at", "")),
                                     method=str(entry.get("method", "")), block=block, code=code,
                                     points=float(v)))
    return pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)


def load_ahp(session: str, *, root: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Each AHP group's latest judgements: ``{group: {"A/B": value, ...}}``.

    Only groups whose latest submission used the AHP method are included.
    """
    folder = session_dir(session, root)
    out: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name in ("session.json", "claims.json"):
            continue
        doc = _read_submission(path)
        last = doc["history"][-1]
        if last.get("method") == "ahp" and isinstance(last.get("ahp"), Mapping):
            j = last["ahp"].get("judgements") or {}
            out[str(doc.get("group", path.stem))] = {str(k): float(v) for k, v in j.items()}
    return out


def weights_table(submissions: pd.DataFrame, block: str = TOP_BLOCK) -> pd.DataFrame:
    """Groups × codes table of points for one block (latest revision of each group)."""
    sub = submissions.loc[submissions["block"] == block]
    if "revision" in sub:
        last = sub.groupby("group")["revision"].transform("max")
        sub = sub.loc[sub["revision"] == last]
    wide = sub.pivot(index="group", columns="code", values="points")
    order = list(dict.fromkeys(sub["code"]))
    wide = wide.reindex(columns=order)
    wide.columns.name = None
    return wide


def simulate_submissions(n_groups: int = 6, *, seed: SeedLike = None, concentration: float = 20.0,
                         session: str = "simulated", framework: Framework | None = None) -> pd.DataFrame:
    """Simulated groups' dimension points, in memory (nothing is written), for demos and tests.

    Each group's shares are drawn from a Dirichlet distribution centred on the framework's
    dimension weights, ``Dir(concentration * w / sum(w))``, and rounded to 100 points by
    :func:`largest_remainder`.

    Returns
    -------
    DataFrame
        Same columns as :func:`load_submissions` (groups ``"Simulated 1"``, ...).
    """
    if n_groups < 1:
        raise SpecError(f"n_groups must be at least 1, got {n_groups}")
    fw = _framework(framework)
    g = rng(seed)
    w = np.array([d.weight for d in fw.dimensions], dtype=float)
    rows = []
    for i in range(n_groups):
        pts = largest_remainder(list(g.dirichlet(concentration * w / w.sum())))
        for d, p in zip(fw.dimensions, pts, strict=True):
            rows.append(dict(session=session, group=f"Simulated {i + 1}", revision=1,
                             submitted_at="", method="budget", block=TOP_BLOCK, code=d.code, points=float(p)))
    return pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)


def submission_overview(submissions: pd.DataFrame) -> pd.DataFrame:
    """One row per group: ``group, revision, submitted_at, method, kpi_blocks`` and the dimension points.

    ``kpi_blocks`` lists the dimensions whose KPIs the group weighted (empty if none).
    """
    if submissions.empty:
        return pd.DataFrame(columns=["group", "revision", "submitted_at", "method", "kpi_blocks"])
    last = submissions.loc[submissions["revision"] == submissions.groupby("group")["revision"].transform("max")]
    head = last.groupby("group", sort=True).agg(revision=("revision", "max"), submitted_at=("submitted_at", "last"),
                                                method=("method", "last"))
    head["kpi_blocks"] = last.loc[last["block"] != TOP_BLOCK].groupby("group")["block"].agg(
        lambda b: " ".join(dict.fromkeys(b))).reindex(head.index).fillna("")
    return head.join(weights_table(last, TOP_BLOCK)).reset_index()


# --------------------------------------------------------------------------- consensus and agreement

def consensus_points(table: pd.DataFrame) -> pd.DataFrame:
    """Consensus and dispersion of one block's points (groups × codes table).

    For each code over the ``n`` groups: ``mean``, ``median``, ``sd`` (sample, ddof = 1),
    ``iqr`` (Q3 - Q1, linear interpolation, i.e. R's type 7), ``min``, ``max``; and the
    consensus weights ``weight_mean`` = mean / sum(means) × 100 and ``weight_median`` =
    median / sum(medians) × 100 (re-normalised so each sums to 100).

    Returns
    -------
    DataFrame
        ``code, n, mean, median, sd, iqr, min, max, weight_mean, weight_median``.
    """
    if table.empty:
        raise InputError("no submissions to summarise", expected="at least one group's points")
    t = table.astype(float)
    q1, q3 = t.quantile(0.25), t.quantile(0.75)
    out = pd.DataFrame({
        "code": list(t.columns), "n": t.notna().sum().to_numpy(), "mean": t.mean().to_numpy(),
        "median": t.median().to_numpy(), "sd": t.std(ddof=1).to_numpy(), "iqr": (q3 - q1).to_numpy(),
        "min": t.min().to_numpy(), "max": t.max().to_numpy()})
    out["weight_mean"] = out["mean"] / out["mean"].sum() * BUDGET
    med_sum = out["median"].sum()
    out["weight_median"] = out["median"] / med_sum * BUDGET if med_sum > 0 else out["weight_mean"]
    return out


def consensus(submissions: pd.DataFrame) -> pd.DataFrame:
    """Consensus of every block of a session's latest submissions.

    Returns
    -------
    DataFrame
        ``block`` plus the columns of :func:`consensus_points`; one row per block and code.
        A KPI block is summarised over the groups that set it (``n``).
    """
    frames = []
    for block in dict.fromkeys(submissions["block"]):
        c = consensus_points(weights_table(submissions, block))
        c.insert(0, "block", block)
        frames.append(c)
    if not frames:
        raise InputError("no submissions to summarise", expected="at least one group's points")
    return pd.concat(frames, ignore_index=True)


def kendall_w(table: pd.DataFrame, *, correct: bool = True) -> pd.DataFrame:
    """Kendall's coefficient of concordance W of ``m`` raters ranking ``n`` items, with its test.

    Each rater's values are ranked (average ranks for ties); with rank sums ``R_i`` and
    ``S = sum_i (R_i - m(n+1)/2)^2``,

    ``W = 12 S / (m^2 (n^3 - n) - m T)``, ``T = sum_raters sum_ties (t^3 - t)``

    (``T = 0`` when ``correct`` is False). Under no agreement ``m (n - 1) W`` is
    approximately chi-square with ``n - 1`` degrees of freedom (the Friedman statistic).

    Parameters
    ----------
    table : DataFrame
        Rows = raters (groups), columns = items (codes); higher value = more important
        (the direction does not change W). Rows with any missing value are dropped.
    correct : bool
        Correct for ties within raters (Kendall & Babington Smith 1939; Kendall 1948).

    Returns
    -------
    DataFrame
        One row: ``estimate`` (W), ``chi2``, ``df``, ``p_value``, ``n`` (raters used),
        ``n_items``, ``ties_corrected``.

    Notes
    -----
    Cross-checks: DescTools::KendallW(anxiety, correct=TRUE, test=TRUE) gives W = 0.5397,
    chi-squared = 30.76 on 19 df, p = 0.04288; the chi-square equals
    ``scipy.stats.friedmanchisquare`` on the same data.
    """
    t = table.astype(float).dropna(axis=0, how="any")
    m, n = t.shape
    if m < 2 or n < 2:
        return pd.DataFrame([dict(estimate=np.nan, chi2=np.nan, df=max(n - 1, 0), p_value=np.nan,
                                  n=m, n_items=n, ties_corrected=correct)])
    ranks = np.vstack([stats.rankdata(row) for row in t.to_numpy()])
    rsum = ranks.sum(axis=0)
    s = float(((rsum - m * (n + 1) / 2) ** 2).sum())
    ties = 0.0
    if correct:
        for row in t.to_numpy():
            _, counts = np.unique(row, return_counts=True)
            ties += float((counts ** 3 - counts).sum())
    denom = m ** 2 * (n ** 3 - n) - m * ties
    if denom <= 0:  # every rater tied every item: no ranking information
        w = np.nan
    else:
        w = 12 * s / denom
    chi2 = m * (n - 1) * w
    p = float(stats.chi2.sf(chi2, n - 1)) if np.isfinite(chi2) else np.nan
    return pd.DataFrame([dict(estimate=w, chi2=chi2, df=n - 1, p_value=p, n=m, n_items=n,
                              ties_corrected=correct)])


def agreement(submissions: pd.DataFrame, *, correct: bool = True) -> pd.DataFrame:
    """Kendall's W of the groups' weights in every block: ``block`` + :func:`kendall_w` columns."""
    frames = []
    for block in dict.fromkeys(submissions["block"]):
        k = kendall_w(weights_table(submissions, block), correct=correct)
        k.insert(0, "block", block)
        frames.append(k)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["block", "estimate", "chi2", "df", "p_value", "n", "n_items", "ties_corrected"])


# --------------------------------------------------------------------------- exports

Statistic = Literal["mean", "median"]


def _blocks_from_consensus(cons: pd.DataFrame, statistic: Statistic) -> dict[str, dict[str, float]]:
    if statistic not in get_args(Statistic):
        raise SpecError(f"statistic {statistic!r} is not one of {', '.join(get_args(Statistic))}")
    col = f"weight_{statistic}"
    return {b: dict(zip(g["code"], g[col].astype(float), strict=True)) for b, g in cons.groupby("block", sort=False)}


def scenario_dict(cons: pd.DataFrame, *, statistic: Statistic = "mean", framework: Framework | None = None,
                  base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A Spec/scenario mapping whose weights are the consensus (docs/CONTRACTS.md).

    ``{**base, "weights": {"method": "explicit", "values": {TF: .., RC: .., O..: .., K..: ..}}}``
    with values from :func:`points_to_explicit` of the consensus blocks.
    """
    values = points_to_explicit(_blocks_from_consensus(cons, statistic), framework)
    spec = dict(base or {})
    spec["weights"] = {"method": "explicit", "values": {c: round(float(v), 10) for c, v in values.items()}}
    return spec


def export_scenario(cons: pd.DataFrame, path: str | Path, *, statistic: Statistic = "mean",
                    session: str = "", framework: Framework | None = None,
                    base: Mapping[str, Any] | None = None) -> Path:
    """Write the consensus as a scenario YAML that ``pmm run --scenario`` accepts (atomic)."""
    spec = scenario_dict(cons, statistic=statistic, framework=framework, base=base)
    head = (f"# PMM workshop consensus ({statistic} of the groups' latest submissions)"
            + (f", session {session}" if session else "") + "\n")
    return write_text_atomic(path, head + yaml.safe_dump(spec, sort_keys=False))


def weight_sets(submissions: pd.DataFrame, framework: Framework | None = None) -> pd.DataFrame:
    """One explicit weight set per group (latest submission), tidy: ``submission, code, weight``."""
    fw = _framework(framework)
    rows = []
    for group, g in submissions.groupby("group", sort=True):
        g = g.loc[g["revision"] == g["revision"].max()]
        blocks = {b: dict(zip(x["code"], x["points"], strict=True)) for b, x in g.groupby("block", sort=False)}
        for code, w in points_to_explicit(blocks, fw).items():
            rows.append(dict(submission=str(group), code=code, weight=float(w)))
    return pd.DataFrame(rows, columns=["submission", "code", "weight"])


def export_weight_sets(submissions: pd.DataFrame, path: str | Path, *, session: str = "",
                       framework: Framework | None = None) -> Path:
    """Write the groups' weight sets for the uncertainty engine (YAML, or CSV by suffix; format above)."""
    ws = weight_sets(submissions, framework)
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return write_text_atomic(path, ws.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    meta = submissions.groupby("group").agg(submitted_at=("submitted_at", "last"), method=("method", "last"))
    doc = {"kind": "pmm-weight-sets", "version": 1, "session": session,
           "source": "pmm workshop (latest submission per group)",
           "weight_sets": [{"name": str(name), "submitted_at": str(meta.loc[name, "submitted_at"]),
                            "method": str(meta.loc[name, "method"]),
                            "values": {c: round(float(w), 10) for c, w in zip(g["code"], g["weight"], strict=True)}}
                           for name, g in ws.groupby("submission", sort=True)]}
    return write_text_atomic(path, yaml.safe_dump(doc, sort_keys=False))


# --------------------------------------------------------------------------- plots

def plot_consensus(submissions: pd.DataFrame, *, block: str = TOP_BLOCK, ax: Axes | None = None) -> Axes:
    """Each group's points per code (dots) with the consensus mean (bar) and median (diamond).

    Parameters
    ----------
    submissions : DataFrame
        Output of :func:`load_submissions`.
    block : str
        Which block to show (``"PMM"`` = dimensions).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    table = weights_table(submissions, block)
    cons = consensus_points(table)
    long = table.reset_index().melt(id_vars="group", var_name="code", value_name="points")
    pal = sns.color_palette("colorblind")
    ax.bar(cons["code"], cons["weight_mean"], color=pal[0], alpha=0.35, label="consensus (mean)")
    sns.stripplot(data=long, x="code", y="points", order=list(cons["code"]), ax=ax, color=pal[1],
                  size=6, jitter=0.15, label="_nolegend_")
    ax.scatter([], [], color=pal[1], label="groups")
    ax.scatter(cons["code"], cons["weight_median"], marker="D", color=pal[2], zorder=3, label="consensus (median)")
    ax.set_xlabel("dimension" if block == TOP_BLOCK else f"KPI of {block}")
    ax.set_ylabel("weight points (of 100)")
    ax.set_title(f"Groups' weights and consensus ({len(table)} groups)")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_rank_shift(ranking: pd.DataFrame, *, top: int = 20, ax: Axes | None = None) -> Axes:
    """Horizontal bars of the largest rank shifts against the default weights.

    Parameters
    ----------
    ranking : DataFrame
        Output of :meth:`LiveIndex.ranking` (``name, rank, default_rank, rank_shift``).
    top : int
        How many members (largest absolute shifts) to show.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.25 * top + 1))
    r = ranking.dropna(subset=["rank_shift"])
    r = r.reindex(r["rank_shift"].abs().sort_values(ascending=False, kind="stable").index[:top])
    r = r.sort_values("rank_shift", kind="stable")
    pal = sns.color_palette("colorblind")
    colours = [pal[2] if v > 0 else pal[3] if v < 0 else pal[7] for v in r["rank_shift"]]
    ax.barh(r["name"].astype(str), r["rank_shift"], color=colours)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("rank shift vs default weights (places; > 0 = moves up)")
    ax.set_ylabel("Member")
    ax.set_title("Largest rank shifts")
    return ax


# --------------------------------------------------------------------------- moved names

_MOVED = {"LiveIndex": "pmm_lib.workshop.live", "load_live_index": "pmm_lib.workshop.live",
          "OUTCOME_CHOICES": "pmm_lib.workshop.live", "OutcomeChoice": "pmm_lib.workshop.live",
          "outcome_series": "pmm_lib.workshop.live",
          "cli_add_workshop": "pmm_lib.workshop.commands", "cli_workshop": "pmm_lib.workshop.commands"}


def __getattr__(name: str) -> Any:
    """Names that moved to :mod:`pmm_lib.workshop.live` and :mod:`pmm_lib.workshop.commands` (kept as aliases)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
