"""In a real JupyterLab (Chromium through Playwright): opening a notebook does not mark it
modified, and saving it unchanged rewrites neither file of the pair.

JupyterLab compares the notebook's kernelspec and ``language_info`` with the kernel's and
rewrites them on a mismatch, which marks the document dirty (and commits churn). The notebooks
carry the kernelspec ``make setup`` installs and the kernel's own ``language_info``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from pmm_lib.paths import NOTEBOOKS_DIR, ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin/chromium")]


def test_notebooks_carry_the_kernels_language_info():
    from ipykernel.ipkernel import IPythonKernel

    expected = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}
    for path in sorted(NOTEBOOKS_DIR.rglob("*.ipynb")):
        info = dict(nbformat.read(path, as_version=4).metadata["language_info"])
        # the patch version is the only machine-specific key; on another Python it differs
        assert info.pop("version").split(".")[:2] == list(map(str, sys.version_info[:2])), path.name
        assert info == expected, path.name


@pytest.fixture
def lab(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "jupytext.toml", folder)
    for suffix in (".py", ".ipynb"):
        shutil.copy(NOTEBOOKS_DIR / f"01_data_quality{suffix}", folder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                             "--IdentityProvider.token=t", f"--ServerApp.root_dir={folder}",
                             "--ServerApp.port_retries=0", "--allow-root"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start")
        yield folder, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


def test_opening_does_not_dirty_and_saving_rewrites_nothing(lab):
    sync_api = pytest.importorskip("playwright.sync_api")
    folder, url = lab
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.goto(f"{url}/lab/tree/01_data_quality.ipynb?token=t")
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        # the kernel has started and reported its info (when JupyterLab would rewrite metadata)
        page.wait_for_function("() => (document.querySelector('#jp-main-statusbar') || {textContent: ''})"
                               ".textContent.includes('Idle')", timeout=120_000)
        time.sleep(2)
        tab = page.locator(".lm-TabBar-tab.jp-mod-current").first
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "opening marked the notebook modified"
        assert "Python 3 (pmm)" in page.locator("#jp-main-statusbar").text_content()
        page.keyboard.press("Control+s")
        time.sleep(3)
        browser.close()
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before, [k for k in before if before[k] != after.get(k)]
