"""Candidate frameworks: a base framework plus a list of typed design changes.

This module owns ``methodology/candidates/*.yaml``: reading a candidate, validating every change
against the base framework (with an error naming the file, the change's index, the key and what
was expected), applying the changes to obtain a new :class:`~pmm_lib.inputs.framework.Framework`,
mapping the observations onto it, and describing how two frameworks differ.

A candidate file::

    name: Reverse K40 and merge the collinear pair
    base: ../framework.yaml          # relative to the candidate file
    changes:
      - reverse: K40
        reason: item-rest r -0.63 in AMS 2024
      - merge: [K46, K47]
        into: K46
        name: Mutual recognition and exchange of AEO data

Change types (one type key per change, plus an optional ``reason``):

``add``
    a mapping with a new KPI (``code, name, parent`` outcome, ``unit, direction, bounds``;
    optional ``definition, optional, disclosure, weight, source``).
``remove``
    a KPI code.
``move``
    a KPI code and ``to``: the expected outcome it moves to.
``merge``
    two or more KPI codes of one dimension; ``into`` (new or one of the parts' codes, default the
    first part), optional ``name``, ``direction`` (default the first part's) and ``weight``
    (default the first part's: merging a double-counted pair halves its weight).
``reverse``
    a KPI code: its direction flips.
``reweight``
    any code and ``weight`` (positive).
``merge_outcomes``
    two or more outcome codes of one dimension; ``into`` (default the first), optional ``name``.
``split_outcome``
    an outcome code and ``into``: a list of ``{code, name, kpis}`` assigning every KPI of the
    outcome exactly once (the first part may keep the outcome's code).
``rename``
    any code with a new ``name`` and/or a new ``code``.

How the observations map onto a candidate (:func:`map_observations`)
----------------------------------------------------------------------
* A kept, moved, re-weighted or reversed KPI keeps its values unchanged (a reversed KPI only
  changes the direction the method core orients it by).
* A renamed KPI's values are relabelled with its new code.
* A removed KPI's values are dropped: Members are no longer asked for it.
* A merged KPI is the mean of its parts' values scaled by their framework bounds onto 0–100
  and oriented to the merged KPI's direction: ``s_j = 100 (x_j - L_j) / (U_j - L_j)``, replaced
  by ``100 - s_j`` when part ``j``'s direction differs from the merged KPI's; a Member's merged
  value is the mean of the parts it reported (missing only when it reported none). The bounds
  are fixed goalposts, so a Member's merged value never depends on other Members. Its unit is
  ``score (0-100)``, bounds ``[0, 100]``, disclosure the most restrictive of its parts'.
* An added KPI has no observations: it is missing for every Member until a cycle asks for it
  (its coverage is 0, which the scorecard reports).

Examples
--------
>>> from pmm_lib.paths import METHODOLOGY_DIR
>>> cand = load_candidate(METHODOLOGY_DIR / "candidates" / "reverse_merge.yaml")
>>> fw = apply_candidate(cand)
>>> fw.kpi("K40").direction, "K47" in fw.kpi_codes, len(fw.kpis)
(1, False, 50)
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pmm_lib.inputs.framework import (
    DISCLOSURE_LEVELS,
    Framework,
    FrameworkError,
    Kpi,
    Node,
    load_framework,
)
from pmm_lib.io import load_yaml

__all__ = [
    "CHANGE_TYPES",
    "AddKpi",
    "Candidate",
    "CandidateError",
    "Change",
    "KpiSource",
    "MergeKpis",
    "MergeOutcomes",
    "MoveKpi",
    "RemoveKpi",
    "Rename",
    "ReverseKpi",
    "Reweight",
    "SplitOutcome",
    "apply_candidate",
    "changes_table",
    "framework_diff",
    "framework_hash",
    "framework_record",
    "is_candidate_file",
    "kpi_sources",
    "load_candidate",
    "load_design",
    "manifest_framework_diff",
    "map_observations",
]


class CandidateError(FrameworkError):
    """A candidate file is malformed or one of its changes does not fit the base framework."""


# ----------------------------------------------------------------------------------------------
# Typed changes
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """Base of every design change; ``reason`` says which evidence motivates it."""

    reason: str = field(default="", kw_only=True)

    kind = "change"

    def describe(self) -> str:  # pragma: no cover - overridden
        """One line saying what the change does."""
        return self.kind


@dataclass(frozen=True)
class AddKpi(Change):
    """A new KPI (no observations yet)."""

    kpi: Kpi
    kind = "add"

    def describe(self) -> str:
        return f"add KPI {self.kpi.code} ({self.kpi.name}) to {self.kpi.parent}"


@dataclass(frozen=True)
class RemoveKpi(Change):
    """Remove a KPI: Members are no longer asked for it."""

    code: str
    kind = "remove"

    def describe(self) -> str:
        return f"remove KPI {self.code}"


@dataclass(frozen=True)
class MoveKpi(Change):
    """Move a KPI to another expected outcome."""

    code: str
    to: str
    kind = "move"

    def describe(self) -> str:
        return f"move KPI {self.code} to {self.to}"


@dataclass(frozen=True)
class MergeKpis(Change):
    """Merge KPIs of one dimension into one (mean of their bound-scaled, oriented values)."""

    codes: tuple[str, ...]
    into: str
    name: str | None = None
    direction: int | None = None
    weight: float | None = None
    kind = "merge"

    def describe(self) -> str:
        return f"merge KPIs {' + '.join(self.codes)} into {self.into}"


@dataclass(frozen=True)
class ReverseKpi(Change):
    """Flip a KPI's direction (higher is better ↔ lower is better)."""

    code: str
    kind = "reverse"

    def describe(self) -> str:
        return f"reverse the direction of KPI {self.code}"


