"""pmm_lib.inputs.framework: the bundled framework and the validation of malformed ones."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmm_lib.inputs.framework import DISCLOSURE_LEVELS, FrameworkError, load_framework
from pmm_lib.paths import FRAMEWORK_PATH

#: KPI names the WCO has published for PMM v.1 (all others are illustrative stand-ins).
PUBLISHED = {
    "Rate of electronic declarations",
    "Variation in the number of AEOs",
    "AEO involvement in trade",
    "Share of e-commerce shipments",
    "Annual variation in requests for information",
    "Variation in the number of alcohol seizures",
    "Data standardization",
    "Effectiveness of post-clearance controls",
    "Effectiveness of controls on drugs",
}


@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(FRAMEWORK_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "framework.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _kpi(data: dict[str, Any], code: str) -> dict[str, Any]:
    for d in data["dimensions"]:
        for o in d["outcomes"]:
            for k in o["kpis"]:
                if k["code"] == code:
                    return k
    raise KeyError(code)


# ------------------------------------------------------------------ the bundled framework

def test_counts(fw) -> None:
    assert (len(fw.dimensions), len(fw.outcomes), len(fw.kpis)) == (4, 23, 51)
    assert fw.kpi_codes == [f"K{i:02d}" for i in range(1, 52)]
    assert [o.code for o in fw.outcomes] == [f"O{i:02d}" for i in range(1, 24)]
    assert [d.code for d in fw.dimensions] == ["TF", "RC", "ES", "OD"]
    assert fw.index.code == "PMM" and fw.index.children == ("TF", "RC", "ES", "OD")


def test_published_names_are_not_illustrative(fw) -> None:
    by_name = {k.name: k for k in fw.kpis}
    for name in PUBLISHED:
        assert name in by_name, f"published KPI {name!r} missing"
        assert by_name[name].illustrative is False, name
    others = [k for k in fw.kpis if k.name not in PUBLISHED]
    assert len(others) == 42
    assert all(k.illustrative for k in others)


def test_tree_is_consistent(fw) -> None:
    outcomes = {o.code: o for o in fw.outcomes}
    for k in fw.kpis:
        assert k.code in outcomes[k.parent].children
        assert k.direction in (1, -1)
        assert k.lower < k.upper and k.weight > 0 and k.disclosure in DISCLOSURE_LEVELS
    assert sum(len(o.children) for o in fw.outcomes) == 51
    assert {o.parent for o in fw.outcomes} == {"TF", "RC", "ES", "OD"}


def test_kpi_lookup(fw) -> None:
    assert fw.kpi("K01").name == "Average release time for imports"
    assert fw.kpi("K01").direction == -1
    with pytest.raises(KeyError, match="K99"):
        fw.kpi("K99")


def test_table_and_meta_shapes(fw) -> None:
    table = fw.table()
    assert len(table) == 51 + 23 + 4 + 1
    assert table["code"].is_unique
    assert table["level"].value_counts().sort_index().tolist() == [51, 23, 4, 1]
    assert table.loc[table["level"] == 1, "code"].tolist() == fw.kpi_codes
    assert table.loc[table["code"] == "PMM", "parent"].isna().all()
    # every parent is a code of the next level up
    level = dict(zip(table["code"], table["level"], strict=True))
    for code, parent, lvl in table[["code", "parent", "level"]].itertuples(index=False):
        if lvl < 4:
            assert level[parent] == lvl + 1, code
    meta = fw.meta()
    assert list(meta.columns) == ["code", "name", "level", "parent", "direction", "weight"]
    assert len(meta) == len(table)
    assert set(meta.loc[meta["level"] == 1, "direction"]) == {1, -1}
    assert (meta.loc[meta["level"] > 1, "direction"] == 1).all()


def test_round_trip_of_the_file_loads_identically(tmp_path, raw, fw) -> None:
    again = load_framework(_write(tmp_path, raw))
    assert again.kpis == fw.kpis and again.outcomes == fw.outcomes


# ------------------------------------------------------------------ malformed frameworks

def _mutated(raw: dict[str, Any], change) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    change(data)
    return data


CASES = {
    "duplicate KPI code": (lambda d: _kpi(d, "K02").update(code="K01"), r"duplicate code 'K01'"),
    "duplicate outcome code": (lambda d: d["dimensions"][1]["outcomes"][0].update(code="O01"),
                               r"duplicate code 'O01'"),
    "KPI unknown parent": (lambda d: _kpi(d, "K05").update(parent="O99"), r"KPI K05: unknown parent 'O99'"),
    "outcome unknown parent": (lambda d: d["dimensions"][0]["outcomes"][1].update(parent="XX"),
                               r"outcome O02: unknown parent 'XX'"),
    "dimension unknown parent": (lambda d: d["dimensions"][2].update(parent="ROOT"),
                                 r"dimension ES: unknown parent 'ROOT'"),
    "direction zero": (lambda d: _kpi(d, "K07").update(direction=0), r"KPI K07: direction must be 1 or -1"),
    "direction bool": (lambda d: _kpi(d, "K07").update(direction=True), r"KPI K07: direction"),
    "direction text": (lambda d: _kpi(d, "K08").update(direction="up"), r"KPI K08: direction"),
    "zero KPI weight": (lambda d: _kpi(d, "K10").update(weight=0), r"KPI K10: weight must be positive"),
    "negative outcome weight": (lambda d: d["dimensions"][3]["outcomes"][0].update(weight=-1),
                                r"outcome O20: weight must be positive"),
    "text dimension weight": (lambda d: d["dimensions"][1].update(weight="heavy"),
                              r"dimension RC: weight 'heavy' is not a number"),
    "wrong KPI count": (lambda d: d["expected_counts"].update(kpis=50), r"expected 50 kpis, found 51"),
    "wrong outcome count": (lambda d: d["expected_counts"].update(outcomes=24), r"expected 24 outcomes"),
    "non-numeric count": (lambda d: d["expected_counts"].update(kpis="many"), r"expected_counts"),
    "bounds reversed": (lambda d: _kpi(d, "K12").update(bounds=[100, 0]), r"KPI K12: bounds lower 100.0"),
    "bounds equal": (lambda d: _kpi(d, "K12").update(bounds=[5, 5]), r"KPI K12: bounds"),
    "bounds three numbers": (lambda d: _kpi(d, "K13").update(bounds=[0, 1, 2]), r"KPI K13: bounds"),
    "bounds scalar": (lambda d: _kpi(d, "K13").update(bounds=100), r"KPI K13: bounds"),
    "bounds text": (lambda d: _kpi(d, "K14").update(bounds="01"), r"KPI K14: bounds"),
    "bounds missing": (lambda d: _kpi(d, "K15").pop("bounds"), r"KPI K15 has no 'bounds' field"),
    "bad disclosure": (lambda d: _kpi(d, "K20").update(disclosure="secret"),
                       r"KPI K20: disclosure 'secret' not one of public, wco, restricted"),
    "optional not boolean": (lambda d: _kpi(d, "K21").update(optional="no"), r"KPI K21: optional"),
    "illustrative not boolean": (lambda d: _kpi(d, "K21").update(illustrative="yes"), r"KPI K21: illustrative"),
    "outcome without KPIs": (lambda d: d["dimensions"][0]["outcomes"][0].update(kpis=[]), r"outcome O01 has no KPIs"),
    "KPI without name": (lambda d: _kpi(d, "K30").pop("name"), r"KPI K30 has no 'name' field"),
    "empty code": (lambda d: _kpi(d, "K31").update(code=""), r"empty or non-text code"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_framework_is_rejected_naming_the_node(tmp_path, raw, case) -> None:
    change, pattern = CASES[case]
    path = _write(tmp_path, _mutated(raw, change))
    with pytest.raises(FrameworkError, match=pattern) as info:
        load_framework(path)
    assert str(path) in str(info.value)


def test_counts_not_checked_when_disabled(tmp_path, raw) -> None:
    data = _mutated(raw, lambda d: d["expected_counts"].update(kpis=50))
    assert len(load_framework(_write(tmp_path, data), check_counts=False).kpis) == 51


def test_missing_and_invalid_files(tmp_path) -> None:
    with pytest.raises(FrameworkError, match="not found"):
        load_framework(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dimensions: [\n", encoding="utf-8")
    with pytest.raises(FrameworkError, match="not valid YAML"):
        load_framework(bad)
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(FrameworkError, match="mapping"):
        load_framework(bad)
    bad.write_text("name: x\n", encoding="utf-8")
    with pytest.raises(FrameworkError, match="'dimensions'"):
        load_framework(bad)


def test_framework_error_is_a_value_error() -> None:
    assert issubclass(FrameworkError, ValueError)


# ------------------------------------------------------------------ translations

def test_every_node_is_translated_in_french_and_spanish(fw) -> None:
    assert fw.languages == ("en", "fr", "es")
    for lang in ("fr", "es"):
        for k in fw.kpis:
            assert k.text("name", lang) and k.text("name", lang) != k.name, (k.code, lang)
            assert k.text("definition", lang) != k.definition
            assert fw.unit_label(k.unit, lang)
        for node in (*fw.outcomes, *fw.dimensions):
            assert node.text("name", lang) != node.name
        assert fw.reference_period_text(lang) != fw.reference_period_text("en")


def test_customs_terminology_in_translations(fw) -> None:
    """Release is 'mainlevée' / 'levante', clearance 'dédouanement' / 'despacho', AEO 'OEA' (WCO usage)."""
    assert "mainlevée" in fw.kpi("K01").text("name", "fr") and "levante" in fw.kpi("K01").text("name", "es")
    assert "OEA" in fw.kpi("K05").text("name", "fr") and "OEA" in fw.kpi("K05").text("name", "es")
    assert "guichet unique" in fw.kpi("K08").text("name", "fr")
    assert "ventanilla única" in fw.kpi("K08").text("name", "es")
    assert "a posteriori" in fw.kpi("K16").text("name", "fr")
    assert "despacho aduanero" in fw.kpi("K44").text("definition", "es")
    assert fw.unit_label("hours", "fr") == "heures" and fw.unit_label("days", "es") == "días"
    assert fw.unit_label("hours", "en") == "hours" and fw.kpi("K01").text("name", "de") == fw.kpi("K01").name


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: _kpi(d, "K03").pop("name_fr"), "KPI K03: missing or empty translation 'name_fr'"),
    (lambda d: _kpi(d, "K03").update(definition_es=" "), "KPI K03: missing or empty translation 'definition_es'"),
    (lambda d: d["dimensions"][0].pop("name_es"), "dimension TF: missing or empty translation 'name_es'"),
    (lambda d: d["dimensions"][1]["outcomes"][0].pop("name_fr"), "outcome O08: missing or empty translation"),
    (lambda d: _kpi(d, "K03").update(name_de="Quote"), "'name_de' is for language 'de'"),
    (lambda d: d["unit_labels"]["hours"].pop("es"), "unit_labels: unit 'hours' has no 'es' label"),
    (lambda d: d["unit_labels"].update(furlongs={"fr": "x", "es": "y"}), "'furlongs' is not the unit of any KPI"),
    (lambda d: d["reference_period"].pop("fr"), "reference_period has no 'fr' text"),
    (lambda d: d.update(languages=["fr", "en"]), "'languages' must list distinct two-letter codes starting with 'en'"),
])
def test_bad_translations_are_rejected(tmp_path, raw, edit, message) -> None:
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(FrameworkError, match=re.escape(message)):
        load_framework(_write(tmp_path, data))
