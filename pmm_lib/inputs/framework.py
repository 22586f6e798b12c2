"""The PMM framework: dimensions → expected outcomes → KPIs, loaded from YAML and validated.

This module owns ``methodology/framework.yaml``: reading it, checking it, and the flat
table view (one row per node) that the rest of the library computes with.

The hierarchy levels follow the reference tool's convention (COINr): level 1 = KPIs
(indicators), 2 = expected outcomes, 3 = dimensions, 4 = the index.

Translations
------------
The framework file is the one catalogue of every Member-facing text. ``languages`` lists the
languages (English first); each dimension, outcome and KPI carries ``name_<lang>`` and each KPI
``definition_<lang>`` for every other language; ``unit_labels`` gives each unit's label per
language and ``reference_period`` the reference period per language. A missing, empty or
undeclared translation is a :class:`FrameworkError` naming the node and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from pmm_lib.errors import PmmError
from pmm_lib.io import load_yaml
from pmm_lib.paths import FRAMEWORK_PATH

__all__ = [
    "DISCLOSURE_LEVELS",
    "Framework",
    "FrameworkError",
    "Kpi",
    "Node",
    "load_framework",
]

_TranslatedText = tuple[tuple[str, str, str], ...]  # (field, lang, text)

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
    translations: _TranslatedText = field(default=(), repr=False, compare=False)

    def text(self, what: Literal["name", "definition"] = "name", lang: str = "en") -> str:
        """The KPI's name or definition in ``lang`` (English when ``lang`` is "en" or absent)."""
        return _translated(self, what, lang)


@dataclass(frozen=True)
class Node:
    """An aggregate node: an expected outcome, a dimension or the index."""

    code: str
    name: str
    level: int
    parent: str | None
    weight: float
    children: tuple[str, ...] = field(default_factory=tuple)
    translations: _TranslatedText = field(default=(), repr=False, compare=False)

    def text(self, what: Literal["name"] = "name", lang: str = "en") -> str:
        """The node's name in ``lang`` (English when ``lang`` is "en" or absent)."""
        return _translated(self, what, lang)


def _translated(obj: Any, what: str, lang: str) -> str:
    for f, lg, text in obj.translations:
        if f == what and lg == lang:
            return text
    return str(getattr(obj, what))


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
    languages: tuple[str, ...] = ("en",)
    unit_labels: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)  # (unit, lang, label)
    reference_period: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (lang, text)

    def unit_label(self, unit: str, lang: str = "en") -> str:
        """The label of ``unit`` in ``lang`` (the unit itself in English or when untranslated).

        >>> load_framework().unit_label("hours", "fr")
        'heures'
        """
        for u, lg, label in self.unit_labels:
            if u == unit and lg == lang:
                return label
        return unit

    def unit_readings(self, unit: str) -> set[str]:
        """Every label of ``unit`` in every language, case-folded (what a filled template may show)."""
        return {unit.casefold(), *(label.casefold() for u, _, label in self.unit_labels if u == unit)}

    def reference_period_text(self, lang: str = "en") -> str:
        """The reference period of the values, in ``lang`` (empty when the file gives none)."""
        texts = dict(self.reference_period)
        return texts.get(lang, texts.get("en", ""))

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


def _node_translations(node: dict[str, Any], fields_: tuple[str, ...], languages: tuple[str, ...],
                       where: str, path: Path) -> _TranslatedText:
    """Collect ``<field>_<lang>`` keys; every declared language needs each, undeclared ones are errors."""
    out: list[tuple[str, str, str]] = []
    for key in node:
        if not isinstance(key, str):
            continue
        for f in fields_:
            if key.startswith(f + "_") and len(key) == len(f) + 3:
                lang = key[-2:]
                if lang not in languages or lang == "en":
                    raise FrameworkError(f"{path}: {where}: {key!r} is for language {lang!r}, which 'languages' "
                                         f"does not declare (declared: {', '.join(languages)})")
    for lang in languages[1:]:
        for f in fields_:
            key = f"{f}_{lang}"
            text = node.get(key)
            if not isinstance(text, str) or not text.strip():
                raise FrameworkError(f"{path}: {where}: missing or empty translation {key!r} "
                                     f"(every node needs {', '.join(x + '_' + lang for x in fields_)})")
            out.append((f, lang, text.strip()))
    return tuple(out)


def _languages(raw: dict[str, Any], path: Path) -> tuple[str, ...]:
    langs = raw.get("languages", ["en"])
    if (not isinstance(langs, list) or not langs or langs[0] != "en" or len(set(langs)) != len(langs)
            or not all(isinstance(x, str) and len(x) == 2 and x.isalpha() and x.islower() for x in langs)):
        raise FrameworkError(f"{path}: 'languages' must list distinct two-letter codes starting with 'en', got {langs!r}")
    return tuple(langs)


def _unit_labels(raw: dict[str, Any], units: set[str], languages: tuple[str, ...],
                 path: Path) -> tuple[tuple[str, str, str], ...]:
    block = raw.get("unit_labels", {}) or {}
    if not isinstance(block, dict):
        raise FrameworkError(f"{path}: 'unit_labels' must map each unit to its labels per language")
    out: list[tuple[str, str, str]] = []
    for unit in sorted(units):
        labels = block.get(unit, {}) or {}
        for lang in languages[1:]:
            label = labels.get(lang) if isinstance(labels, dict) else None
            if not isinstance(label, str) or not label.strip():
                raise FrameworkError(f"{path}: unit_labels: unit {unit!r} has no {lang!r} label")
            out.append((unit, lang, label.strip()))
    unused = sorted(set(block) - units)
    if unused:
        raise FrameworkError(f"{path}: unit_labels: {', '.join(map(repr, unused))} is not the unit of any KPI")
    return tuple(out)


def _reference_period(raw: dict[str, Any], languages: tuple[str, ...], path: Path) -> tuple[tuple[str, str], ...]:
    block = raw.get("reference_period")
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise FrameworkError(f"{path}: 'reference_period' must map each language to a text")
    for lang in languages:
        if not isinstance(block.get(lang), str) or not block[lang].strip():
            raise FrameworkError(f"{path}: reference_period has no {lang!r} text")
    return tuple((lang, block[lang].strip()) for lang in languages)


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
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FrameworkError(f"{path}: framework file not found") from None
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise FrameworkError(f"{path}: expected a mapping at the top level")
    languages = _languages(raw, path)
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
                        illustrative=_flag(k, "illustrative", True, kwhere, path), source=str(k.get("source", "")),
                        translations=_node_translations(k, ("name", "definition"), languages, kwhere, path))
                )
                kcodes.append(kcode)
            if not kcodes:
                raise FrameworkError(f"{path}: {owhere} has no KPIs")
            outs.append(Node(ocode, str(_req(o, "name", owhere, path)), 2, dcode,
                             _weight(o.get("weight", 1.0), owhere, path), tuple(kcodes),
                             _node_translations(o, ("name",), languages, owhere, path)))
            ocodes.append(ocode)
        if not ocodes:
            raise FrameworkError(f"{path}: {dwhere} has no outcomes")
        dims.append(Node(dcode, str(_req(d, "name", dwhere, path)), 3, index_code,
                         _weight(d.get("weight", 1.0), dwhere, path), tuple(ocodes),
                         _node_translations(d, ("name",), languages, dwhere, path)))
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
                     dimensions=tuple(dims), outcomes=tuple(outs), kpis=tuple(kpis), path=path,
                     languages=languages, unit_labels=_unit_labels(raw, {k.unit for k in kpis}, languages, path),
                     reference_period=_reference_period(raw, languages, path))
