"""pmm_lib.settings.numbers_from_dict: the one checker behind every thresholds class."""

from __future__ import annotations

import pytest

from pmm_lib.analysis.findings import FindingRules
from pmm_lib.analysis.thresholds import ScorecardThresholds
from pmm_lib.errors import SpecError
from pmm_lib.reporting.design import DesignThresholds
from pmm_lib.settings import numbers_from_dict


@pytest.mark.parametrize("cls, what", [(ScorecardThresholds, "scorecard thresholds"),
                                       (FindingRules, "finding rules"),
                                       (DesignThresholds, "design thresholds")])
def test_every_thresholds_class_round_trips_and_names_its_errors(cls, what):
    default = cls()
    assert cls.from_dict(None) == default and cls.from_dict({}) == default
    assert cls.from_dict(dict(vars(default))) == default          # its own values read back
    with pytest.raises(SpecError, match=f"^{what}: unknown name\\(s\\) zzz; allowed: "):
        cls.from_dict({"zzz": 1})
    first = next(iter(vars(default)))
    with pytest.raises(SpecError, match=f"^{what}: {first} must be a"):
        cls.from_dict({first: "many"})


def test_int_fields_refuse_fractions_and_bools_and_optional_fields_take_none():
    assert ScorecardThresholds.from_dict({"min_n": "12", "parent_review": None}).min_n == 12
    assert ScorecardThresholds.from_dict({"parent_review": None}).parent_review is None
    with pytest.raises(SpecError, match="min_n must be a whole number, got 12.5"):
        ScorecardThresholds.from_dict({"min_n": 12.5})        # once silently truncated to 12
    with pytest.raises(SpecError, match="coverage_drop must be a number, got True"):
        ScorecardThresholds.from_dict({"coverage_drop": True})
    with pytest.raises(SpecError, match="coverage_drop must be a number, got None"):
        ScorecardThresholds.from_dict({"coverage_drop": None})  # only rules that can be off take None
    rules = numbers_from_dict(FindingRules, {"rank_window": 5.0, "robust_share": "0.9"}, "finding rules")
    assert rules.rank_window == 5 and isinstance(rules.rank_window, int) and rules.robust_share == 0.9
