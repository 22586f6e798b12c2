"""The documented notebook workflow, end to end, and the shared notebook plumbing.

* A JupyterLab edit survives: the notebook is opened and saved through jupytext's contents
  manager (the code JupyterLab's server runs on every save) with an added cell and a changed
  parameter; both files of the pair get the edit, the cell ids of the untouched cells stay, and
  ``pmm run`` executes the edited notebook (the added cell's table is in the run folder, carrying
  the changed parameter).
* The same for an edit of the ``.py`` source in a text editor followed by ``jupytext --sync``;
  without the sync the runner refuses the pair instead of running a stale notebook.
* :class:`RunParams`: defaults, checks, pseudonyms (known answers), one definition used by the
  runner and by every methodology notebook.
* Figure label and caption stated once: ``#| label``/``#| fig-cap`` read by ``save_figure`` in a
  real kernel, caption fields filled from the notebook's variables.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from jupytext.cli import jupytext as jupytext_cli

from pmm_lib.errors import SpecError
from pmm_lib.paths import NOTEBOOKS_DIR
from pmm_lib.reporting import disclosure
from pmm_lib.reporting.cellopts import figure_options, format_caption, parse_cell_options
from pmm_lib.reporting.nbpair import NotebookPairError, pair_differences
from pmm_lib.reporting.params import RUN_PARAMETERS, RunParams
from pmm_lib.reporting.runs import RunRequest, execute_run
from pmm_lib.vocab import DEFAULT_SEED

METHOD_NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
ADDED_CELL = ('import pandas as pd\n'
              'report.save_table(pd.DataFrame({"marker": [marker], "region": [region], "n": [len(matrix)]}),\n'
              '                  "tbl-edit-check", "Edit check.", out_dir, audience=audience)')


# ----------------------------------------------------------------------------------------------
# RunParams
# ----------------------------------------------------------------------------------------------

def test_run_params_defaults_and_order():
    run = RunParams()
    assert RUN_PARAMETERS == ("region", "cycle", "seed", "spec_path", "audience", "out_dir")
    assert tuple(run) == ("AMS", 2024, DEFAULT_SEED, "", "wco", "")
    assert list(run.as_dict()) == list(RUN_PARAMETERS)
    assert RunParams(region="all").place == "all regions" and RunParams(region="eur").place == "EUR"


def test_run_params_from_namespace_fills_only_none_and_ignores_knobs():
    run = RunParams.from_namespace({"region": None, "cycle": 2023, "audience": "public", "n_boot": 5,
                                    "out_dir": Path("/tmp/x")})
    assert tuple(run) == ("AMS", 2023, DEFAULT_SEED, "", "public", "/tmp/x")


@pytest.mark.parametrize("kwargs, message", [
    ({"region": "XX"}, r"region='XX' is not one of AMS, AP, ESA, EUR, MENA, WCA, ALL"),
    ({"cycle": "2024"}, r"cycle must be an int, got '2024'"),
    ({"seed": True}, r"seed must be an int, got True"),
    ({"audience": "press"}, r"audience 'press' is not one of public, wco, internal"),
    ({"out_dir": 3}, r"out_dir must be a path"),
])
def test_run_params_reject_bad_values_naming_the_parameter(kwargs, message):
    with pytest.raises(SpecError, match=message):
        RunParams(**kwargs)


def test_member_labels_are_the_keyed_pseudonyms_for_public_only(monkeypatch, tmp_path):
    members = ["FRA", "BRA", "CAN"]
    key = "0123456789abcdef-test-key"
    monkeypatch.setenv("PMM_PSEUDONYM_KEY", key)
    assert RunParams(audience="internal").member_labels(members) == {m: m for m in members}
    assert RunParams(audience="wco").member_labels(members) == {m: m for m in members}
    public = RunParams(audience="public", cycle=2023).member_labels(members)
    assert public == disclosure.pseudonymise(members, key=key, context=2023)
    assert len(set(public.values())) == 3 and all(v.startswith("Member-") for v in public.values())
    assert RunParams(audience="public", cycle=2024).member_labels(members) != public  # no linking across cycles
    monkeypatch.setenv("PMM_PSEUDONYM_KEY", "another-key-of-enough-bytes")
    assert RunParams(audience="public", cycle=2023).member_labels(members) != public
    monkeypatch.delenv("PMM_PSEUDONYM_KEY")
    monkeypatch.setenv("PMM_PSEUDONYM_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(SpecError, match="pseudonym key"):
        RunParams(audience="public").member_labels(members)


@pytest.mark.parametrize("path", METHOD_NOTEBOOKS, ids=[p.name for p in METHOD_NOTEBOOKS])
def test_every_methodology_notebook_uses_the_one_definition(path):
    """The parameters cell declares the run parameters as None (no second copy of a default), the
    first code cell fills them from RunParams, and no notebook builds its own pseudonym salt."""
    nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    tree = ast.parse(nb.cells[0].source)
    assigned = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets}
    assert {k: assigned[k] for k in RUN_PARAMETERS} == dict.fromkeys(RUN_PARAMETERS)
    setup = next(c.source for c in nb.cells[2:] if c.cell_type == "code")
    assert "RunParams.from_namespace(globals())" in setup
    text = path.read_text(encoding="utf-8")
    assert "PMM_PSEUDONYM" not in text and "pseudonymise(" not in text and "os.environ" not in text


# ----------------------------------------------------------------------------------------------
# Cell options
# ----------------------------------------------------------------------------------------------

def test_parse_cell_options_and_caption_fields(monkeypatch):
    src = '#| label: fig-x\n#| fig-cap: "n = {n}: {run.place}, r = {r[estimate]:.2f}"\nplot()\n'
    assert parse_cell_options(src) == {"label": "fig-x", "fig-cap": "n = {n}: {run.place}, r = {r[estimate]:.2f}"}
    ns = {"n": 22, "run": RunParams(region="ALL"), "r": pd.Series({"estimate": -0.6243})}
    assert figure_options(source=src, namespace=ns) == ("fig-x", "n = 22: all regions, r = -0.62")
    assert figure_options("fig-y", "given", source="") == ("fig-y", "given")
    with pytest.raises(SpecError, match=r"fig-cap of fig-x: \{n\} names no notebook variable"):
        figure_options(source=src, namespace={})
    with pytest.raises(SpecError, match=r"no '#\| label: fig-…' option"):
        figure_options(source="plot()", namespace={})
    with pytest.raises(SpecError, match=r"cell of fig-z has no '#\| fig-cap: …' option"):
        figure_options(source="#| label: fig-z\nplot()", namespace={})
    import IPython

    # outside a kernel (an IPython shell another test of this process created would count as one)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    with pytest.raises(SpecError, match="no notebook cell is running"):
        figure_options()
    assert format_caption("{{literal}} {a}", {"a": 1}) == "{literal} 1"


def test_save_figure_reads_label_and_caption_from_the_running_cell(tmp_path):
    """In a real kernel (papermill): the sidecar carries the caption filled from the cell's variables."""
    import papermill as pm

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (pmm)",
                                                           "language": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell(f'out_dir = "{tmp_path / "run"}"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "#| label: fig-demo\n"
            '#| fig-cap: "Mean of the {len_x} values: {mean:.3f}."\n'
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "from pmm_lib.reporting import report\n"
            "x = [1, 2, 4]\nlen_x, mean = len(x), sum(x) / len(x)\n"
            "fig, ax = plt.subplots()\nax.plot(x)\n"
            "report.save_figure(fig, out_dir=out_dir, audience='wco')"),
    ]
    pm.execute_notebook(nb, str(tmp_path / "done.ipynb"), kernel_name="python3", progress_bar=False,
                        cwd=str(tmp_path))
    meta = json.loads((tmp_path / "run" / "figures" / "fig-demo.json").read_text())
    assert meta["caption"] == "Mean of the 3 values: 2.333." and meta["audience"] == "wco"
    assert (tmp_path / "run" / "figures" / "fig-demo.png").stat().st_size > 1000


