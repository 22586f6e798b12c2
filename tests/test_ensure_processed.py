"""raw → ingest → processed: a run refreshes processed data exactly when the questionnaires change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import pandas as pd
    from pmm_lib.inputs.ingest import ensure_processed
    from pmm_lib import paths
    first = ensure_processed()
    second = ensure_processed()
    csv = paths.QUESTIONNAIRE_DIR / "pmm_returns.csv"
    frame = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    frame.loc[0, "value"] = frame.loc[0, "value"] + 1.0   # a Member corrects one value
    frame.to_csv(csv, index=False)
    third = ensure_processed()
    obs = pd.read_parquet(paths.PROCESSED_DIR / "observations.parquet")
    key = frame.loc[0, ["member", "cycle", "kpi"]].tolist()
    got = obs.loc[(obs.member == key[0]) & (obs.cycle == key[1]) & (obs.kpi == key[2]), "value"].item()
    print(json.dumps({"actions": [first["action"], second["action"], third["action"]],
                      "reason": third["reason"], "value_ok": bool(abs(got - frame.loc[0, "value"]) < 1e-9)}))
''')


def test_ensure_processed_ingests_only_when_questionnaires_change(tmp_path):
    home = tmp_path / "home"
    shutil.copytree(ROOT / "data" / "raw", home / "data" / "raw")
    shutil.copytree(ROOT / "methodology", home / "methodology")
    (home / "data" / "processed").mkdir()
    env = os.environ | {"PMM_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["actions"] == ["ingested", "current", "ingested"]
    assert "pmm_returns.csv" in out["reason"]
    assert out["value_ok"]
