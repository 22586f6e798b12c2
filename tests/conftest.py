"""Test-session set-up shared by every test module.

A public or wco run needs the secret pseudonym key (:func:`pmm_lib.reporting.disclosure.pseudonym_key`).
The test session gets a fresh random one through ``PMM_PSEUDONYM_KEY`` (inherited by the
notebook kernels and CLI subprocesses), unless the environment already provides a key.

The ``browser_assets`` fixture gives the workshop's browser tests their Solara assets: installed
once per machine from the npm registry, or the test is skipped saying why.
"""

from __future__ import annotations

import os
import secrets

import pytest

if not (os.environ.get("PMM_PSEUDONYM_KEY") or os.environ.get("PMM_PSEUDONYM_KEY_FILE")):
    os.environ["PMM_PSEUDONYM_KEY"] = secrets.token_hex(32)


@pytest.fixture(scope="session")
def browser_assets() -> None:
    """The workshop's browser assets are in place (installed once), else skip with the reason."""
    from pmm_lib.errors import RunError
    from pmm_lib.workshop.assets import install_assets, missing_assets

    if missing_assets():
        try:
            install_assets()            # once per machine, from the npm registry
        except RunError as exc:
            pytest.skip(f"browser assets missing ({missing_assets()}) and not installable: {exc}")
