"""The documentation site builds in strict mode and covers the public API.

``mkdocs build --strict`` fails on any warning: a broken link, a docstring mkdocstrings cannot
parse (numpy style), a cross-reference to nothing. The API pages are generated from the package
at build time (docs/hooks/api.py), so every public module must appear on its layer's page.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pmm_lib.paths import ROOT

spec = importlib.util.spec_from_file_location("api_hook", ROOT / "docs" / "hooks" / "api.py")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def _hook():
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_module_is_on_an_api_page(site):
    modules = _hook().public_modules()
    names = [m for group in modules.values() for m in group]
    assert "pmm_lib.core.build" in names and "pmm_lib.reporting.params" in names
    assert not any(part.startswith("_") for n in names for part in n.split("."))
    for layer, group in modules.items():
        html = (site / "api" / layer / "index.html").read_text(encoding="utf-8")
        for name in group:
            assert name in html, f"{name} missing from api/{layer}"


def test_pages_show_the_readme_the_docstrings_and_the_protection_rules(site):
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "PMM Workbench" in home and "make test" in home
    reporting = (site / "api" / "reporting" / "index.html").read_text(encoding="utf-8")
    assert "RunParams" in reporting and "from_namespace" in reporting
    assert "NotebookPairError" in reporting
    protection = (site / "data-protection" / "index.html").read_text(encoding="utf-8")
    assert "threshold rule" in protection and "pseudonym" in protection
    for page in ("notebooks", "data", "RUNS", "CONTRACTS"):
        assert (site / page / "index.html").is_file(), page
