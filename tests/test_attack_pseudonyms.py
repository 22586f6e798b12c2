"""Pseudonyms keyed by a real secret: the brute force over Member codes fails, the key never leaks.

The adversary of issue 11 held a public run folder and this code: pseudonyms were
``HMAC(pmm-<cycle>, ISO3)`` and the salt was printed in the executed notebooks, so trying the
186 WCO Member codes reversed every pseudonym. The control below repeats that attack on the old
scheme (it succeeds); the same attack, and a dictionary of every salt derivable from the run, on
the keyed pseudonyms of a real public run finds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from pmm_lib.errors import SpecError
from pmm_lib.inputs import data
from pmm_lib.paths import ROOT
from pmm_lib.reporting import bundle
from pmm_lib.reporting import disclosure as dc
from pmm_lib.reporting.runs import RunRequest, execute_run

REGION, CYCLE = "MENA", 2024
CODES = sorted(data.load_members()["member"])  # every WCO Member code: the adversary's candidates


def _guessable_keys(run_dir: Path | None = None) -> list[str]:
    """Every secret the adversary can derive from the code, the run and its folder."""
    words = {"", "pmm", "PMM", "pmm-workbench", "wco", "WCO", REGION, str(CYCLE), f"pmm-{CYCLE}", f"pmm{CYCLE}",
             f"pmm-{REGION}", f"{REGION}-{CYCLE}", "public", "salt", "key", "secret", "PMM_PSEUDONYM_KEY",
             "PMM_PSEUDONYM_SALT"}
    if run_dir is not None:
        words |= {run_dir.name, run_dir.name.rsplit("-", 1)[-1]}
        for p in sorted(run_dir.rglob("*.json")) + sorted(run_dir.rglob("*.csv")):
            words |= set(re.findall(r"[\w-]{3,64}", p.read_text(encoding="utf-8", errors="replace")))
    return sorted(words)


def _brute_force(pseudonyms: set[str], keys: list[str], contexts: list[str | None]) -> dict[str, str]:
    """The best guess: for each guessed key and message form, map every Member code to its
    candidate pseudonym; keep the guess that explains most published pseudonyms.

    A right guess explains all of them; a wrong one explains ~n x 186 / 16^4 by chance (4 hex
    digits), so the attack "succeeds" only when most pseudonyms are explained by one guess.
    """
    best: dict[str, str] = {}
    for key in keys:
        for ctx in contexts:
            found: dict[str, str] = {}
            for code in CODES:
                msg = code if ctx is None else f"{ctx}|{code}"
                digest = hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest().upper()
                for width in (4, 5, 6):
                    name = f"Member-{digest[:width]}"
                    if name in pseudonyms:
                        found[name] = code
            if len(found) > len(best):
                best = found
    return best


def _old_scheme(members: list[str], salt: str) -> dict[str, str]:
    """The pseudonyms of issue 11: HMAC-SHA256(salt, ISO3), 4 hex digits, salt pmm-<cycle>."""
    return {m: "Member-" + hmac.new(salt.encode(), m.encode(), hashlib.sha256).hexdigest().upper()[:4]
            for m in members}


def test_control_the_old_salted_scheme_reverses_by_brute_force():
    members = dc.audience_view(data.load_observations(), CYCLE, "AMS", "public").matrix.index.tolist()
    old = _old_scheme(members, f"pmm-{CYCLE}")
    found = _brute_force(set(old.values()), _guessable_keys(), [None])
    assert found == {v: k for k, v in old.items()} and len(found) == len(members) >= 20  # all reversed


@pytest.fixture(scope="module")
def public_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    res = execute_run(RunRequest(REGION, CYCLE, audience="public", outputs_dir=out, notebooks=("01", "03"),
                                 renderer="pandoc"))
    assert res.ok, res.error
    return res.run_dir


def _pseudonyms(run_dir: Path) -> set[str]:
    names: set[str] = set()
    for p in (run_dir / "tables").glob("*.csv"):
        names |= set(re.findall(r"Member-[0-9A-F]{4,}", p.read_text(encoding="utf-8")))
    return names


def test_brute_force_over_member_codes_fails_on_a_public_run(public_run):
    names = _pseudonyms(public_run)
    members = dc.audience_view(data.load_observations(), CYCLE, REGION, "public").matrix.index
    assert len(names) == len(members) >= 10  # every Member appears, under its pseudonym
    keys = _guessable_keys(public_run)
    assert len(keys) > 50
    found = _brute_force(names, keys, [None, str(CYCLE), ""])
    assert len(found) <= 2, f"pseudonyms reversed: {found}"  # chance collisions of 4 hex digits only
    # the published tables name no Member of the region by its code
    codes = set(members)
    for p in (public_run / "tables").glob("*.csv"):
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        assert not codes & set(frame.to_numpy().ravel()), p.name
    # with the key, the owner maps them back: the pseudonyms are the keyed ones
    assert names == set(dc.member_labels(members, "public", cycle=CYCLE).values())


def test_the_key_appears_in_no_artefact(public_run):
    key = dc.pseudonym_key("public")
    assert key is not None and len(key) >= dc.MIN_KEY_BYTES
    blobs = [p.read_bytes() for p in public_run.rglob("*") if p.is_file()]
    assert len(blobs) > 10
    import base64

    forms = {key, key.hex().encode(), base64.b64encode(key)}
    assert not [f for f in forms for b in blobs if f in b]
    # the published part holds results only: no notebook, scenario or absolute path
    published = bundle.published_files(public_run)
    assert not [p for p in published if p.suffix == ".ipynb" or p.name == "scenario.yaml"]
    assert (public_run / "_internal" / "notebooks").is_dir()
    for p in published:
        if p.suffix in (".json", ".csv", ".md", ".qmd", ".html"):
            text = p.read_text(encoding="utf-8", errors="replace")
            assert str(ROOT) not in text and str(public_run) not in text and "/tmp/" not in text, p.name


def test_public_and_wco_runs_refuse_to_start_without_a_key(monkeypatch, tmp_path):
    monkeypatch.delenv(dc.KEY_ENV, raising=False)
    monkeypatch.delenv(dc.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    for audience in ("public", "wco"):
        with pytest.raises(SpecError, match="needs the secret pseudonym key"):
            execute_run(RunRequest(REGION, CYCLE, audience=audience, outputs_dir=tmp_path / "o"))
    assert not (tmp_path / "o").exists()  # refused before any folder
    bundle.require_key("internal")  # an internal run needs none
    assert dc.pseudonym_key("internal") is None


def test_key_file_rules(monkeypatch, tmp_path):
    monkeypatch.delenv(dc.KEY_ENV, raising=False)
    inside = ROOT / "outputs" / "pseudonym.key"
    monkeypatch.setenv(dc.KEY_FILE_ENV, str(inside))
    with pytest.raises(SpecError, match="outside the repository"):
        dc.pseudonym_key("public")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "k").write_text("x" * 40)
    monkeypatch.setenv(dc.KEY_FILE_ENV, str(run_dir / "k"))
    with pytest.raises(SpecError, match="lies inside"):
        dc.pseudonym_key("public", forbid=[run_dir])
    short = tmp_path / "short.key"
    short.write_text("tooshort")
    monkeypatch.setenv(dc.KEY_FILE_ENV, str(short))
    with pytest.raises(SpecError, match="at least 16"):
        dc.pseudonym_key("public")
    made = dc.create_key_file(tmp_path / "cfg" / "pmm" / "pseudonym.key")
    assert oct(made.stat().st_mode & 0o777) == "0o600" and len(made.read_text().strip()) == 64
    monkeypatch.setenv(dc.KEY_FILE_ENV, str(made))
    assert dc.pseudonym_key("public") == made.read_bytes().strip()
    with pytest.raises(SpecError, match="outside the repository"):
        dc.create_key_file(ROOT / "pseudonym.key")
    assert not (ROOT / "pseudonym.key").exists()


def test_pseudonyms_change_with_the_key_and_the_cycle():
    k1, k2 = os.urandom(32), os.urandom(32)
    a = dc.pseudonymise(CODES, key=k1, context=CYCLE)
    assert a == dc.pseudonymise(list(reversed(CODES)), key=k1, context=CYCLE)
    b = dc.pseudonymise(CODES, key=k2, context=CYCLE)
    c = dc.pseudonymise(CODES, key=k1, context=CYCLE - 2)
    assert sum(a[m] == b[m] for m in CODES) <= 3 and sum(a[m] == c[m] for m in CODES) <= 3  # chance clashes only
    with pytest.raises(SpecError, match="at least 16"):
        dc.pseudonymise(CODES, key=b"short")