# ----------------------------------------------------------------------------------------------
# The edit workflow
# ----------------------------------------------------------------------------------------------

@pytest.fixture
def pair(tmp_path) -> Path:
    """A notebooks folder holding the pair 01_data_quality (.py + .ipynb) and the jupytext config."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "jupytext.toml", folder)
    for suffix in (".py", ".ipynb"):
        shutil.copy(NOTEBOOKS_DIR / f"01_data_quality{suffix}", folder)
    return folder


def _run(folder: Path, outputs: Path, **knobs):
    return execute_run(RunRequest(region="EUR", cycle=2024, notebooks=("01",), render=False,
                                  notebooks_dir=folder, outputs_dir=outputs, parameters=knobs))


def _edit_check(res) -> dict:
    assert res.ok, res.error
    return pd.read_csv(res.run_dir / "tables" / "tbl-edit-check.csv").iloc[0].to_dict()


def test_a_jupyterlab_edit_survives_and_runs(pair, tmp_path):
    from jupytext import TextFileContentsManager

    cm = TextFileContentsManager(root_dir=str(pair))
    model = cm.get("01_data_quality.ipynb")  # what JupyterLab loads
    nb = model["content"]
    ids_before = [c["id"] for c in nb.cells]
    cm.save(model, "01_data_quality.ipynb")  # open and save unchanged: nothing changes on disk
    assert pair_differences(pair / "01_data_quality.ipynb") == []
    assert (pair / "01_data_quality.py").read_text() == (NOTEBOOKS_DIR / "01_data_quality.py").read_text()

    nb.cells[0].source += '\nmarker = "lab"'  # a new parameter, with its default
    nb.cells.append(nbformat.v4.new_code_cell(ADDED_CELL))
    cm.save(model, "01_data_quality.ipynb")  # JupyterLab's save: both files of the pair

    py = (pair / "01_data_quality.py").read_text()
    assert 'marker = "lab"' in py and '"tbl-edit-check"' in py
    saved = nbformat.read(pair / "01_data_quality.ipynb", as_version=4)
    assert [c["id"] for c in saved.cells][:len(ids_before)] == ids_before
    assert saved.metadata["kernelspec"]["display_name"] == "Python 3 (pmm)"
    assert not any(c.get("outputs") for c in saved.cells if c.cell_type == "code")

    row = _edit_check(_run(pair, tmp_path / "out"))  # the new default and the added cell took effect
    assert row["marker"] == "lab" and row["region"] == "EUR" and row["n"] > 0


def test_a_text_editor_edit_of_the_source_needs_sync_and_then_runs(pair, tmp_path):
    py = pair / "01_data_quality.py"
    text = py.read_text()
    text = text.replace("out_dir = None\n", 'out_dir = None\nmarker = "editor"\n', 1)
    py.write_text(text.rstrip("\n") + "\n\n# %%\n" + ADDED_CELL + "\n")

    with pytest.raises(NotebookPairError, match=r"01_data_quality\.ipynb has \d+ cells, 01_data_quality\.py "
                       r"has \d+.*jupytext --sync"):
        _run(pair, tmp_path / "stale")
    assert not (tmp_path / "stale").exists()  # refused before any run folder was made

    assert jupytext_cli(["--sync", "--quiet", str(py)]) == 0  # `jupytext --sync`, in process
    assert pair_differences(pair / "01_data_quality.ipynb") == []
    saved = nbformat.read(pair / "01_data_quality.ipynb", as_version=4)
    assert saved.cells[-1].source.strip() == ADDED_CELL
    assert [c["id"] for c in saved.cells[:3]] == ["cell-00", "cell-01", "cell-02"]
    assert "marker = \"editor\"" in saved.cells[0].source
    # the runner passes a knob the edited parameters cell now declares
    assert _edit_check(_run(pair, tmp_path / "out", marker="from-run"))["marker"] == "from-run"
