"""The participants' app in a real browser: Voila serves the exercise notebook, Chromium drives it.

Starts Voila (``pmm_lib.workshop.exercise.voila_command``, as ``pmm workshop serve`` does) on a free
port with a private submissions folder, drives Debian's Chromium through Playwright, moves a
dimension slider with the keyboard, checks that the budget stays 100 and the ranks change,
switches to AHP and checks the live consistency ratio, submits, and reads the file back.
A screenshot is saved to outputs/tests/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from pmm_lib.paths import OUTPUTS_DIR
from pmm_lib.workshop import exercise as ws

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
SESSION = "browser-test"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin/chromium "
                                 "(run `make system-deps`)")]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"Voila exited early with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"Voila did not open port {port} within {timeout} s")


@pytest.fixture
def voila(tmp_path):
    port = ws._free_port()
    env = dict(os.environ, **{ws.ENV_SESSION: SESSION, ws.ENV_DIR: str(tmp_path / "sessions")})
    log = open(tmp_path / "voila.log", "w")  # noqa: SIM115 - closed in the finaliser
    proc = subprocess.Popen(ws.voila_command(port), env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path, start_new_session=True)
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}/", tmp_path / "sessions"
    finally:
        with_group = True
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            with_group = False
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            if with_group:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def _readouts(page) -> list[int]:
    return [int(x) for x in page.locator(".widget-slider .widget-readout").all_inner_texts()[:4]]


def test_participant_app_in_chromium(voila):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, sessions = voila
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.goto(url, timeout=120_000)
            page.wait_for_selector("table.pmm-ranking", timeout=120_000)
            assert _readouts(page) == [25, 25, 25, 25]
            assert "Budget: 100 / 100" in page.locator(".pmm-total").first.inner_text()
            before = page.locator("table.pmm-ranking").inner_text()

            page.get_by_placeholder("e.g. Caribbean 1").fill("Browser Group")
            handle = page.locator(".widget-slider").first.locator(".noUi-handle")
            handle.focus()
            for _ in range(15):          # TF 25 → 40; the others rebalance to 20 each
                handle.press("ArrowRight")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-slider .widget-readout')].slice(0, 4)"
                ".map(e => e.textContent).join(',') === '40,20,20,20'", timeout=30_000)
            page.wait_for_function(
                "(b) => document.querySelector('table.pmm-ranking').innerText !== b", arg=before, timeout=30_000)
            assert sum(_readouts(page)) == 100
            assert "Budget: 100 / 100" in page.locator(".pmm-total").first.inner_text()
            after = page.locator("table.pmm-ranking").inner_text()
            assert after != before and ("▲" in after or "▼" in after)
            assert page.locator("svg.pmm-rankshift rect").count() > 0

            page.get_by_role("button", name="Submit").click()
            page.wait_for_function("() => document.body.innerText.includes('Submitted for group')", timeout=30_000)
            path = sessions / SESSION / "browser-group.json"
            doc = json.loads(path.read_text())
            assert doc["group"] == "Browser Group"
            assert doc["history"][-1]["points"]["PMM"] == {"TF": 40, "RC": 20, "ES": 20, "OD": 20}

            # AHP: "TF 9×" over RC with everything else equal is inconsistent; the app names TF vs RC.
            page.get_by_role("button", name="AHP pairwise").click()
            ahp = page.locator(".widget-hslider").filter(has_text="TF vs RC").locator(".noUi-handle")
            ahp.focus()
            for _ in range(8):            # from 'equal' (index 8) to 'TF 9×' (index 0)
                ahp.press("ArrowLeft")
            page.wait_for_function("() => document.body.innerText.includes('inconsistent')", timeout=30_000)
            assert "TF vs RC" in page.locator("body").inner_text()
            page.get_by_role("button", name="Submit").click()
            page.wait_for_function(
                "() => (document.body.innerText.match(/Submitted for group/g) || []).length >= 1", timeout=30_000)
            deadline = time.monotonic() + 30
            while len(json.loads(path.read_text())["history"]) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            hist = json.loads(path.read_text())["history"]
            assert [h["revision"] for h in hist] == [1, 2]
            assert hist[1]["method"] == "ahp" and hist[1]["ahp"]["cr"] > 0.1
            assert sum(hist[1]["points"]["PMM"].values()) == pytest.approx(100)
            shot = OUTPUTS_DIR / "tests" / "workshop_browser.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
