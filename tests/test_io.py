"""Atomic writes: a failure never leaves a half-written file or a stray temporary file."""

from __future__ import annotations

import errno
import os
import sys
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmm_lib import cli
from pmm_lib.io import atomic_path, write_bytes_atomic, write_text_atomic


def test_write_then_replace(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = write_text_atomic(tmp_path / "p.txt", "x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_exception_keeps_old_content_and_cleans_up(tmp_path):
    target = tmp_path / "a.bin"
    write_bytes_atomic(target, b"good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-way")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_disk_full_is_reported_with_the_path(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    write_bytes_atomic(target, b"good")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match=r"could not write .*a\.bin: No space left on device"):
        write_bytes_atomic(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


@given(st.binary(max_size=2048))
def test_roundtrip_any_bytes(tmp_path_factory, data):
    target = tmp_path_factory.mktemp("rt") / "x"
    write_bytes_atomic(target, data)
    assert target.read_bytes() == data


def test_cli_turns_os_errors_into_one_line(monkeypatch, capsys):
    fake = types.ModuleType("pmm_fake_owner")
    fake.add_arguments = lambda parser: None

    def full(_args):
        raise OSError(errno.ENOSPC, "could not write /x/y.parquet: No space left on device")

    def denied(_args):
        raise PermissionError(errno.EACCES, "Permission denied", "/x/outputs")

    monkeypatch.setitem(sys.modules, "pmm_fake_owner", fake)
    monkeypatch.setitem(cli.COMMANDS, "fake", ("pmm_fake_owner", "a test command"))
    fake.run = full
    assert cli.main(["fake"]) == 1
    assert capsys.readouterr().err.strip() == (
        "pmm fake: error: could not write /x/y.parquet: No space left on device")
    fake.run = denied
    assert cli.main(["fake"]) == 1
    assert "pmm fake: error: permission denied: /x/outputs" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_load_yaml_is_safe_fast_and_names_the_line_of_an_error():
    import yaml

    from pmm_lib.io import load_yaml

    text = "a: 1\nb: [x, 2.5, null]\nc: {d: true}\n"
    assert load_yaml(text) == yaml.safe_load(text) == {"a": 1, "b": ["x", 2.5, None], "c": {"d": True}}
    with pytest.raises(yaml.YAMLError):  # the safe loader builds no Python object
        load_yaml("!!python/object/apply:os.system ['echo pwned']")
    with pytest.raises(yaml.YAMLError) as err:
        load_yaml("a: 1\nb: [unclosed\nc: 2\n")
    assert err.value.problem_mark is not None and err.value.problem_mark.line >= 1  # where it broke
    # the framework file parses to the same values as with PyYAML's pure-Python safe loader
    from pmm_lib.paths import FRAMEWORK_PATH

    framework = FRAMEWORK_PATH.read_text(encoding="utf-8")
    assert load_yaml(framework) == yaml.safe_load(framework)
