"""Run the bad-input corpus and count the outcomes: tried / precise / imprecise / silently wrong / crashed / data changed.

Usage::

    python tests/bad_inputs/tally.py            # one line per category, then the totals as JSON

Outcomes of one case (:func:`classify`):

* ``precise`` - a Reject case raised InputError with an issue naming the expected file, sheet,
  row, column, message and expected text, and left the processed folder byte-identical; an
  Accept case succeeded with the documented warning and the expected values and columns;
* ``imprecise`` - rejected, but no issue says where and what precisely;
* ``silently_wrong`` - accepted although it must be rejected, or accepted with other values,
  or without the warning that says what was read;
* ``crashed`` - any exception other than InputError;
* ``data_changed`` - a rejection that altered the processed folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bad_inputs.corpus import CASES, CATEGORIES, MEMBER, TEST_MEMBERS, Accept, Case, filled_workbook  # noqa: E402
from pmm_lib.errors import InputError  # noqa: E402
from pmm_lib.inputs.ingest import ingest  # noqa: E402

OUTCOMES = ("precise", "imprecise", "silently_wrong", "crashed", "data_changed")


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (files), link target (symlinks) or "dir", hidden entries included."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[rel + "/"] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def good_processed(root: Path) -> Path:
    """A processed folder holding the result of a good ingest (so 'unchanged' means something)."""
    good = filled_workbook(root / "good.xlsx")
    out = root / "processed"
    ingest([good], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    return out


def _check_accept(exp: Accept, files: list[Path], processed: Path, res) -> str | None:  # noqa: ANN001
    """None when the accepted result is what the case says, else why not."""
    manifest = json.loads((processed / "manifest.json").read_text())
    messages = [w["message"] for w in manifest["warnings"]]
    names = {f.name for f in files} | {p.name for f in files if f.is_dir() for p in f.iterdir()}
    if exp.warning:
        hits = [w for w in manifest["warnings"] if exp.warning in w["message"]]
        if not hits:
            return f"no warning {exp.warning!r}; got {messages}"
        if hits[0].get("file") not in names:
            return f"warning names file {hits[0].get('file')!r}"
    elif messages:
        return f"unexpected warnings {messages}"
    obs = pd.read_parquet(processed / "observations.parquet")
    if not obs.equals(res.observations.astype(obs.dtypes.to_dict())):
        pd.testing.assert_frame_equal(obs, res.observations, check_dtype=False)
    mine = obs[(obs["member"] == MEMBER) & (obs["cycle"] == 2024)].set_index("kpi")
    for k, v in exp.values.items():
        if k not in mine.index or abs(mine.loc[k, "value"] - v) > 1e-9 * max(1.0, abs(v)):
            return f"{k}: got {mine['value'].get(k)}, expected {v}"
    for k in exp.absent:
        if k in mine.index:
            return f"{k} should be absent, got {mine.loc[k, 'value']}"
    for k, d in exp.disclosure.items():
        if mine.loc[k, "disclosure"] != d:
            return f"{k}: disclosure {mine.loc[k, 'disclosure']!r}, expected {d!r}"
    for k, cols in exp.columns.items():
        for c, v in cols.items():
            if mine.loc[k, c] != v:
                return f"{k}: {c} = {mine.loc[k, c]!r}, expected {v!r}"
    if exp.source is not None and not (mine["source"] == exp.source).all():
        return f"source {set(mine['source'])}, expected {exp.source!r}"
    non = pd.read_parquet(processed / "non_responses.parquet")
    non = non[(non["member"] == MEMBER)].set_index("kpi")
    for k, status in exp.non_responses.items():
        if k not in non.index or non.loc[k, "status"] != status:
            return f"{k}: non-response {non['status'].get(k)!r}, expected {status!r}"
    if exp.respondent:
        resp = pd.read_parquet(processed / "respondents.parquet")
        if resp.empty:
            return "no respondent row"
        row = resp.iloc[0]
        for c, v in exp.respondent.items():
            if row[c] != v:
                return f"respondent {c} = {row[c]!r}, expected {v!r}"
        texts = obs[["source", "flag", "data_source", "comment"]].astype(str).to_numpy().ravel()
        if any(str(v) in texts for c, v in exp.respondent.items() if c in ("contact", "email")):
            return "contact details leaked into observations"
    return None


def classify(case: Case, processed_before: Path, work: Path) -> tuple[str, str]:
    """Run one case in ``work`` against a copy of ``processed_before``: (outcome, detail)."""
    inputs = work / "in"
    inputs.mkdir(parents=True)
    files = case.build(inputs)
    processed = work / "processed"
    shutil.copytree(processed_before, processed, symlinks=True)
    before = tree_digest(processed)
    exp = case.expect
    kw = {"processed_dir": processed, "members": TEST_MEMBERS, "with_reference": False}
    if case.options is not None:
        kw["options"] = case.options
    try:
        res = ingest(files, **kw)
    except InputError as exc:
        if tree_digest(processed) != before:
            return "data_changed", "a failed ingest changed data/processed"
        if isinstance(exp, Accept):
            return "imprecise", f"rejected a case that must be accepted: {exc}"
        issues = getattr(exc, "issues", None) or []
        fname = exp.file or files[0].name
        text = str(exc)
        matching = [i for i in issues
                    if exp.message in i.message and i.file == fname
                    and (i.sheet, i.row, i.column) == (exp.sheet, exp.row, exp.column)
                    and i.expected and exp.expected in i.expected]
        bad_words = any("failed the check" in i.message or i.column in ("lower", "upper") or "np." in i.describe()
                        for i in issues)
        first = issues[0] if issues else None
        fields_ok = first is not None and (exc.file, exc.sheet, exc.row, exc.column, exc.expected) == (
            first.file, first.sheet, first.row, first.column, first.expected)
        if matching and not bad_words and fields_ok and fname in text:
            return "precise", matching[0].describe()
        return "imprecise", text
    except Exception as exc:  # noqa: BLE001 - the point is to count these
        return "crashed", f"{type(exc).__name__}: {exc}"
    if not isinstance(exp, Accept):
        return "silently_wrong", f"accepted; expected {exp}"
    why = _check_accept(exp, files, processed, res)
    if why is not None:
        return "silently_wrong", why
    if tree_digest(processed) == before:
        return "silently_wrong", "accepted but data/processed did not change"
    return "precise", "accepted as documented"


def tally(cases: list[Case] = CASES) -> dict[str, dict[str, int]]:
    """Counts per category (and ``total``) of every outcome, plus ``tried``."""
    counts: dict[str, Counter[str]] = {c: Counter() for c in (*CATEGORIES, "total")}
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        before = good_processed(root)
        for n, case in enumerate(cases):
            outcome, detail = classify(case, before, root / f"case{n}")
            if outcome != "precise":
                print(f"{case.name}: {outcome}: {detail}", file=sys.stderr)
            for key in (case.category, "total"):
                counts[key]["tried"] += 1
                counts[key][outcome] += 1
    return {k: {o: int(v[o]) for o in ("tried", *OUTCOMES)} for k, v in counts.items() if v["tried"]}


def main() -> int:
    result = tally()
    for cat, c in result.items():
        print(f"{cat:10s} " + "  ".join(f"{o} {c[o]}" for o in ("tried", *OUTCOMES)))
    print(json.dumps(result["total"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
