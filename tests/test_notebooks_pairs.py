"""Notebook pairs (``notebooks/**/NN_x.py`` jupytext percent source + ``NN_x.ipynb``).

What is checked: every notebook has its paired source and both have the same cells; the
notebooks carry the kernelspec ``make setup`` installs, stable cell ids and no outputs; a
``jupytext --sync`` of an unchanged pair rewrites nothing (no churn on save); the runner refuses
a pair that disagrees, naming both files and the command that fixes it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from jupytext.cli import jupytext as jupytext_cli

from pmm_lib.paths import NOTEBOOKS_DIR
from pmm_lib.reporting.nbpair import NotebookPairError, pair_differences, read_notebook

NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IDS = [p.relative_to(NOTEBOOKS_DIR).as_posix() for p in NOTEBOOKS]


def test_every_notebook_is_paired_and_no_generator_is_left():
    assert len(NOTEBOOKS) == 8  # 01-06 and the two workshop notebooks
    assert all(p.with_suffix(".py").is_file() for p in NOTEBOOKS)
    assert not (NOTEBOOKS_DIR / "_src").exists() and not (NOTEBOOKS_DIR / "workshop" / "make_notebooks.py").exists()
    config = (NOTEBOOKS_DIR / "jupytext.toml").read_text(encoding="utf-8")
    assert 'formats = "ipynb,py:percent"' in config


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_pair_agrees(path):
    assert pair_differences(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_ids_and_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    # what `make setup` installs: ipykernel install --name python3 --display-name "Python 3 (pmm)"
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3 (pmm)", "language": "python"}
    ids = [c["id"] for c in nb.cells]  # committed ids; a sync or save keeps them (see below)
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", i) for i in ids)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")
    header = path.with_suffix(".py").read_text(encoding="utf-8").split("# ---", 2)[1]
    assert "display_name: Python 3 (pmm)" in header and "jupytext_version:" not in header


def _copy_pair(tmp_path: Path, name: str = "01_data_quality") -> tuple[Path, Path]:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "jupytext.toml", folder)
    for suffix in (".py", ".ipynb"):
        shutil.copy(NOTEBOOKS_DIR / f"{name}{suffix}", folder)
    return folder / f"{name}.ipynb", folder / f"{name}.py"


def test_sync_of_an_unchanged_pair_changes_nothing(tmp_path):
    ipynb, py = _copy_pair(tmp_path)
    before = ipynb.read_bytes(), py.read_bytes()
    assert jupytext_cli(["--sync", "--quiet", str(py)]) == 0  # the command the docs give, in process
    assert (ipynb.read_bytes(), py.read_bytes()) == before


def test_runner_refuses_a_pair_that_disagrees(tmp_path):
    ipynb, py = _copy_pair(tmp_path)
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[0].source += '\nregion = "EUR"'  # edited outside JupyterLab, not synced
    nbformat.write(nb, ipynb)
    with pytest.raises(NotebookPairError, match=r"01_data_quality\.ipynb and its source 01_data_quality\.py "
                       r"disagree: cell 0 \(source\).*jupytext --sync"):
        read_notebook(ipynb)


def test_py_source_alone_reads_with_stable_ids(tmp_path):
    _, py = _copy_pair(tmp_path)
    nb = read_notebook(py)
    assert nb.cells[0].metadata["tags"] == ["parameters"] and nb.cells[1].cell_type == "markdown"
    assert [c["id"] for c in nb.cells[:3]] == ["cell-00", "cell-01", "cell-02"]
    assert json.loads(nbformat.writes(nb))["metadata"]["kernelspec"]["display_name"] == "Python 3 (pmm)"


def test_a_notebook_edited_after_a_read_is_read_again_and_copies_are_independent(tmp_path):
    ipynb, py = _copy_pair(tmp_path)
    first = read_notebook(ipynb)
    first.cells[0].source = "mutated by a caller (papermill injects its cell into the node)"
    again = read_notebook(ipynb)  # from the cache, untouched by the caller's change
    assert again.cells[0].source != first.cells[0].source and "region" in again.cells[0].source
    # a pair edited on both sides (a JupyterLab save) is read anew, not served from the cache
    for path in (ipynb, py):
        path.write_text(path.read_text(encoding="utf-8").replace("region = None", "region = 'EUR'  # edited"),
                        encoding="utf-8")
    assert "region = 'EUR'" in read_notebook(ipynb).cells[0].source
    # only one side edited: the pair disagrees, which the cache must not hide
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[0].source += "\nseed = 7"
    nbformat.write(nb, ipynb)
    with pytest.raises(NotebookPairError, match="disagree"):
        read_notebook(ipynb)
