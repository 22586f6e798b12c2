"""Where the project's files live. One place, so no module hard-codes a path.

The project root is found from the installed package (an editable install keeps it in the
clone); set ``PMM_HOME`` to point the library at another checkout or a test copy.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "FRAMEWORK_PATH", "RAW_DIR", "EXTERNAL_DIR", "QUESTIONNAIRE_DIR",
           "PROCESSED_DIR", "OUTPUTS_DIR", "NOTEBOOKS_DIR", "METHODOLOGY_DIR", "root"]


def root() -> Path:
    """The project root: ``$PMM_HOME`` if set, else the folder above ``pmm_lib``."""
    env = os.environ.get("PMM_HOME")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[1]


ROOT = root()
METHODOLOGY_DIR = ROOT / "methodology"
FRAMEWORK_PATH = METHODOLOGY_DIR / "framework.yaml"
RAW_DIR = ROOT / "data" / "raw"
EXTERNAL_DIR = RAW_DIR / "external"
QUESTIONNAIRE_DIR = RAW_DIR / "questionnaires"
PROCESSED_DIR = ROOT / "data" / "processed"
OUTPUTS_DIR = ROOT / "outputs"
NOTEBOOKS_DIR = ROOT / "notebooks"
