"""Test-session set-up shared by every test module.

A public or wco run needs the secret pseudonym key (:func:`pmm_lib.reporting.disclosure.pseudonym_key`).
The test session gets a fresh random one through ``PMM_PSEUDONYM_KEY`` (inherited by the
notebook kernels and CLI subprocesses), unless the environment already provides a key.
"""

from __future__ import annotations

import os
import secrets

if not (os.environ.get("PMM_PSEUDONYM_KEY") or os.environ.get("PMM_PSEUDONYM_KEY_FILE")):
    os.environ["PMM_PSEUDONYM_KEY"] = secrets.token_hex(32)
