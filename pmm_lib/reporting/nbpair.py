"""Notebook pairs: ``NN_*.py`` (jupytext percent source) beside ``NN_*.ipynb`` (what JupyterLab opens).

The methodology notebooks are kept as pairs (``notebooks/jupytext.toml``: ``formats =
"ipynb,py:percent"``). The ``.py`` file is the reviewed, diffed source; the ``.ipynb`` carries the
stable cell ids and the kernelspec. JupyterLab's jupytext extension saves both files on every save;
after editing one of them elsewhere, ``jupytext --sync notebooks/NN_x.py`` (or the pre-commit hook)
brings the other in step.

The runner reads a notebook through :func:`read_notebook`: a pair whose cells disagree is an
error naming both files and the first differing cell, never a silent choice of one side, so an
edit is either run or reported.
"""

from __future__ import annotations

import copy
import functools
import sys
from pathlib import Path

# nbformat validates notebooks with jsonschema, whose optional IRI-syntax checker
# (rfc3987_syntax) compiles a lark grammar when imported: 1.6-1.8 s of CPU in every process
# that reads a notebook (the runner, each worker of a multi-region run, ``pmm run``).
# Notebook schemas check no IRI format, so the checker is left out (jsonschema skips a format
# checker whose module cannot be imported); a process that imported it before keeps it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import nbformat  # noqa: E402

from pmm_lib.errors import RunError  # noqa: E402

__all__ = ["NotebookPairError", "pair_differences", "paired_source", "read_notebook"]


class NotebookPairError(RunError):
    """The ``.py`` and ``.ipynb`` of a notebook pair have different cells."""


def paired_source(path: str | Path) -> Path | None:
    """The jupytext ``.py`` paired with the notebook ``path`` (a ``.ipynb``), or None if there is none."""
    path = Path(path)
    py = path.with_suffix(".py")
    return py if path.suffix == ".ipynb" and py.is_file() else None


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip("\n"), tuple(c.get("metadata", {}).get("tags", [])))
            for c in nb.cells]


def _read_py(py: Path) -> nbformat.NotebookNode:
    import jupytext

    try:
        return jupytext.read(py, fmt="py:percent")
    except Exception as exc:  # jupytext raises several types on malformed sources
        raise NotebookPairError(f"{py}: not a jupytext percent-format notebook ({exc})") from exc


def pair_differences(ipynb: str | Path, py: str | Path | None = None) -> list[str]:
    """Where the cells of a notebook and its paired ``.py`` source differ (empty: they agree).

    Cells are compared by type, source (leading/trailing blank lines ignored) and tags, in order.

    Parameters
    ----------
    ipynb : path
        The ``.ipynb`` file.
    py : path, optional
        The paired source; default ``ipynb`` with the suffix ``.py``.

    Returns
    -------
    list of str
        One line per difference (at most the first three, plus the cell counts if they differ).
    """
    ipynb = Path(ipynb)
    py = Path(py) if py is not None else ipynb.with_suffix(".py")
    a, b = _cells(nbformat.read(str(ipynb), as_version=4)), _cells(_read_py(py))
    out: list[str] = []
    if len(a) != len(b):
        out.append(f"{ipynb.name} has {len(a)} cells, {py.name} has {len(b)}")
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y and len(out) < 3:
            what = "type" if x[0] != y[0] else ("tags" if x[1] == y[1] else "source")
            first = (y[1].splitlines() or [""])[0][:60]
            out.append(f"cell {i} ({what}) differs; in {py.name} it starts {first!r}")
    return out


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook to execute: an ``.ipynb`` (checked against its paired ``.py``) or a ``.py``.

    Parameters
    ----------
    path : path
        ``NN_x.ipynb`` (if ``NN_x.py`` lies beside it, both must have the same cells) or a jupytext
        percent-format ``NN_x.py`` alone (cells get ids ``cell-00``, ``cell-01``, ... in order).

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    NotebookPairError
        The pair disagrees (the message names both files, the first differing cell and the
        command that brings them in step) or the ``.py`` is not a percent-format notebook.

    Examples
    --------
    >>> from pmm_lib.paths import NOTEBOOKS_DIR
    >>> nb = read_notebook(NOTEBOOKS_DIR / "01_data_quality.ipynb")
    >>> nb.cells[0].metadata["tags"]
    ['parameters']
    """
    path = Path(path)
    stamps = (_stamp(path), _stamp(path.with_suffix(".py")) if path.suffix == ".ipynb" else None)
    if stamps[0] is None:  # missing: let the reader raise its error naming the file
        return _read_notebook(path)
    # a run reads each notebook four times (imports to warm, parameters, labels, execution):
    # read and checked once while neither file changes, each caller gets its own copy
    return copy.deepcopy(_read_notebook_cached(str(path), stamps))


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


@functools.lru_cache(maxsize=64)
def _read_notebook_cached(path: str, stamps: tuple[object, ...]) -> nbformat.NotebookNode:
    return _read_notebook(Path(path))


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    if path.suffix == ".py":
        nb = _read_py(path)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i:02d}"
        return nb
    py = paired_source(path)
    if py is not None:
        diff = pair_differences(path, py)
        if diff:
            raise NotebookPairError(
                f"{path} and its source {py.name} disagree: {'; '.join(diff)}. Save the notebook in "
                f"JupyterLab (jupytext pairing) or run `jupytext --sync {py}` to bring them in step")
    return nbformat.read(str(path), as_version=4)
