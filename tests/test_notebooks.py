"""Every notebook under notebooks/ (workshop notebooks included) executes without error (nbval).

Each notebook is parameterised with small sizes (papermill's ``parameterize_notebook`` only:
nothing is executed by papermill) into a temporary folder, with ``out_dir`` pointing there so the
figure/table writers run too, and then executed by nbval in a pytest subprocess in lax mode
(``--nbval-lax``: every cell must run; outputs are compared only for cells marked
``# NBVAL_CHECK_OUTPUT``, with the sanitizers in tests/nbval_sanitize.cfg for volatile values).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pmm_lib.paths import NOTEBOOKS_DIR
from pmm_lib.reporting.runs import notebook_parameters

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and not any(s.startswith("_") for s in p.parts[-2:]))
SMALL = {"n_boot": 50, "n_iter": 50, "n_samples": 64, "n_perm": 50, "n_draws": 64, "demo_groups": 2}


def small_parameters(path: Path, out_dir: Path) -> dict[str, object]:
    """Parameters for a quick CI execution of ``path``: small sizes, files written to ``out_dir``."""
    declared = notebook_parameters(path)
    params: dict[str, object] = {"out_dir": str(out_dir)}
    params |= {k: v for k, v in SMALL.items() if k in declared}
    if "submissions_dir" in declared:
        params["submissions_dir"] = str(out_dir / "submissions")
    if "region" in declared and path.parent == NOTEBOOKS_DIR:
        params["region"] = "AMS"
    return {k: v for k, v in params.items() if k in declared}


def test_notebooks_found():
    names = [p.name for p in NOTEBOOKS]
    assert "01_data_quality.ipynb" in names
    assert all(nbformat.read(p, as_version=4).cells for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(NOTEBOOKS_DIR).as_posix() for p in NOTEBOOKS])
def test_notebook_conventions(path):
    """Parameters cell first (tagged), then a markdown cell saying what question it answers; no outputs."""
    nb = nbformat.read(path, as_version=4)
    assert "parameters" in nb.cells[0].metadata.get("tags", []), "first cell must be tagged 'parameters'"
    assert nb.cells[1].cell_type == "markdown", "second cell must say what question the notebook answers"
    executed = [c for c in nb.cells if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not executed, f"{len(executed)} cell(s) carry outputs: clear them before committing"
    for cell in nb.cells:
        if cell.cell_type == "code" and "save_figure(" in cell.source:
            assert "#| label: fig-" in cell.source and "#| fig-cap:" in cell.source, cell.source[:80]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(NOTEBOOKS_DIR).as_posix() for p in NOTEBOOKS])
def test_notebook_executes_with_nbval(path, tmp_path):
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(path))  # papermill's reader adds the default cell metadata it needs
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nb = parameterize_notebook(nb, small_parameters(path, tmp_path / "out"), kernel_name="python3",
                               language="python")
    target = tmp_path / path.name
    nbformat.write(nb, target)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         "--nbval-cell-timeout=600", "--nbval-sanitize-with", str(HERE / "nbval_sanitize.cfg"),
         "-o", "addopts=", "-W", "ignore::DeprecationWarning", str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    if path.parent == NOTEBOOKS_DIR and path.name.startswith("01_"):
        written = {p.name for p in (tmp_path / "out" / "figures").glob("*.png")}
        assert written == {"fig-coverage-kpi.png", "fig-coverage-member.png", "fig-missingness.png",
                           "fig-distributions.png"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_data_quality.ipynb", "04_trade_cost_outcomes.ipynb"])
def test_notebook_outputs_are_reproduced_by_nbval(name, tmp_path):
    """Checked outputs where stable: execute once (papermill), then nbval re-executes in strict
    mode and compares every text/HTML output cell by cell (images are not compared by nbval;
    volatile values go through the sanitizers). Same data and seed must give the same outputs."""
    import papermill as pm

    path = NOTEBOOKS_DIR / name
    executed = tmp_path / name
    pm.execute_notebook(str(path), str(executed), parameters=small_parameters(path, tmp_path / "first"),
                        kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    nb = nbformat.read(executed, as_version=4)
    # the second execution writes its files elsewhere; the out_dir line itself is not an output
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []) or "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace(str(tmp_path / "first"), str(tmp_path / "second"))
    nbformat.write(nb, executed)
    compared = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("outputs"))
    assert compared >= 3, "too few outputs to compare"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-cell-timeout=600", "--nbval-sanitize-with", str(HERE / "nbval_sanitize.cfg"),
         "-o", "addopts=", "-W", "ignore::DeprecationWarning", str(executed)],
        capture_output=True, text=True, cwd=tmp_path, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
