"""Tests of pmm_lib.workshop.assets: what the page template needs, and installing it with npm."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from pmm_lib.errors import RunError
from pmm_lib.workshop.assets import install_assets, missing_assets, required_packages


def test_required_packages_come_from_the_template():
    pkgs = required_packages()
    assert "requirejs@2.3.6" in pkgs and any(p.startswith("font-awesome@") for p in pkgs)
    assert all("@" in p.lstrip("@") for p in pkgs)


def _fake_npm(tmp_path: Path) -> Path:
    """An ``npm`` that packs a tiny package tarball (package/dist/x.js, plus a path-traversal entry)."""
    src = tmp_path / "src" / "package"
    (src / "dist").mkdir(parents=True)
    (src / "dist" / "x.js").write_text("console.log(1)")
    tgz = tmp_path / "pkg.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(src, arcname="package")
        evil = tmp_path / "src" / "evil.txt"
        evil.write_text("no")
        tar.add(evil, arcname="package/../../evil.txt")
    npm = tmp_path / "npm"
    npm.write_text(f"#!/bin/sh\ncp {tgz} ./pkg.tgz\n")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    return npm


def test_install_assets_unpacks_missing_packages(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    assert set(missing_assets(cache)) == set(required_packages())
    npm = _fake_npm(tmp_path)
    done = install_assets(cache, npm=str(npm))
    assert set(done) == set(required_packages()) and missing_assets(cache) == []
    pkg = required_packages()[0]
    assert (cache / pkg / "dist" / "x.js").read_text() == "console.log(1)"
    assert [p for p in tmp_path.rglob("evil.txt")] == [tmp_path / "src" / "evil.txt"]   # no path traversal
    assert install_assets(cache, npm=str(npm)) == []          # nothing left to do


def test_install_assets_without_npm_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RunError, match="npm is needed"):
        install_assets(tmp_path / "empty", npm="npm-not-here")
    assert os.environ["PATH"] == str(tmp_path)