@dataclass(frozen=True)
class Reweight(Change):
    """Give a node a new nominal weight within its parent."""

    code: str
    weight: float
    kind = "reweight"

    def describe(self) -> str:
        return f"re-weight {self.code} to {self.weight:g}"


@dataclass(frozen=True)
class MergeOutcomes(Change):
    """Merge expected outcomes of one dimension into one."""

    codes: tuple[str, ...]
    into: str
    name: str | None = None
    kind = "merge_outcomes"

    def describe(self) -> str:
        return f"merge outcomes {' + '.join(self.codes)} into {self.into}"


@dataclass(frozen=True)
class SplitOutcome(Change):
    """Split an expected outcome into parts, each ``(code, name, kpis)``."""

    code: str
    into: tuple[tuple[str, str, tuple[str, ...]], ...]
    kind = "split_outcome"

    def describe(self) -> str:
        return f"split outcome {self.code} into " + ", ".join(f"{c} ({'+'.join(k)})" for c, _, k in self.into)


@dataclass(frozen=True)
class Rename(Change):
    """Rename a node (new display name and/or new code)."""

    code: str
    new_code: str | None = None
    name: str | None = None
    kind = "rename"

    def describe(self) -> str:
        parts = [f"code {self.code} → {self.new_code}"] if self.new_code else []
        if self.name:
            parts.append(f"name '{self.name}'")
        return f"rename {self.code}: " + ", ".join(parts)


CHANGE_TYPES: dict[str, type[Change]] = {
    c.kind: c for c in (AddKpi, RemoveKpi, MoveKpi, MergeKpis, ReverseKpi, Reweight, MergeOutcomes,
                        SplitOutcome, Rename)
}


@dataclass(frozen=True)
class Candidate:
    """A candidate framework file: a base framework and its changes.

    Attributes
    ----------
    name, description : str
    base_path : Path
        The base framework file (resolved relative to the candidate file).
    changes : tuple of Change
    path : Path or None
        The candidate file.
    """

    name: str
    base_path: Path
    changes: tuple[Change, ...]
    description: str = ""
    path: Path | None = None


# ----------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------

def _err(path: Path | str, i: int | None, kind: str, key: str, message: str) -> CandidateError:
    where = f"change #{i + 1} ({kind})" if i is not None else "candidate"
    return CandidateError(f"{path}: {where}: {key}: {message}")


