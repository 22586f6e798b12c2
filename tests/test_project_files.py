"""The files a Python project is expected to have, checked for content, not presence.

LICENSE is the MIT text and pyproject declares it as an SPDX expression (PEP 639), so building
the package prints no licence deprecation warning; CITATION.cff is valid CFF 1.2.0 (validated
against the schema, vendored in tests/data/cff/) and cites the version pyproject declares;
CHANGELOG.md follows Keep a Changelog; ``pmm --version`` reports the installed version;
``make lab`` takes ``PORT``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from pmm_lib.paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HERE = ROOT / "tests"


def test_license_is_mit_and_declared_as_spdx():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text and 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"  # a string (SPDX), not the deprecated {text = ...} table
    assert project["license-files"] == ["LICENSE"]
    backend = PYPROJECT["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(7[7-9]|[89]\d)(\.\d+)*", r) for r in backend), backend


def test_citation_cff_is_valid_cff_1_2_and_cites_this_version():
    import jsonschema

    schema = json.loads((HERE / "data" / "cff" / "schema-1.2.0.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    cff = json.loads(json.dumps(cff, default=str))  # YAML dates as the strings CFF expects
    jsonschema.validate(cff, schema)
    assert cff["cff-version"] == "1.2.0" and cff["version"] == PYPROJECT["project"]["version"]
    assert cff["license"] == PYPROJECT["project"]["license"]
    bad = dict(cff, authors=[])  # the schema is really applied: an empty author list is invalid
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n") and "keepachangelog.com/en/1.1.0" in text
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, flags=re.M)
    assert releases[0] == ("Unreleased", "")
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) and d for v, d in releases[1:]), releases
    assert PYPROJECT["project"]["version"] in [v for v, _ in releases]
    kinds = set(re.findall(r"^### (\w+)$", text, flags=re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, kinds


def test_pmm_version_is_the_installed_distribution_version():
    proc = subprocess.run([sys.executable, "-m", "pmm_lib.cli", "--version"], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    assert proc.stdout.strip() == f"pmm {version('pmm-workbench')}"


def test_make_lab_takes_a_port():
    proc = subprocess.run(["make", "-n", "lab", "PORT=8899", f"STAMP={ROOT / 'pyproject.toml'}"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    assert "jupyter lab --port=8899" in proc.stdout


@pytest.mark.slow
def test_building_the_package_prints_no_licence_warning(tmp_path):
    """Build the wheel as pip does (isolated backend from the package index) and read its metadata."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(ROOT / "pmm_lib", src / "pmm_lib", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path / "dist"),
                           str(src)], capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 and "No matching distribution found for setuptools" in proc.stdout + proc.stderr:
        pytest.skip("the package index is not reachable")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert not re.search(r"licen[cs]e.*(deprecat|warn)|(deprecat|warn).*licen[cs]e", log, flags=re.I), log[-3000:]
    wheel = next((tmp_path / "dist").glob("pmm_workbench-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist())
    assert "License-Expression: MIT" in meta


def test_pre_commit_config_is_valid_and_its_tools_are_installed():
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = {h["id"]: h for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
             for h in repo["hooks"]}
    assert list(hooks) == ["jupytext-sync", "nbstripout", "ruff"]  # sync first, then strip, then lint
    for hook in hooks.values():
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/") and shutil.which(Path(tool).name, path=str(Path(sys.executable).parent)), tool


def test_make_test_lints_type_checks_and_runs_pytest_with_the_doctests():
    proc = subprocess.run(["make", "-n", "test", f"STAMP={ROOT / 'pyproject.toml'}"], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(".venv/bin/")]
    assert [line.split()[0] for line in lines] == [".venv/bin/python", ".venv/bin/ruff", ".venv/bin/mypy",
                                                   ".venv/bin/python"]
    assert lines[0].split()[1:4] == ["-m", "compileall", "-q"] and "pmm_lib" in lines[0]  # bytecode first
    assert lines[-1].split()[1:3] == ["-m", "pytest"]
    ini = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in ini["addopts"] and "pmm_lib" in ini["testpaths"]
    assert (ROOT / "tests" / "test_docs.py").is_file()  # the strict docs build is part of pytest
