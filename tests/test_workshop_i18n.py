"""Tests of pmm_lib.workshop.i18n: one catalogue, three languages, the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pmm_lib.errors import SpecError
from pmm_lib.workshop.i18n import CATALOGUE, LANGUAGES, placeholders, t

SRC = Path(__file__).resolve().parents[1] / "pmm_lib" / "workshop"


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_string_has_three_languages_with_the_same_placeholders(key):
    entry = CATALOGUE[key]
    assert set(entry) == set(LANGUAGES), key
    assert all(entry[lang].strip() for lang in LANGUAGES)
    assert placeholders(entry["fr"]) == placeholders(entry["en"]) == placeholders(entry["es"]), key


def test_translations_differ_from_english_where_words_are_involved():
    same = [k for k, e in CATALOGUE.items() if e["fr"] == e["en"] == e["es"] and len(e["en"]) > 12]
    assert same == []


def test_every_key_used_in_the_code_exists():
    used = set()
    for path in SRC.glob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_][\w ]*)["']\s*[,)]""", path.read_text()))
    assert len(used) > 50 and used - set(CATALOGUE) == set()
    verbal = {"v_" + v for v in __import__("pmm_lib.workshop.exercise", fromlist=["SAATY_VERBAL"]).SAATY_VERBAL.values()}
    assert verbal <= set(CATALOGUE)                                  # the verbal scale, built as "v_" + label


def test_lookup_and_errors():
    assert t("remaining", "es", n=3) == "Por repartir: 3 puntos"
    assert t("submit", "fr") == "Soumettre"
    with pytest.raises(SpecError, match="no string"):
        t("nope")
    with pytest.raises(SpecError, match="allowed: en, fr, es"):
        t("submit", "de")
