"""Tests of pmm_lib.workshop.session: registered groups, join codes, device claims, context notices."""

from __future__ import annotations

import json

import pytest

from pmm_lib.errors import InputError
from pmm_lib.workshop import exercise as ws
from pmm_lib.workshop.session import (
    _CODE_ALPHABET,
    claim_group,
    group_holder,
    load_session,
    register_session,
    simulated_data,
)

BLOCKS = {"PMM": {"TF": 40, "RC": 30, "ES": 20, "OD": 10}}


def test_register_and_load_round_trip(tmp_path):
    cfg = register_session("ams-2026", ["Caribbean 1", "Andes", "Central America"], region="AMS", cycle=2024,
                           root=tmp_path, seed=5)
    again = load_session("ams-2026", tmp_path)
    assert again == cfg
    assert [g.name for g in again.groups] == ["Caribbean 1", "Andes", "Central America"]
    codes = [g.code for g in cfg.groups]
    assert len(set(codes)) == 3 and all(len(c) == 6 and set(c) <= set(_CODE_ALPHABET) for c in codes)
    assert not set("0O1IL") & set("".join(codes))            # readable aloud
    assert register_session("s2", ["A", "B"], region="AMS", cycle=2024, root=tmp_path, seed=5).groups[0].code \
        == register_session("s3", ["A", "B"], region="AMS", cycle=2024, root=tmp_path, seed=5).groups[0].code
    assert cfg.group_by_code(codes[1].lower()).name == "Andes"       # case-insensitive
    assert cfg.group_by_name("andes").code == codes[1] and cfg.group_by_code("NOPE42") is None
    assert cfg.links("http://room:8765/")["Andes"] == f"http://room:8765/?join={codes[1]}"
    assert not cfg.pseudonyms


@pytest.mark.parametrize("kwargs, words", [
    (dict(groups=["A", "a"]), "would share one submission file"),
    (dict(groups=[]), "no group names"),
    (dict(region="XX"), "unknown region 'XX'"),
    (dict(cycle=19), "is not a year"),
    (dict(audience="press"), "'press' is not accepted"),
    (dict(groups=["session"]), "is reserved"),
])
def test_register_rejects_bad_input(tmp_path, kwargs, words):
    args = dict(groups=["A", "B"], region="AMS", cycle=2024) | kwargs
    with pytest.raises(InputError, match=words):
        register_session("s", args.pop("groups"), root=tmp_path, **args)


def test_register_twice_needs_replace_and_load_names_the_file(tmp_path):
    register_session("s", ["A"], region="AMS", cycle=2024, root=tmp_path)
    with pytest.raises(InputError, match="already registered"):
        register_session("s", ["B"], region="AMS", cycle=2024, root=tmp_path)
    assert register_session("s", ["B"], region="EUR", cycle=2023, root=tmp_path, replace=True).region == "EUR"
    with pytest.raises(InputError, match="is not registered.*pmm workshop register"):
        load_session("other", tmp_path)
    (tmp_path / "s" / "session.json").write_text("{nope")
    with pytest.raises(InputError, match="session.json") as e:
        load_session("s", tmp_path)
    assert "not valid JSON" in str(e.value)


def test_claims_one_device_per_group(tmp_path):
    assert claim_group("s", "Andes", "laptop-1", root=tmp_path).status == "claimed"
    assert claim_group("s", "Andes", "laptop-1", root=tmp_path).status == "same_device"   # a reload
    held = claim_group("s", "Andes", "laptop-2", root=tmp_path)
    assert held.status == "held_elsewhere" and held.holder == "laptop-1"
    assert group_holder("s", "Andes", tmp_path) == "laptop-1"                          # nothing changed
    assert claim_group("s", "Andes", "laptop-2", takeover=True, root=tmp_path).status == "taken_over"
    assert group_holder("s", "andes", tmp_path) == "laptop-2"
    doc = json.loads((tmp_path / "s" / "claims.json").read_text())
    assert doc["claims"]["andes"]["previous"] == "laptop-1"


def test_a_device_that_lost_its_group_cannot_submit(tmp_path):
    claim_group("s", "Andes", "laptop-1", root=tmp_path)
    ws.submit("s", "Andes", BLOCKS, root=tmp_path, device="laptop-1")
    claim_group("s", "Andes", "laptop-2", takeover=True, root=tmp_path)
    with pytest.raises(ws.SaveRefused, match="open on another device"):
        ws.submit("s", "Andes", BLOCKS, root=tmp_path, device="laptop-1")
    ws.submit("s", "Andes", BLOCKS, root=tmp_path, device="laptop-2")
    hist = json.loads((tmp_path / "s" / "andes.json").read_text())["history"]
    assert [h["device"] for h in hist] == ["laptop-1", "laptop-2"]
    subs = ws.load_submissions("s", root=tmp_path)                 # claims/session files are not groups
    assert set(subs["group"]) == {"Andes"}


def test_simulated_data_notice(tmp_path):
    assert not simulated_data(tmp_path)
    (tmp_path / "truth.json").write_text("{}")
    assert simulated_data(tmp_path)


def test_the_dashboard_needs_the_facilitator_key(tmp_path):
    cfg = register_session("keyed", ["A", "B"], region="AMS", cycle=2024, root=tmp_path, seed=1)
    other = register_session("keyed-2", ["A", "B"], region="AMS", cycle=2024, root=tmp_path, seed=1)
    assert len(cfg.facilitator_key) >= 20 and cfg.facilitator_key != other.facilitator_key   # random, not seeded
    again = load_session("keyed", tmp_path)
    assert again.facilitator_key == cfg.facilitator_key
    assert cfg.facilitator_key not in repr(cfg)                      # not printed with the session
    assert again.facilitator_allowed(cfg.facilitator_key)
    for bad in (None, "", cfg.facilitator_key[:-1], other.facilitator_key, cfg.facilitator_key + "x"):
        assert not again.facilitator_allowed(bad)
    assert cfg.dashboard_link("http://room:8765/") == f"http://room:8765/dashboard?key={cfg.facilitator_key}"
    # a session file from before keys existed: the dashboard is refused, whatever is sent
    path = tmp_path / "keyed" / "session.json"
    doc = json.loads(path.read_text())
    del doc["facilitator_key"]
    path.write_text(json.dumps(doc))
    old = load_session("keyed", tmp_path)
    assert old.facilitator_key == "" and not old.facilitator_allowed("") and not old.facilitator_allowed(None)
