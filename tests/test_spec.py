"""Spec: typed options, defaults, YAML/dict round trip, errors naming the key path."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm_lib.core.spec import (
    AGGREGATE_METHODS,
    IMPUTE_METHODS,
    NORMALISE_METHODS,
    TREAT_METHODS,
    WEIGHT_METHODS,
    AggregateSpec,
    DataSpec,
    FrozenDict,
    ImputeSpec,
    NormaliseSpec,
    Spec,
    TreatSpec,
    WeightSpec,
)
from pmm_lib.errors import SpecError

ISSUE_EXAMPLE = """
data: {format: coinr, idata: ASEM_iData.csv, imeta: ASEM_iMeta.csv}
denominate: true
impute: {method: group_mean, group: EurAsia_group}
screen: {min_coverage: 0.9}
treat: {method: winsorise, winmax: 5, skew: 2, kurtosis: 3.5, fallback: log}
normalise: {method: minmax, low: 0, high: 100}
aggregate: {method: arithmetic}
"""

CONTRACT_EXAMPLE = """
data: {format: pmm, region: AMS, cycle: 2024}
denominate: false
impute: {method: group_mean, group: region}
screen: {min_coverage: 0.0}
treat: {method: winsorise, winmax: 5, skew: 2.0, kurtosis: 3.5, fallback: log, overrides: {K01: none}}
normalise: {method: minmax, low: 0, high: 100}
weights: {method: framework}
aggregate: {method: arithmetic, min_coverage: 0.5}
"""


def test_empty_spec_is_the_documented_neutral_build():
    s = Spec.from_dict({})
    assert s == Spec()
    assert (s.impute.method, s.treat.method, s.normalise.method, s.weights.method) == (
        "none", "none", "minmax", "framework")
    assert (s.normalise.low, s.normalise.high) == (0.0, 100.0)
    assert [a.method for a in s.aggregate] == ["arithmetic"]
    assert s.denominate is False


def test_default_is_the_recommended_pmm_build():
    d = Spec.default()
    assert d.impute.method == "none"
    assert (d.treat.method, d.treat.winmax, d.treat.skew, d.treat.kurtosis, d.treat.fallback) == (
        "winsorise", 5, 2.0, 3.5, "log")
    assert d.aggregate[0].method == "arithmetic" and d.aggregate[0].min_coverage == 0.5
    assert d.weights.method == "framework"


def test_issue_example_parses():
    s = Spec.from_yaml_text(ISSUE_EXAMPLE)
    assert s.data == DataSpec(format="coinr", idata="ASEM_iData.csv", imeta="ASEM_iMeta.csv")
    assert s.impute == ImputeSpec("group_mean", "EurAsia_group")
    assert s.treat == TreatSpec("winsorise", 5, 2.0, 3.5, "log")
    assert isinstance(s.treat.skew, float)


def test_contract_example_parses_with_overrides():
    s = Spec.from_yaml_text(CONTRACT_EXAMPLE)
    assert s.data.region == "AMS" and s.data.cycle == 2024
    assert s.treat.overrides == {"K01": "none"}
    assert isinstance(s.treat.overrides, FrozenDict)
    assert s.aggregate == (AggregateSpec("arithmetic", None, 0.5),)


@pytest.mark.parametrize("text", [ISSUE_EXAMPLE, CONTRACT_EXAMPLE])
def test_yaml_round_trip_exact(text):
    s = Spec.from_yaml_text(text)
    again = Spec.from_yaml_text(s.to_yaml())
    assert again == s
    assert again.to_dict() == s.to_dict()
    assert hash(again) == hash(s)


def test_file_round_trip_and_base_dir(tmp_path):
    path = tmp_path / "sub" / "spec.yaml"
    spec = Spec.from_yaml_text(ISSUE_EXAMPLE)
    spec.to_yaml(path)
    back = Spec.from_yaml(path)
    assert back.data.base_dir == str(path.parent.resolve())
    assert back.data.resolve("ASEM_iData.csv") == path.parent.resolve() / "ASEM_iData.csv"
    assert dataclasses.replace(back, data=dataclasses.replace(back.data, base_dir=None)) == spec
    # a spec that already carries its base_dir writes and reads back unchanged
    back.to_yaml(tmp_path / "again.yaml")
    assert Spec.from_yaml(tmp_path / "again.yaml") == back


def test_per_level_aggregation_list():
    s = Spec.from_dict({"aggregate": [{"method": "arithmetic"}, {"method": "geometric"},
                                      {"method": "generalised", "p": 0.5}]})
    assert [a.method for a in s.aggregate_for(4)] == ["arithmetic", "geometric", "generalised"]
    assert Spec.from_yaml_text(s.to_yaml()) == s
    with pytest.raises(SpecError, match="3 entries given but the hierarchy has 2"):
        s.aggregate_for(3)
    assert Spec().aggregate_for(4) == (AggregateSpec(),) * 3


def test_method_shorthand():
    s = Spec.from_dict({"treat": "boxcox", "normalise": "rank", "aggregate": "geometric"})
    assert (s.treat.method, s.normalise.method, s.aggregate[0].method) == ("boxcox", "rank", "geometric")


@pytest.mark.parametrize("raw, key, allowed", [
    ({"treat": {"method": "trim"}}, "treat.method", TREAT_METHODS),
    ({"impute": {"method": "knn"}}, "impute.method", IMPUTE_METHODS),
    ({"normalise": {"method": "softmax"}}, "normalise.method", NORMALISE_METHODS),
    ({"weights": {"method": "magic"}}, "weights.method", WEIGHT_METHODS),
    ({"aggregate": {"method": "median"}}, "aggregate.method", AGGREGATE_METHODS),
])
def test_unknown_method_lists_allowed(raw, key, allowed):
    with pytest.raises(SpecError) as exc:
        Spec.from_dict(raw)
    msg = str(exc.value)
    assert msg.startswith(key)
    assert all(name in msg for name in allowed)


def test_unknown_keys_name_the_path():
    with pytest.raises(SpecError, match=r"spec: unknown key 'treatment'; allowed: data, denominate"):
        Spec.from_dict({"treatment": {}})
    with pytest.raises(SpecError, match=r"treat: unknown key 'win_max'; allowed: method, winmax"):
        Spec.from_dict({"treat": {"win_max": 3}})
    with pytest.raises(SpecError, match=r"aggregate\[1\]\.method: unknown value 'avg'"):
        Spec.from_dict({"aggregate": [{"method": "arithmetic"}, {"method": "avg"}]})
    with pytest.raises(SpecError, match=r"treat.overrides.K07: unknown value 'clip'"):
        Spec.from_dict({"treat": {"overrides": {"K07": "clip"}}})


@pytest.mark.parametrize("raw, match", [
    ({"impute": {"method": "group_mean"}}, "impute.group"),
    ({"screen": {"min_coverage": 1.5}}, "screen.min_coverage"),
    ({"treat": {"winmax": -1}}, "treat.winmax"),
    ({"treat": {"winmax": 2.5}}, "treat.winmax"),
    ({"treat": {"skew": 0}}, "treat.skew"),
    ({"normalise": {"low": 10, "high": 0}}, "low"),
    ({"normalise": {"sd": 0}}, "normalise.sd"),
    ({"normalise": {"targets": {"K01": "high"}}}, "normalise.targets.K01"),
    ({"aggregate": {"method": "generalised"}}, "aggregate.p"),
    ({"weights": {"method": "explicit"}}, "weights.values"),
    ({"weights": {"method": "explicit", "values": {"K01": -1}}}, "weights.values.K01"),
    ({"weights": {"method": "file"}}, "weights.path"),
    ({"data": {"format": "coinr"}}, "idata"),
    ({"data": {"format": "xlsx"}}, "data.format"),
    ({"data": {"cycle": "2024"}}, "data.cycle"),
    ({"denominate": "yes"}, "denominate"),
])
def test_bad_values_name_the_key(raw, match):
    with pytest.raises(SpecError, match=match):
        Spec.from_dict(raw)


def test_not_valid_yaml_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="not valid YAML"):
        Spec.from_yaml_text("treat: [unclosed")
    with pytest.raises(SpecError, match="spec file not found"):
        Spec.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("treat: {method: trim}\n")
    with pytest.raises(SpecError, match=r"bad.yaml: treat.method"):
        Spec.from_yaml(bad)


def test_frozen_and_hashable():
    s = Spec.default()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.denominate = True  # type: ignore[misc]
    variant = dataclasses.replace(s, treat=TreatSpec(method="none"))
    assert variant != s and len({s, variant, Spec.default()}) == 2
    fd = FrozenDict({"a": [1, 2], "b": {"c": 3}})
    assert fd["a"] == (1, 2) and fd["b"]["c"] == 3 and hash(fd) == hash(FrozenDict({"b": {"c": 3}, "a": [1, 2]}))


_names = st.sampled_from(["K01", "K02", "K17", "O03", "TF"])
_spec_dicts = st.fixed_dictionaries({}, optional={
    "denominate": st.booleans(),
    "impute": st.sampled_from([{"method": m} for m in IMPUTE_METHODS if not m.startswith("group")]
                              + [{"method": "group_median", "group": "income_group"}]),
    "screen": st.fixed_dictionaries({"min_coverage": st.floats(0, 1)}),
    "treat": st.fixed_dictionaries({"method": st.sampled_from(TREAT_METHODS)}, optional={
        "winmax": st.integers(0, 20), "skew": st.floats(0.1, 10), "kurtosis": st.floats(-2, 20),
        "fallback": st.sampled_from(["log", "none"]),
        "overrides": st.dictionaries(_names, st.sampled_from(TREAT_METHODS), max_size=3)}),
    "normalise": st.fixed_dictionaries({"method": st.sampled_from(NORMALISE_METHODS)}, optional={
        "low": st.floats(-100, 0), "high": st.floats(1, 200), "sd": st.floats(0.1, 20),
        "targets": st.dictionaries(_names, st.floats(-1e6, 1e6), max_size=3)}),
    "weights": st.one_of(
        st.just({"method": "equal"}),
        st.fixed_dictionaries({"method": st.just("explicit"),
                               "values": st.dictionaries(_names, st.floats(0, 10), min_size=1)}),
        st.fixed_dictionaries({"method": st.just("pca"),
                               "options": st.dictionaries(st.sampled_from(["n", "rotate"]),
                                                          st.one_of(st.integers(1, 4), st.booleans()))})),
    "aggregate": st.one_of(
        st.fixed_dictionaries({"method": st.sampled_from(["arithmetic", "geometric", "copeland"])},
                              optional={"min_coverage": st.floats(0, 1)}),
        st.lists(st.fixed_dictionaries({"method": st.just("generalised"), "p": st.floats(-3, 3)}),
                 min_size=1, max_size=4)),
})


@settings(max_examples=80, deadline=None)
@given(_spec_dicts)
def test_round_trip_property(raw):
    s = Spec.from_dict(raw)
    assert Spec.from_dict(s.to_dict()) == s
    assert Spec.from_yaml_text(s.to_yaml()) == s
    assert Spec.from_yaml_text(s.to_yaml()).to_yaml() == s.to_yaml()


def test_parts_validate_when_built_directly():
    with pytest.raises(SpecError, match="normalise.method"):
        NormaliseSpec(method="unit")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="weights.method"):
        WeightSpec(method="random")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="aggregate"):
        Spec(aggregate=())
    assert Spec(aggregate=AggregateSpec("geometric")).aggregate == (AggregateSpec("geometric"),)  # type: ignore[arg-type]


def test_docstring_examples_run():
    import doctest

    import pmm_lib.core.spec as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
