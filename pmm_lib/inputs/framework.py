"""The PMM framework: dimensions → expected outcomes → KPIs, loaded from YAML and validated.

This module owns ``methodology/framework.yaml``: reading it, checking it, and the flat
table view (one row per node) that the rest of the library computes with.

The hierarchy levels follow the reference tool's convention (COINr): level 1 = KPIs
(indicators), 2 = expected outcomes, 3 = dimensions, 4 = the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from pmm_lib.errors import PmmError
from pmm_lib.paths import FRAMEWORK_PATH

__all__ = [
    "DISCLOSURE_LEVELS",
    "Framework",
    "FrameworkError",
    "Kpi",
    "Node",
    "load_framework",
]

DISCLOSURE_LEVELS: tuple[str, ...] = ("public", "wco", "restricted")
Disclosure = Literal["public", "wco", "restricted"]


class FrameworkError(PmmError, ValueError):
    """The framework file is malformed; the message names the file and the offending node."""


@dataclass(frozen=True)
class Kpi:
    """One key performance indicator (a leaf of the framework)."""

    code: str
    name: str
    parent: str
    definition: str
    unit: str
    direction: int
    lower: float
    upper: float
    optional: bool
    disclosure: Disclosure
    weight: float
    illustrative: bool
    source: str = ""


@dataclass(frozen=True)
class Node:
    """An aggregate node: an expected outcome, a dimension or the index."""

    code: str
    name: str
    level: int
    parent: str | None
    weight: float
    children: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Framework:
    """A validated PMM framework.

    Attributes
    ----------
    name, version : str
        Title and version of the framework file.
    index : Node
        The top node (level 4).
    dimensions, outcomes : tuple of Node
        Levels 3 and 2, in file order.
    kpis : tuple of Kpi
        Level 1, in file order.
    path : Path or None
        The file it was read from.
    """

    name: str
    version: str
    index: Node
    dimensions: tuple[Node, ...]
    outcomes: tuple[Node, ...]
    kpis: tuple[Kpi, ...]
    path: Path | None = None

    @property
    def kpi_codes(self) -> list[str]:
        """KPI codes in framework order."""
        return [k.code for k in self.kpis]

    def kpi(self, code: str) -> Kpi:
        """Return the KPI with this code (``KeyError`` naming the code if absent)."""
        for k in self.kpis:
            if k.code == code:
                return k
        raise KeyError(f"unknown KPI code {code!r}; known: {', '.join(self.kpi_codes)}")

    def table(self) -> pd.DataFrame:
        """Flat view: one row per node.

        Returns
        -------
        DataFrame
            Columns ``code, name, level, parent, direction, weight, unit, lower, upper,
            optional, disclosure, illustrative, definition, source``. Level 1 rows are KPIs
            (in framework order), then outcomes (2), dimensions (3) and the index (4).
            Aggregate rows have ``direction = 1`` and empty KPI-only fields.
        """
        rows: list[dict[str, Any]] = []
        for k in self.kpis:
            rows.append(
                dict(code=k.code, name=k.name, level=1, parent=k.parent, direction=k.direction,
                     weight=k.weight, unit=k.unit, lower=k.lower, upper=k.upper,
                     optional=k.optional, disclosure=k.disclosure, illustrative=k.illustrative,
                     definition=k.definition, source=k.source)
            )
        for node in (*self.outcomes, *self.dimensions, self.index):
            rows.append(
                dict(code=node.code, name=node.name, level=node.level, parent=node.parent,
                     direction=1, weight=node.weight, unit="", lower=float("nan"),
                     upper=float("nan"), optional=False, disclosure="public",
                     illustrative=False, definition="", source="")
            )
        return pd.DataFrame(rows)

    def meta(self) -> pd.DataFrame:
        """The hierarchy in the method core's format (``code, level, parent, direction, weight``)."""
        return self.table()[["code", "name", "level", "parent", "direction", "weight"]]


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _flag(node: dict[str, Any], key: str, default: bool, where: str, path: Path) -> bool:
    value = node.get(key, default)
    if not isinstance(value, bool):
        raise FrameworkError(f"{path}: {where}: {key} must be true or false, got {value!r}")
    return value


def _req(node: dict[str, Any], key: str, where: str, path: Path) -> Any:
    if not isinstance(node, dict) or key not in node:
        raise FrameworkError(f"{path}: {where} has no {key!r} field")
    return node[key]


def _weight(value: Any, where: str, path: Path) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise FrameworkError(f"{path}: {where}: weight {value!r} is not a number") from None
    if not w > 0:
        raise FrameworkError(f"{path}: {where}: weight must be positive, got {value!r}")
    return w