def _code(value: Any, path: Path, i: int, kind: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err(path, i, kind, key, f"expected a code such as 'K01' or 'O05', got {value!r}")
    return value.strip()


def _codes(value: Any, path: Path, i: int, kind: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise _err(path, i, kind, key, f"expected a list of at least two codes, got {value!r}")
    codes = tuple(_code(v, path, i, kind, key) for v in value)
    if len(set(codes)) != len(codes):
        raise _err(path, i, kind, key, f"lists a code twice: {list(codes)}")
    return codes


def _positive(value: Any, path: Path, i: int, kind: str, key: str) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise _err(path, i, kind, key, f"expected a positive number, got {value!r}") from None
    if isinstance(value, bool) or not w > 0:
        raise _err(path, i, kind, key, f"expected a positive number, got {value!r}")
    return w


def _direction(value: Any, path: Path, i: int, kind: str) -> int:
    if value not in (1, -1) or isinstance(value, bool):
        raise _err(path, i, kind, "direction", f"expected 1 or -1, got {value!r}")
    return int(value)


_ALLOWED_KEYS: dict[str, set[str]] = {
    "add": set(), "remove": set(), "move": {"to"}, "merge": {"into", "name", "direction", "weight"},
    "reverse": set(), "reweight": {"weight"}, "merge_outcomes": {"into", "name"},
    "split_outcome": {"into"}, "rename": {"code", "name"},
}


def _parse_change(raw: Any, path: Path, i: int) -> Change:
    if not isinstance(raw, dict):
        raise _err(path, i, "?", "change", f"expected a mapping with one of {', '.join(CHANGE_TYPES)}, got {raw!r}")
    kinds = [k for k in raw if k in CHANGE_TYPES]
    if len(kinds) != 1:
        raise _err(path, i, "?", "type", f"expected exactly one of {', '.join(CHANGE_TYPES)}, "
                   f"found {kinds or 'none'} in keys {sorted(raw)}")
    kind = kinds[0]
    extra = sorted(set(raw) - {kind, "reason"} - _ALLOWED_KEYS[kind])
    if extra:
        allowed = sorted({kind, "reason"} | _ALLOWED_KEYS[kind])
        raise _err(path, i, kind, extra[0], f"unknown key; allowed: {', '.join(allowed)}")
    reason = str(raw.get("reason", "") or "")
    v = raw[kind]
    if kind == "add":
        if not isinstance(v, dict):
            raise _err(path, i, kind, "add", f"expected a mapping describing the KPI, got {v!r}")
        for key in ("code", "name", "parent", "unit", "direction", "bounds"):
            if key not in v:
                raise _err(path, i, kind, key, "missing (a new KPI needs code, name, parent, unit, direction, bounds)")
        bounds = v["bounds"]
        try:
            lower, upper = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise _err(path, i, kind, "bounds", f"expected [lower, upper], got {bounds!r}") from None
        if not lower < upper:
            raise _err(path, i, kind, "bounds", f"lower {lower} must be below upper {upper}")
        disclosure = v.get("disclosure", "public")
        if disclosure not in DISCLOSURE_LEVELS:
            raise _err(path, i, kind, "disclosure", f"expected one of {', '.join(DISCLOSURE_LEVELS)}, got {disclosure!r}")
        optional = v.get("optional", False)
        if not isinstance(optional, bool):
            raise _err(path, i, kind, "optional", f"expected true or false, got {optional!r}")
        kpi = Kpi(code=_code(v["code"], path, i, kind, "code"), name=str(v["name"]),
                  parent=_code(v["parent"], path, i, kind, "parent"), definition=str(v.get("definition", "")),
                  unit=str(v["unit"]), direction=_direction(v["direction"], path, i, kind), lower=lower,
                  upper=upper, optional=optional, disclosure=disclosure,
                  weight=_positive(v.get("weight", 1.0), path, i, kind, "weight"),
                  illustrative=True, source=str(v.get("source", "Added by a candidate framework")))
        return AddKpi(kpi, reason=reason)
    if kind == "remove":
        return RemoveKpi(_code(v, path, i, kind, kind), reason=reason)
    if kind == "reverse":
        return ReverseKpi(_code(v, path, i, kind, kind), reason=reason)
    if kind == "move":
        if "to" not in raw:
            raise _err(path, i, kind, "to", "missing: the expected outcome the KPI moves to")
        return MoveKpi(_code(v, path, i, kind, kind), _code(raw["to"], path, i, kind, "to"), reason=reason)
    if kind == "reweight":
        if "weight" not in raw:
            raise _err(path, i, kind, "weight", "missing: the new nominal weight")
        return Reweight(_code(v, path, i, kind, kind), _positive(raw["weight"], path, i, kind, "weight"), reason=reason)
    if kind == "merge":
        codes = _codes(v, path, i, kind, kind)
        direction = _direction(raw["direction"], path, i, kind) if "direction" in raw else None
        weight = _positive(raw["weight"], path, i, kind, "weight") if "weight" in raw else None
        return MergeKpis(codes, _code(raw.get("into", codes[0]), path, i, kind, "into"),
                         name=str(raw["name"]) if "name" in raw else None, direction=direction, weight=weight,
                         reason=reason)
    if kind == "merge_outcomes":
        codes = _codes(v, path, i, kind, kind)
        return MergeOutcomes(codes, _code(raw.get("into", codes[0]), path, i, kind, "into"),
                             name=str(raw["name"]) if "name" in raw else None, reason=reason)
    if kind == "split_outcome":
        parts_raw = raw.get("into")
        if not isinstance(parts_raw, list) or len(parts_raw) < 2:
            raise _err(path, i, kind, "into", f"expected a list of at least two {{code, name, kpis}}, got {parts_raw!r}")
        parts = []
        for j, p in enumerate(parts_raw):
            if not isinstance(p, dict) or not {"code", "name", "kpis"} <= set(p):
                raise _err(path, i, kind, f"into[{j}]", f"expected a mapping with code, name, kpis, got {p!r}")
            kp = p["kpis"]
            if not isinstance(kp, list) or not kp:
                raise _err(path, i, kind, f"into[{j}].kpis", f"expected a non-empty list of KPI codes, got {kp!r}")
            parts.append((_code(p["code"], path, i, kind, f"into[{j}].code"), str(p["name"]),
                          tuple(_code(k, path, i, kind, f"into[{j}].kpis") for k in kp)))
        return SplitOutcome(_code(v, path, i, kind, kind), tuple(parts), reason=reason)
    # rename
    if "code" not in raw and "name" not in raw:
        raise _err(path, i, kind, "code/name", "expected a new 'code', a new 'name' or both")
    return Rename(_code(v, path, i, kind, kind),
                  new_code=_code(raw["code"], path, i, kind, "code") if "code" in raw else None,
                  name=str(raw["name"]) if "name" in raw else None, reason=reason)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CandidateError(f"{path}: candidate file not found") from None
    except yaml.YAMLError as exc:
        raise CandidateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CandidateError(f"{path}: expected a mapping with 'base' and 'changes' at the top level")
    return raw


def load_candidate(path: str | Path) -> Candidate:
    """Read a candidate file and check its syntax (the fit to the base is checked by :func:`apply_candidate`).

    Raises
    ------
    CandidateError
        Missing ``base``/``changes``, an unknown change type or key, a malformed value; the
        message names the file, the change's index (1-based), the key and what was expected.
    """
    path = Path(path)
    raw = _read_yaml(path)
    for key in ("base", "changes"):
        if key not in raw:
            raise _err(path, None, "", key, "missing (a candidate names its base framework file and lists its changes)")
    unknown = sorted(set(raw) - {"name", "description", "base", "changes", "evidence"})
    if unknown:
        raise _err(path, None, "", unknown[0], "unknown key; allowed: name, description, evidence, base, changes")
    if not isinstance(raw["base"], str):
        raise _err(path, None, "", "base", f"expected a path to a framework file, got {raw['base']!r}")
    base = (path.parent / raw["base"]).resolve()
    if not isinstance(raw["changes"], list) or not raw["changes"]:
        raise _err(path, None, "", "changes", "expected a non-empty list of changes")
    changes = tuple(_parse_change(c, path, i) for i, c in enumerate(raw["changes"]))
    return Candidate(name=str(raw.get("name", path.stem)), base_path=base, changes=changes,
                     description=str(raw.get("description", "") or ""), path=path)


def is_candidate_file(path: str | Path) -> bool:
    """True when the YAML file is a candidate (has a top-level ``base`` key), not a full framework."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return False
    return _is_candidate_cached(str(path), stamp)


@functools.lru_cache(maxsize=32)
def _is_candidate_cached(path: str, stamp: int) -> bool:
    try:
        raw = load_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and "base" in raw and "dimensions" not in raw


def load_design(path: str | Path | None = None) -> Framework:
    """A framework file or a candidate file, as a :class:`Framework` (the one loader for user-given paths).

    ``None`` is the project's framework; a relative path that does not exist from the working
    directory is taken relative to the project root (as run manifests record it). A candidate
    (a YAML file with a top-level ``base``) is
    applied to its base (:func:`apply_candidate`); anything else goes to
    :func:`pmm_lib.inputs.framework.load_framework`.

    Examples
    --------
    >>> from pmm_lib.paths import METHODOLOGY_DIR
    >>> len(load_design().kpis), len(load_design(METHODOLOGY_DIR / "candidates" / "drop_flagged.yaml").kpis)
    (51, 47)
    """
    if path is not None:
        from pmm_lib.paths import ROOT

        p = Path(path)
        if not p.is_absolute() and not p.exists() and (ROOT / p).exists():
            path = ROOT / p  # a manifest records paths relative to the project root
    if path is not None and is_candidate_file(path):
        return apply_candidate(Path(path))
    return load_framework(path)


# ----------------------------------------------------------------------------------------------
# Applying
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiSource:
    """Where a candidate KPI's values come from: base KPI codes, or none for an added KPI."""

    code: str
    parts: tuple[str, ...]
    kind: str  # "same" | "merged" | "added"


class _Work:
    """Mutable working copy of a framework while changes are applied (private)."""

    def __init__(self, fw: Framework):
        self.kpis: list[Kpi] = list(fw.kpis)
        self.outcomes: list[Node] = list(fw.outcomes)
        self.dims: list[Node] = list(fw.dimensions)
        self.index = fw.index
        self.sources: dict[str, KpiSource] = {k.code: KpiSource(k.code, (k.code,), "same") for k in fw.kpis}
        self.base_kpis = {k.code: k for k in fw.kpis}

    def kpi_pos(self, code: str) -> int | None:
        return next((i for i, k in enumerate(self.kpis) if k.code == code), None)

    def outcome_pos(self, code: str) -> int | None:
        return next((i for i, o in enumerate(self.outcomes) if o.code == code), None)

    def dim_of_outcome(self, code: str) -> str:
        pos = self.outcome_pos(code)
        return str(self.outcomes[pos].parent) if pos is not None else ""

    def codes(self) -> set[str]:
        return {k.code for k in self.kpis} | {o.code for o in self.outcomes} | {d.code for d in self.dims} | {
            self.index.code}

    def level_name(self, code: str) -> str:
        if self.kpi_pos(code) is not None:
            return "a KPI"
        if self.outcome_pos(code) is not None:
            return "an expected outcome"
        if any(d.code == code for d in self.dims):
            return "a dimension"
        return "the index" if code == self.index.code else "unknown"


def _need_kpi(w: _Work, code: str, path: Path | str, i: int, kind: str, key: str) -> int:
    pos = w.kpi_pos(code)
    if pos is None:
        what = w.level_name(code)
        hint = f"{code!r} is {what}, not a KPI" if what != "unknown" else f"unknown KPI code {code!r}"
        raise _err(path, i, kind, key, f"{hint}; expected a KPI of the framework at this point "
                   f"(e.g. {', '.join(k.code for k in w.kpis[:3])}, ...)")
    return pos


def _need_outcome(w: _Work, code: str, path: Path | str, i: int, kind: str, key: str) -> int:
    pos = w.outcome_pos(code)
    if pos is None:
        what = w.level_name(code)
        hint = (f"{code!r} is {what}, not an expected outcome" if what != "unknown"
                else f"unknown expected outcome {code!r}")
        raise _err(path, i, kind, key, f"{hint}; expected an outcome code such as "
                   f"{', '.join(o.code for o in w.outcomes[:3])}")
    return pos


def _free_code(w: _Work, code: str, path: Path | str, i: int, kind: str, key: str, allowed: Sequence[str] = ()) -> None:
    if code in w.codes() and code not in allowed:
        raise _err(path, i, kind, key, f"code {code!r} is already used by {w.level_name(code)}; "
                   "expected a new code" + (f" or one of {', '.join(allowed)}" if allowed else ""))


def _apply_one(w: _Work, ch: Change, path: Path | str, i: int) -> None:
    kind = ch.kind
    if isinstance(ch, AddKpi):
        _free_code(w, ch.kpi.code, path, i, kind, "code")
        _need_outcome(w, ch.kpi.parent, path, i, kind, "parent")
        last = max((j for j, k in enumerate(w.kpis) if k.parent == ch.kpi.parent), default=len(w.kpis) - 1)
        w.kpis.insert(last + 1, ch.kpi)
        w.sources[ch.kpi.code] = KpiSource(ch.kpi.code, (), "added")
    elif isinstance(ch, RemoveKpi):
        pos = _need_kpi(w, ch.code, path, i, kind, kind)
        parent = w.kpis[pos].parent
        if sum(k.parent == parent for k in w.kpis) == 1:
            raise _err(path, i, kind, kind, f"{ch.code} is the last KPI of {parent}; expected an outcome to "
                       "keep at least one KPI (merge or remove the outcome's KPIs into another outcome instead)")
        del w.kpis[pos]
        w.sources.pop(ch.code, None)
    elif isinstance(ch, ReverseKpi):
        pos = _need_kpi(w, ch.code, path, i, kind, kind)
        w.kpis[pos] = replace(w.kpis[pos], direction=-w.kpis[pos].direction)
    elif isinstance(ch, MoveKpi):
        pos = _need_kpi(w, ch.code, path, i, kind, kind)
        _need_outcome(w, ch.to, path, i, kind, "to")
        k = w.kpis[pos]
        if k.parent == ch.to:
            raise _err(path, i, kind, "to", f"{ch.code} is already in {ch.to}; expected another outcome")
        if sum(x.parent == k.parent for x in w.kpis) == 1:
            raise _err(path, i, kind, kind, f"{ch.code} is the last KPI of {k.parent}; expected an outcome to "
                       "keep at least one KPI (use merge_outcomes to fold the outcome into another)")
        del w.kpis[pos]
        last = max((j for j, x in enumerate(w.kpis) if x.parent == ch.to), default=len(w.kpis) - 1)
        w.kpis.insert(last + 1, replace(k, parent=ch.to))
    elif isinstance(ch, Reweight):
        if (kpos := w.kpi_pos(ch.code)) is not None:
            w.kpis[kpos] = replace(w.kpis[kpos], weight=ch.weight)
        elif (opos := w.outcome_pos(ch.code)) is not None:
            w.outcomes[opos] = replace(w.outcomes[opos], weight=ch.weight)
        elif (dpos := next((j for j, d in enumerate(w.dims) if d.code == ch.code), None)) is not None:
            w.dims[dpos] = replace(w.dims[dpos], weight=ch.weight)
        else:
            what = "the index (its weight is always 1)" if ch.code == w.index.code else f"unknown code {ch.code!r}"
            raise _err(path, i, kind, kind, f"{what}; expected a KPI, outcome or dimension code")
    elif isinstance(ch, MergeKpis):
        positions = [_need_kpi(w, c, path, i, kind, kind) for c in ch.codes]
        parts = [w.kpis[p] for p in positions]
        dims = {w.dim_of_outcome(k.parent) for k in parts}
        if len(dims) > 1:
            desc = ", ".join(f"{k.code} in {w.dim_of_outcome(k.parent)}" for k in parts)
            raise _err(path, i, kind, kind, f"merges KPIs of different dimensions ({desc}); "
                       "expected KPIs of one dimension (move one first if the merge is intended)")
        _free_code(w, ch.into, path, i, kind, "into", allowed=ch.codes)
        first = parts[0]
        direction = ch.direction if ch.direction is not None else first.direction
        rank = {lv: j for j, lv in enumerate(DISCLOSURE_LEVELS)}
        disclosure = max((k.disclosure for k in parts), key=rank.__getitem__)
        merged = replace(
            first, code=ch.into, name=ch.name or " + ".join(k.name for k in parts),
            definition="Mean of the bound-scaled (0-100), oriented values of " + ", ".join(k.code for k in parts),
            unit="score (0-100)", direction=direction, lower=0.0, upper=100.0,
            optional=all(k.optional for k in parts), disclosure=disclosure,
            weight=ch.weight if ch.weight is not None else first.weight,
            source="Merged by a candidate framework from " + ", ".join(k.code for k in parts))
        base_parts: list[str] = []
        for k in parts:
            src = w.sources.get(k.code)
            if src is None or src.kind == "added":
                continue
            if src.kind == "merged":
                raise _err(path, i, kind, kind, f"{k.code} is itself a merged KPI; expected KPIs with their own "
                           "values (list all the parts in one merge instead)")
            base_parts.extend(src.parts)
        first_pos = min(positions)
        for p in sorted(positions, reverse=True):
            del w.kpis[p]
        for c in ch.codes:
            w.sources.pop(c, None)
        w.kpis.insert(min(first_pos, len(w.kpis)), merged)
        w.sources[ch.into] = KpiSource(ch.into, tuple(base_parts), "merged" if base_parts else "added")
    elif isinstance(ch, MergeOutcomes):
        positions = [_need_outcome(w, c, path, i, kind, kind) for c in ch.codes]
        outs = [w.outcomes[p] for p in positions]
        dims = {str(o.parent) for o in outs}
        if len(dims) > 1:
            desc = ", ".join(f"{o.code} in {o.parent}" for o in outs)
            raise _err(path, i, kind, kind, f"merges outcomes of different dimensions ({desc}); "
                       "expected outcomes of one dimension")
        _free_code(w, ch.into, path, i, kind, "into", allowed=ch.codes)
        first_out = outs[0]
        merged_out = replace(first_out, code=ch.into, name=ch.name or "; ".join(o.name for o in outs))
        for p in sorted(positions, reverse=True):
            del w.outcomes[p]
        w.outcomes.insert(min(positions), merged_out)
        w.kpis = [replace(k, parent=ch.into) if k.parent in ch.codes else k for k in w.kpis]
    elif isinstance(ch, SplitOutcome):
        pos = _need_outcome(w, ch.code, path, i, kind, kind)
        split = w.outcomes[pos]
        members = [k.code for k in w.kpis if k.parent == ch.code]
        listed = [k for _, _, ks in ch.into for k in ks]
        for code in listed:
            if code not in members:
                raise _err(path, i, kind, "into", f"{code!r} is not a KPI of {ch.code}; expected one of "
                           f"{', '.join(members)}")
        twice = sorted({c for c in listed if listed.count(c) > 1})
        if twice:
            raise _err(path, i, kind, "into", f"{', '.join(twice)} assigned to more than one part; expected each KPI once")
        missing = [c for c in members if c not in listed]
        if missing:
            raise _err(path, i, kind, "into", f"{', '.join(missing)} of {ch.code} not assigned; expected every KPI "
                       "of the outcome in exactly one part")
        new_codes = [c for c, _, _ in ch.into]
        if len(set(new_codes)) != len(new_codes):
            raise _err(path, i, kind, "into", f"part codes repeat: {new_codes}")
        for j, c in enumerate(new_codes):
            _free_code(w, c, path, i, kind, f"into[{j}].code", allowed=(ch.code,))
        new_nodes = [Node(c, name, 2, split.parent, split.weight, ks) for c, name, ks in ch.into]
        w.outcomes[pos:pos + 1] = new_nodes
        where = {k: c for c, _, ks in ch.into for k in ks}
        w.kpis = [replace(x, parent=where[x.code]) if x.code in where else x for x in w.kpis]
    elif isinstance(ch, Rename):
        new = ch.new_code
        if new is not None:
            _free_code(w, new, path, i, kind, "code")
        if (kpos := w.kpi_pos(ch.code)) is not None:
            w.kpis[kpos] = replace(w.kpis[kpos], code=new or ch.code, name=ch.name or w.kpis[kpos].name)
            if new:
                src = w.sources.pop(ch.code)
                w.sources[new] = replace(src, code=new)
        elif (opos := w.outcome_pos(ch.code)) is not None:
            w.outcomes[opos] = replace(w.outcomes[opos], code=new or ch.code, name=ch.name or w.outcomes[opos].name)
            if new:
                w.kpis = [replace(x, parent=new) if x.parent == ch.code else x for x in w.kpis]
        elif (dpos := next((j for j, d in enumerate(w.dims) if d.code == ch.code), None)) is not None:
            w.dims[dpos] = replace(w.dims[dpos], code=new or ch.code, name=ch.name or w.dims[dpos].name)
            if new:
                w.outcomes = [replace(o, parent=new) if o.parent == ch.code else o for o in w.outcomes]
        elif ch.code == w.index.code:
            w.index = replace(w.index, code=new or ch.code, name=ch.name or w.index.name)
            if new:
                w.dims = [replace(d, parent=new) for d in w.dims]
        else:
            raise _err(path, i, kind, kind, f"unknown code {ch.code!r}; expected a KPI, outcome, dimension or index code")
    else:  # pragma: no cover - every Change subclass is handled above
        raise _err(path, i, kind, "type", f"unsupported change {type(ch).__name__}")


def _finish(w: _Work, name: str, version: str, path: Path | None) -> Framework:
    outcomes = tuple(replace(o, children=tuple(k.code for k in w.kpis if k.parent == o.code)) for o in w.outcomes)
    dims = tuple(replace(d, children=tuple(o.code for o in outcomes if o.parent == d.code)) for d in w.dims)
    index = replace(w.index, children=tuple(d.code for d in dims))
    return Framework(name=name, version=version, index=index, dimensions=dims, outcomes=outcomes,
                     kpis=tuple(w.kpis), path=path)


def _apply(candidate: Candidate, base: Framework | None = None) -> tuple[Framework, dict[str, KpiSource]]:
    path: Path | str = candidate.path if candidate.path is not None else "<candidate>"
    if base is None:
        if is_candidate_file(candidate.base_path):
            raise _err(path, None, "", "base", f"{candidate.base_path} is itself a candidate; expected a full "
                       "framework file (candidates do not chain)")
        try:
            base = load_framework(candidate.base_path, check_counts=False)
        except FrameworkError as exc:
            raise _err(path, None, "", "base", f"the base framework could not be loaded: {exc}") from None
    w = _Work(base)
    for i, ch in enumerate(candidate.changes):
        _apply_one(w, ch, path, i)
    fw = _finish(w, name=f"{base.name} (candidate: {candidate.name})", version=f"{base.version}+{candidate.name}",
                 path=candidate.path)
    return fw, dict(w.sources)


def apply_candidate(candidate: Candidate | str | Path, base: Framework | None = None) -> Framework:
    """Apply a candidate's changes, in order, to its base framework.

    Parameters
    ----------
    candidate : Candidate or path
        A loaded candidate or its file.
    base : Framework, optional
        The base to apply to (default: the candidate's ``base`` file).

    Returns
    -------
    Framework
        The candidate framework (``path`` = the candidate file); children recomputed, file order kept
        (added and moved KPIs go last in their outcome, a merged KPI takes its first part's place).

    Raises
    ------
    CandidateError
        A change that does not fit: an unknown code, a move to a non-outcome, a merge of KPIs of
        different dimensions, an outcome left empty, a code already in use, a split that does not
        assign every KPI once..., naming the file, the change's index, the key and what was expected.
    """
    cand = candidate if isinstance(candidate, Candidate) else load_candidate(candidate)
    return _apply(cand, base)[0]


def kpi_sources(candidate: Candidate | str | Path, base: Framework | None = None) -> dict[str, KpiSource]:
    """For each candidate KPI code, the base KPI codes its values come from (see the module docstring)."""
    cand = candidate if isinstance(candidate, Candidate) else load_candidate(candidate)
    return _apply(cand, base)[1]


def map_observations(observations: pd.DataFrame, candidate: Candidate | str | Path,
                     base: Framework | None = None) -> pd.DataFrame:
    """Tidy observations of the base framework → observations of the candidate framework.

    Follows the rules of the module docstring: kept KPIs unchanged (relabelled when renamed),
    removed KPIs dropped, merged KPIs the mean of their parts' bound-scaled, oriented values,
    added KPIs absent.

    Parameters
    ----------
    observations : DataFrame
        ``member, cycle, kpi, value, disclosure, source, flag`` (:func:`pmm_lib.inputs.data.load_observations`).

    Returns
    -------
    DataFrame
        Same columns. A merged row has ``source = "merged:K46+K47"``, the most restrictive disclosure
        of the parts it averages and an empty flag. Rows of codes the base does not know are kept
        as they are (so :func:`pmm_lib.inputs.data.to_matrix` reports them).

    Examples
    --------
    >>> obs = pd.DataFrame({"member": ["ARG", "ARG"], "cycle": [2024, 2024], "kpi": ["K46", "K47"],
    ...                     "value": [50.0, 70.0], "disclosure": ["public", "wco"], "source": "x", "flag": ""})
    >>> from pmm_lib.paths import METHODOLOGY_DIR
    >>> out = map_observations(obs, METHODOLOGY_DIR / "candidates" / "reverse_merge.yaml")
    >>> out[["kpi", "value", "disclosure"]].values.tolist()
    [['K46', 60.0, 'wco']]
    """
    cand = candidate if isinstance(candidate, Candidate) else load_candidate(candidate)
    if base is None:
        base = load_framework(cand.base_path, check_counts=False)
    fw, sources = _apply(cand, base)
    base_kpis = {k.code: k for k in base.kpis}
    new_kpis = {k.code: k for k in fw.kpis}
    frames: list[pd.DataFrame] = []
    # unknown codes pass through so that to_matrix can name them
    frames.append(observations[~observations["kpi"].isin(set(base_kpis))])
    rank = {lv: j for j, lv in enumerate(DISCLOSURE_LEVELS)}
    for code, src in sources.items():
        if src.kind == "same":
            rows = observations[observations["kpi"] == src.parts[0]]
            if len(rows):
                frames.append(rows.assign(kpi=code) if code != src.parts[0] else rows)
        elif src.kind == "merged":
            target = new_kpis[code]
            rows = observations[observations["kpi"].isin(src.parts)]
            if rows.empty:
                continue
            lo = rows["kpi"].map({c: base_kpis[c].lower for c in src.parts}).astype(float)
            hi = rows["kpi"].map({c: base_kpis[c].upper for c in src.parts}).astype(float)
            flip = rows["kpi"].map({c: base_kpis[c].direction != target.direction for c in src.parts}).astype(bool)
            scaled = 100.0 * (rows["value"].astype(float) - lo) / (hi - lo)
            scaled = scaled.where(~flip, 100.0 - scaled)
            tmp = pd.DataFrame({"member": rows["member"], "cycle": rows["cycle"], "value": scaled,
                                "disc": rows["disclosure"].map(rank)})
            g = tmp.groupby(["member", "cycle"], sort=True)
            merged = g.agg(value=("value", "mean"), disc=("disc", "max")).reset_index()
            frames.append(pd.DataFrame({
                "member": merged["member"], "cycle": merged["cycle"], "kpi": code,
                "value": merged["value"].astype(float),
                "disclosure": merged["disc"].map(dict(enumerate(DISCLOSURE_LEVELS))),
                "source": "merged:" + "+".join(src.parts), "flag": ""}))
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else \
        observations.iloc[0:0].copy()
    order = {c: j for j, c in enumerate(fw.kpi_codes)}
    out = out.assign(_o=out["kpi"].map(order).fillna(len(order))).sort_values(
        ["cycle", "member", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    out = out[list(observations.columns)]
    if cand.path is not None:
        out.attrs["framework"] = str(cand.path)  # to_matrix(framework_path=...) then maps no second time
    return out


# ----------------------------------------------------------------------------------------------
# Describing changes and differences
# ----------------------------------------------------------------------------------------------

def changes_table(candidate: Candidate | str | Path) -> pd.DataFrame:
    """One row per change: ``change`` (1-based), ``type``, ``codes``, ``description``, ``reason``."""
    cand = candidate if isinstance(candidate, Candidate) else load_candidate(candidate)
    rows = []
    for i, ch in enumerate(cand.changes, start=1):
        if isinstance(ch, AddKpi):
            codes = ch.kpi.code
        elif isinstance(ch, MergeKpis | MergeOutcomes):
            codes = ", ".join(ch.codes)
        else:
            codes = str(getattr(ch, "code", ""))
        rows.append({"change": i, "type": ch.kind, "codes": codes, "description": ch.describe(),
                     "reason": ch.reason})
    return pd.DataFrame(rows, columns=["change", "type", "codes", "description", "reason"])


def framework_hash(framework: Framework) -> str:
    """SHA-256 of the framework's structure (codes, parents, directions, weights, bounds), file-independent."""
    t = framework.table()[["code", "level", "parent", "direction", "weight", "lower", "upper"]]
    return hashlib.sha256(t.to_csv(index=False).encode("utf-8")).hexdigest()


def framework_record(path: str | Path) -> dict[str, Any]:
    """What a run manifest records of the framework it used.

    Returns
    -------
    dict
        ``path``, ``sha256`` (of the file), ``structure_hash`` (:func:`framework_hash` of the applied
        framework), ``kpis`` (count), ``candidate`` (bool) and, for a candidate, ``base`` with
        ``base_sha256`` and ``changes`` (:func:`changes_table` rows).
    """
    path = Path(path)
    fw = load_design(path)
    rec: dict[str, Any] = {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                           "structure_hash": framework_hash(fw), "kpis": len(fw.kpis),
                           "candidate": is_candidate_file(path)}
    if rec["candidate"]:
        cand = load_candidate(path)
        rec.update(base=str(cand.base_path), base_sha256=hashlib.sha256(cand.base_path.read_bytes()).hexdigest(),
                   changes=changes_table(cand).to_dict(orient="records"))
    return rec


def _manifest_framework(manifest: Mapping[str, Any]) -> tuple[Path | None, str | None]:
    from pmm_lib.paths import ROOT

    got = manifest.get("framework")
    rec: Mapping[str, Any] = got if isinstance(got, Mapping) else {}
    raw = rec.get("path") or manifest.get("framework_path")
    path = None
    if raw:
        p = Path(str(raw))
        path = p if p.is_absolute() else ROOT / p
    return path, rec.get("structure_hash")


def manifest_framework_diff(manifest_a: Mapping[str, Any], manifest_b: Mapping[str, Any]) -> pd.DataFrame:
    """How run B's framework differs from run A's, from their manifests (``framework`` record or ``framework_path``).

    Returns
    -------
    DataFrame
        :func:`framework_diff` of the two frameworks (``code, level, change, before, after``), empty
        when both structure hashes agree. When a framework file can no longer be read, one row
        ``change = "unreadable"`` names it (the structure hashes still tell whether they differ).
    """
    pa, ha = _manifest_framework(manifest_a)
    pb, hb = _manifest_framework(manifest_b)
    cols = ["code", "level", "change", "before", "after"]
    if pa is None and pb is None:
        return pd.DataFrame(columns=cols)
    if ha is not None and ha == hb:
        return pd.DataFrame(columns=cols)
    frameworks = []
    for path in (pa, pb):
        try:
            frameworks.append(load_design(path))
        except (FrameworkError, OSError) as exc:
            return pd.DataFrame([{"code": "", "level": "framework", "change": "unreadable",
                                  "before": str(pa), "after": f"{pb} ({exc})"}], columns=cols)
    return framework_diff(frameworks[0], frameworks[1])


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def framework_diff(a: Framework, b: Framework) -> pd.DataFrame:
    """How framework ``b`` differs from ``a``, one row per difference.

    Returns
    -------
    DataFrame
        ``code, level, change, before, after``; ``change`` is one of ``added``, ``removed``,
        ``moved`` (parent changed), ``direction``, ``weight``, ``bounds``, ``unit``, ``renamed``
        (display name). Empty when the two describe the same hierarchy.

    Examples
    --------
    >>> from pmm_lib.paths import METHODOLOGY_DIR
    >>> base = load_framework()
    >>> cand = apply_candidate(METHODOLOGY_DIR / "candidates" / "reverse_merge.yaml")
    >>> framework_diff(base, cand)[["code", "change"]].values.tolist()
    [['K40', 'direction'], ['K46', 'unit'], ['K46', 'renamed'], ['K47', 'removed']]
    """
    ta, tb = a.table().set_index("code"), b.table().set_index("code")
    rows: list[dict[str, Any]] = []
    level_name = {1: "kpi", 2: "outcome", 3: "dimension", 4: "index"}
    lv_a = {str(k): int(v) for k, v in ta["level"].items()}
    lv_b = {str(k): int(v) for k, v in tb["level"].items()}
    for code in tb.index:
        if code not in ta.index:
            rows.append({"code": code, "level": level_name[lv_b[code]], "change": "added",
                         "before": "", "after": _text(tb.at[code, "parent"])})
    for code in ta.index:
        lv = level_name[lv_a[code]]
        if code not in tb.index:
            rows.append({"code": code, "level": lv, "change": "removed", "before": _text(ta.at[code, "parent"]),
                         "after": ""})
            continue
        ra, rb = ta.loc[code], tb.loc[code]
        if _text(ra["parent"]) != _text(rb["parent"]):
            rows.append({"code": code, "level": lv, "change": "moved", "before": str(ra["parent"]),
                         "after": str(rb["parent"])})
        if int(ra["direction"]) != int(rb["direction"]):
            rows.append({"code": code, "level": lv, "change": "direction", "before": str(int(ra["direction"])),
                         "after": str(int(rb["direction"]))})
        if float(ra["weight"]) != float(rb["weight"]):
            rows.append({"code": code, "level": lv, "change": "weight", "before": f"{float(ra['weight']):g}",
                         "after": f"{float(rb['weight']):g}"})
        if lv == "kpi" and (float(ra["lower"]), float(ra["upper"])) != (float(rb["lower"]), float(rb["upper"])):
            rows.append({"code": code, "level": lv, "change": "bounds",
                         "before": f"[{ra['lower']:g}, {ra['upper']:g}]", "after": f"[{rb['lower']:g}, {rb['upper']:g}]"})
        if lv == "kpi" and str(ra["unit"]) != str(rb["unit"]):
            rows.append({"code": code, "level": lv, "change": "unit", "before": str(ra["unit"]),
                         "after": str(rb["unit"])})
        if str(ra["name"]) != str(rb["name"]):
            rows.append({"code": code, "level": lv, "change": "renamed", "before": str(ra["name"]),
                         "after": str(rb["name"])})
    return pd.DataFrame(rows, columns=["code", "level", "change", "before", "after"])
