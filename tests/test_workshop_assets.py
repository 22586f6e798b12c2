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


def test_the_pages_bundles_are_compressed_before_the_first_request(monkeypatch):
    import gzip

    import ipyvue
    from solara.server import compress

    from pmm_lib.workshop.assets import page_files, warm_compression

    files = page_files()
    if not files:
        pytest.skip("browser assets not installed")
    gen = "solara-vuetify3-app@" if ipyvue.__version__.startswith("3") else "solara-vuetify-app@"
    bundles = [p for p in files if p.name.endswith(".min.js") and "solara-vuetify" in str(p)]
    assert len(bundles) == 1 and gen in str(bundles[0])            # the production bundle of this Vue only
    assert all(p.suffix in (".js", ".css") for p in files)
    assert warm_compression() == files

    def no_compression(data, encoding):
        raise AssertionError("compressed again on request")

    monkeypatch.setattr(compress, "_compress", no_compression)    # a request now finds them compressed
    for p in files:
        assert gzip.decompress(compress.compressed(str(p), os.stat(p), "gzip")) == p.read_bytes()
