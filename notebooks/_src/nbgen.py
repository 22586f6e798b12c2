"""Shared helpers for the scripts that write the notebooks (outputs cleared, validated).

Each ``make_NN_*.py`` script builds a list of cells with :func:`code` and :func:`md` and
calls :func:`write`. Run a script after editing it; commit the script and the notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

NOTEBOOKS = Path(__file__).resolve().parents[1]
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def code(src: str, tags: list[str] | None = None) -> nbf.NotebookNode:
    """A code cell (leading/trailing blank lines stripped), optionally tagged (e.g. ``parameters``)."""
    cell = nbf.v4.new_code_cell(src.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def md(src: str) -> nbf.NotebookNode:
    """A markdown cell."""
    return nbf.v4.new_markdown_cell(src.strip("\n"))


def write(cells: list[nbf.NotebookNode], path: str | Path) -> Path:
    """Validate and write a notebook with the project kernel; relative paths are under notebooks/."""
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: rewriting an unchanged notebook changes nothing
    nb = nbf.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nbf.validate(nb)
    target = NOTEBOOKS / path
    nbf.write(nb, target)
    return target
