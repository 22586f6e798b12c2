"""The bad-input corpus (tests/bad_inputs/corpus.py) against pmm_lib.inputs.ingest.

Every rejection must name file, sheet, row, column and what was expected, and leave the processed
folder byte-identical; every accepted irregularity must be fixed as documented and recorded as a
warning in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from bad_inputs.corpus import (
    CASES,
    CSV_DIR,
    MEMBER,
    TEST_MEMBERS,
    Accept,
    Reject,
    csv_files,
    filled_workbook,
)

from pmm_lib.errors import InputError
from pmm_lib.inputs.ingest import IngestOptions, ingest


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


@pytest.fixture(scope="module")
def processed_before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A processed folder holding the result of a good ingest (so 'unchanged' means something)."""
    d = tmp_path_factory.mktemp("good")
    good = filled_workbook(d / "good.xlsx")
    out = d / "processed"
    ingest([good], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    return out


def test_corpus_is_large_and_varied() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert sum(isinstance(c.expect, Reject) for c in CASES) >= 30
    assert any(isinstance(c.expect, Accept) and c.expect.warning for c in CASES)


def test_committed_csv_files_match_builder() -> None:
    """The committed CSV cases are exactly what the builder writes (regenerate with build_corpus.py --csv)."""
    for name, data in csv_files().items():
        assert (CSV_DIR / name).read_bytes() == data, name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, tmp_path: Path, processed_before: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    files = case.build(inputs)
    processed = tmp_path / "processed"
    shutil.copytree(processed_before, processed, symlinks=True)
    before = tree_digest(processed)
    exp = case.expect
    if isinstance(exp, Reject):
        with pytest.raises(InputError) as info:
            ingest(files, processed_dir=processed, members=TEST_MEMBERS, with_reference=False)
        exc = info.value
        issues = getattr(exc, "issues", None)
        assert issues, "InputError must carry .issues"
        fname = exp.file or files[0].name
        text = str(exc)
        assert fname in text
        # sheet, row and column must match exactly (None = the issue has none, e.g. no sheet in a CSV)
        matching = [i for i in issues
                    if exp.message in i.message and i.file == fname
                    and (i.sheet, i.row, i.column) == (exp.sheet, exp.row, exp.column)
                    and i.expected and exp.expected in i.expected]
        assert matching, f"no issue matches {exp}; got:\n{text}"
        # every schema failure is translated into a human message about a column people can see
        assert not any("failed the check" in i.message or i.column in ("lower", "upper") for i in issues), text
        assert exp.message in text
        first = issues[0]
        assert (exc.file, exc.sheet, exc.row, exc.column, exc.expected) == (
            first.file, first.sheet, first.row, first.column, first.expected)
        assert tree_digest(processed) == before, "a failed ingest changed data/processed"
    else:
        res = ingest(files, processed_dir=processed, members=TEST_MEMBERS, with_reference=False)
        manifest = json.loads((processed / "manifest.json").read_text())
        messages = [w["message"] for w in manifest["warnings"]]
        if exp.warning:
            assert any(exp.warning in m for m in messages), messages
            w = next(w for w in manifest["warnings"] if exp.warning in w["message"])
            assert w["file"] in {f.name for f in files}
        else:
            assert messages == []
        obs = pd.read_parquet(processed / "observations.parquet")
        pd.testing.assert_frame_equal(obs, res.observations, check_dtype=False)
        mine = obs[(obs["member"] == MEMBER) & (obs["cycle"] == 2024)].set_index("kpi")
        for k, v in exp.values.items():
            assert mine.loc[k, "value"] == pytest.approx(v)
        for k in exp.absent:
            assert k not in mine.index
        for k, d in exp.disclosure.items():
            assert mine.loc[k, "disclosure"] == d
        if exp.source is not None:
            assert (mine["source"] == exp.source).all()
        assert tree_digest(processed) != before


def test_error_cap_and_count(tmp_path: Path) -> None:
    """Every problem of a file is counted; only max_errors are listed."""
    bad = {f"K{i:02d}": "n/a" for i in range(1, 52)}
    p = filled_workbook(tmp_path / "all_bad.xlsx", values=bad)
    with pytest.raises(InputError) as info:
        ingest([p], processed_dir=tmp_path / "out", members=TEST_MEMBERS, with_reference=False,
               options=IngestOptions(max_errors=5))
    text = str(info.value)
    assert text.startswith("file all_bad.xlsx: 51 problems found:")
    assert len(info.value.issues) == 5
    assert "... and 46 more problem(s) not shown" in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_large_csv_rejected_fast(tmp_path: Path) -> None:
    """A CSV above max_rows (200,000) is rejected from its size, before parsing, in well under a second."""
    p = tmp_path / "huge.csv"
    line = b"SEN,2024,K01,12.5,public,,\n"
    p.write_bytes(b"member,cycle,kpi,value,disclosure,source,flag\n" + line * 250_000)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as info:
        ingest([p], processed_dir=tmp_path / "out", members=TEST_MEMBERS, with_reference=False)
    elapsed = time.perf_counter() - t0
    assert "the file is too large: 250,000 data rows" in str(info.value)
    assert info.value.expected.startswith("at most 200,000 rows")
    assert info.value.file == "huge.csv"
    assert elapsed < 2.0
    with pytest.raises(InputError, match=f"too large: {p.stat().st_size:,} bytes"):
        ingest([p], processed_dir=tmp_path / "out", members=TEST_MEMBERS, with_reference=False,
               options=IngestOptions(max_bytes=1_000_000))