def load_framework(path: str | Path | None = None, *, check_counts: bool = True) -> Framework:
    """Load and validate a framework file.

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; defaults to ``methodology/framework.yaml``.
    check_counts : bool
        Check the numbers of dimensions, outcomes and KPIs against ``expected_counts``.

    Raises
    ------
    FrameworkError
        Duplicate codes, unknown parents, bad directions, bounds, disclosure levels,
        non-positive weights or wrong counts, each naming the file and the node.

    Examples
    --------
    >>> fw = load_framework()
    >>> len(fw.dimensions), len(fw.outcomes), len(fw.kpis)
    (4, 23, 51)
    """
    path = Path(path) if path is not None else FRAMEWORK_PATH
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # safe loader (C if available)
    except FileNotFoundError:
        raise FrameworkError(f"{path}: framework file not found") from None
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise FrameworkError(f"{path}: expected a mapping at the top level")
    index_raw = raw.get("index") or {"code": "PMM", "name": "PMM index"}
    index_code = str(_req(index_raw, "code", "index", path))
    seen: dict[str, str] = {index_code: "index"}

    def claim(code: Any, where: str) -> str:
        if not isinstance(code, str) or not code.strip():
            raise FrameworkError(f"{path}: {where} has an empty or non-text code {code!r}")
        if code in seen:
            raise FrameworkError(f"{path}: duplicate code {code!r} ({where}; first used by {seen[code]})")
        seen[code] = where
        return code

    dims: list[Node] = []
    outs: list[Node] = []
    kpis: list[Kpi] = []
    dims_raw = _req(raw, "dimensions", "file", path)
    if not isinstance(dims_raw, list):
        raise FrameworkError(f"{path}: 'dimensions' must be a list")
    for i, d in enumerate(dims_raw):
        dcode = claim(_req(d, "code", f"dimension #{i + 1}", path), f"dimension #{i + 1}")
        dwhere = f"dimension {dcode}"
        parent = d.get("parent", index_code)
        if parent != index_code:
            raise FrameworkError(f"{path}: {dwhere}: unknown parent {parent!r} (expected {index_code!r})")
        ocodes: list[str] = []
        for j, o in enumerate(_req(d, "outcomes", dwhere, path) or []):
            ocode = claim(_req(o, "code", f"{dwhere} outcome #{j + 1}", path), f"outcome in {dcode}")
            owhere = f"outcome {ocode}"
            if o.get("parent", dcode) != dcode:
                raise FrameworkError(f"{path}: {owhere}: unknown parent {o['parent']!r} (listed under {dcode})")
            kcodes: list[str] = []
            for m, k in enumerate(_req(o, "kpis", owhere, path) or []):
                kcode = claim(_req(k, "code", f"{owhere} KPI #{m + 1}", path), f"KPI in {ocode}")
                kwhere = f"KPI {kcode}"
                if k.get("parent", ocode) != ocode:
                    raise FrameworkError(f"{path}: {kwhere}: unknown parent {k['parent']!r} (listed under {ocode})")
                direction = k.get("direction")
                if direction not in (1, -1) or isinstance(direction, bool):
                    raise FrameworkError(f"{path}: {kwhere}: direction must be 1 or -1, got {direction!r}")
                bounds = _req(k, "bounds", kwhere, path)
                if not isinstance(bounds, list | tuple):
                    raise FrameworkError(f"{path}: {kwhere}: bounds must be [lower, upper], got {bounds!r}")
                try:
                    lower, upper = (float(b) for b in bounds)
                except (TypeError, ValueError):
                    raise FrameworkError(f"{path}: {kwhere}: bounds must be [lower, upper], got {bounds!r}") from None
                if not lower < upper:
                    raise FrameworkError(f"{path}: {kwhere}: bounds lower {lower} must be below upper {upper}")
                disclosure = k.get("disclosure", "public")
                if disclosure not in DISCLOSURE_LEVELS:
                    raise FrameworkError(
                        f"{path}: {kwhere}: disclosure {disclosure!r} not one of {', '.join(DISCLOSURE_LEVELS)}"
                    )
                kpis.append(
                    Kpi(code=kcode, name=str(_req(k, "name", kwhere, path)), parent=ocode,
                        definition=str(_req(k, "definition", kwhere, path)), unit=str(_req(k, "unit", kwhere, path)),
                        direction=int(direction), lower=lower, upper=upper, optional=_flag(k, "optional", False, kwhere, path),
                        disclosure=disclosure, weight=_weight(k.get("weight", 1.0), kwhere, path),
                        illustrative=_flag(k, "illustrative", True, kwhere, path), source=str(k.get("source", "")))
                )
                kcodes.append(kcode)
            if not kcodes:
                raise FrameworkError(f"{path}: {owhere} has no KPIs")
            outs.append(Node(ocode, str(_req(o, "name", owhere, path)), 2, dcode,
                             _weight(o.get("weight", 1.0), owhere, path), tuple(kcodes)))
            ocodes.append(ocode)
        if not ocodes:
            raise FrameworkError(f"{path}: {dwhere} has no outcomes")
        dims.append(Node(dcode, str(_req(d, "name", dwhere, path)), 3, index_code,
                         _weight(d.get("weight", 1.0), dwhere, path), tuple(ocodes)))
    if check_counts and "expected_counts" in raw:
        exp = raw["expected_counts"]
        for label, got in (("dimensions", len(dims)), ("outcomes", len(outs)), ("kpis", len(kpis))):
            if label not in exp:
                continue
            if isinstance(exp[label], bool) or not isinstance(exp[label], int):
                raise FrameworkError(f"{path}: expected_counts: {label} must be an integer, got {exp[label]!r}")
            if exp[label] != got:
                raise FrameworkError(f"{path}: expected {exp[label]} {label}, found {got}")
    index = Node(index_code, str(index_raw.get("name", index_code)), 4, None, 1.0,
                 tuple(d.code for d in dims))
    return Framework(name=str(raw.get("name", "")), version=str(raw.get("version", "")), index=index,
                     dimensions=tuple(dims), outcomes=tuple(outs), kpis=tuple(kpis), path=path)
