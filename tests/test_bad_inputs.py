"""The bad-input corpus (tests/bad_inputs/corpus.py) against pmm_lib.inputs.ingest.

Every rejection must name file, sheet, row, column and what was expected, and leave the processed
folder byte-identical; every accepted irregularity must be read as documented and recorded as a
warning in the manifest, with what the Member wrote kept. The classification is the one
``python tests/bad_inputs/tally.py`` counts; here every case must be ``precise``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from bad_inputs.corpus import (
    CASES,
    CATEGORIES,
    CSV_DIR,
    TEST_MEMBERS,
    Reject,
    csv_files,
    filled_workbook,
)
from bad_inputs.tally import classify, good_processed

from pmm_lib.errors import InputError
from pmm_lib.inputs.ingest import IngestOptions, ingest


@pytest.fixture(scope="module")
def processed_before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return good_processed(tmp_path_factory.mktemp("good"))


def test_corpus_is_large_and_covers_every_category() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) and len(names) >= 120
    per = Counter(c.category for c in CASES)
    assert set(per) == set(CATEGORIES), per
    assert all(n >= 5 for n in per.values()), per
    assert sum(isinstance(c.expect, Reject) for c in CASES) >= 70


def test_committed_csv_files_match_builder() -> None:
    """The committed CSV cases are exactly what the builder writes (regenerate with build_corpus.py --csv)."""
    files = csv_files()
    assert sorted(p.name for p in CSV_DIR.glob("*.csv")) == sorted(files)
    for name, data in files.items():
        assert (CSV_DIR / name).read_bytes() == data, name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, tmp_path: Path, processed_before: Path) -> None:
    """Precise: no case is silently wrong, crashes, changes processed data or is rejected vaguely."""
    outcome, detail = classify(case, processed_before, tmp_path)
    assert outcome == "precise", detail


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


def test_zip_bomb_refused_before_inflating(tmp_path: Path) -> None:
    """The inflated-size guard reads the zip directory only: a 2 GiB claim is refused in well under a second."""
    from bad_inputs.corpus import _zip_bomb

    (p,) = _zip_bomb(tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="would inflate to"):
        ingest([p], processed_dir=tmp_path / "out", members=TEST_MEMBERS, with_reference=False)
    assert time.perf_counter() - t0 < 1.0
