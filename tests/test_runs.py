"""Tests of pmm_lib.reporting.runs: the run folder, manifest, atomic latest, failures, parallel runs,
reproducibility, rerun and compare. Small notebooks written here keep the runs fast; the
end-to-end runs over the project's notebooks are marked slow."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat as nbf
import pandas as pd
import pypdf
import pytest

from pmm_lib import cli
from pmm_lib.errors import IntegrityError, RunError, SpecError
from pmm_lib.paths import NOTEBOOKS_DIR
from pmm_lib.reporting import runs
from pmm_lib.reporting.runs import RunRequest

PARAMS = ('region = "AMS"\ncycle = 2024\nseed = 20240601\nspec_path = ""\naudience = "wco"\n'
          'out_dir = ""\nn_members = 6')

SCORES = '''
import numpy as np, pandas as pd, matplotlib.pyplot as plt
from pmm_lib.reporting import report
report.use_reproducible_style()
g = np.random.default_rng(seed)
df = pd.DataFrame({"member": [f"M{i:02d}" for i in range(n_members)], "score": g.uniform(0, 100, n_members)})
df["rank"] = df["score"].rank(ascending=False, method="min").astype(int)
report.save_table(df, "tbl-index-scores", f"Index scores, {region} {cycle}", out_dir, audience=audience)
fig, ax = plt.subplots(figsize=(4, 3)); ax.bar(df.member, df.score); ax.set_xlabel("Member"); ax.set_ylabel("Score")
report.save_figure(fig, "fig-weighting-rankshift", f"Scores by Member in {region}", out_dir, audience=audience)
'''

COVERAGE = '''
import pandas as pd
from pmm_lib.reporting import report
report.save_table(pd.DataFrame({"kpi": ["K01"], "name": ["Release time"], "dimension": ["TF"], "n": [3],
                                "n_members": [n_members], "coverage": [3 / n_members]}),
                  "tbl-coverage", "Coverage by KPI", out_dir, audience=audience)
print("spec", spec_path)
'''


def _notebook(path: Path, body: str) -> None:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbf.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbf.v4.new_markdown_cell("What does this test notebook answer?"), nbf.v4.new_code_cell(body)]
    nbf.write(nb, path)


@pytest.fixture(scope="module")
def nb_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("notebooks")
    _notebook(d / "01_coverage.ipynb", COVERAGE)
    _notebook(d / "03_scores.ipynb", SCORES)
    (d / "README.md").write_text("not a notebook")
    return d


@pytest.fixture(scope="module")
def broken_dir(nb_dir, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("broken")
    shutil.copy(nb_dir / "01_coverage.ipynb", d)
    _notebook(d / "02_broken.ipynb", "x = 1\nraise ZeroDivisionError('planted failure in notebook 02')")
    shutil.copy(nb_dir / "03_scores.ipynb", d)
    return d


@pytest.fixture(scope="module")
def good_run(nb_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    res = runs.execute_run(RunRequest("AMS", 2024, notebooks_dir=nb_dir, outputs_dir=out, renderer="pandoc"))
    return out, res, nb_dir


# ------------------------------------------------------------------------------ small pieces

def test_discover_notebooks_sorted_and_selected(nb_dir):
    assert [p.name for p in runs.discover_notebooks(nb_dir)] == ["01_coverage.ipynb", "03_scores.ipynb"]
    assert [p.name for p in runs.discover_notebooks(nb_dir, ["3"])] == ["03_scores.ipynb"]
    with pytest.raises(SpecError, match="no notebook 02 .* available: 01, 03"):
        runs.discover_notebooks(nb_dir, ["01", "02"])


def test_request_validation_names_the_option(nb_dir):
    with pytest.raises(SpecError, match="region 'XX' is not one of AMS, AP, ESA, EUR, MENA, WCA, ALL"):
        RunRequest("XX", 2024)
    with pytest.raises(SpecError, match="audience 'press' is not one of public, wco, internal"):
        RunRequest("AMS", 2024, audience="press")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="seed are set by the runner"):
        RunRequest("AMS", 2024, parameters={"seed": 1})
    assert RunRequest("ams", 2024).region == "AMS"
    with pytest.raises(SpecError, match="notebook_jobs must be a positive int"):
        RunRequest("AMS", 2024, notebook_jobs=0)


def test_hash_inputs_known_digest(tmp_path):
    f = tmp_path / "abc.txt"
    f.write_bytes(b"abc")
    (tmp_path / ".gitkeep").write_text("")
    h = runs.hash_inputs([], roots=[tmp_path])
    assert list(h.values()) == ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]


def test_bad_scenario_fails_before_any_folder(nb_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(SpecError, match="bad.yaml: expected a mapping"):
        runs.execute_run(RunRequest("AMS", 2024, scenario=bad, notebooks_dir=nb_dir, outputs_dir=tmp_path / "o"))
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------ one good run

def test_run_folder_manifest_and_latest(good_run, nb_dir):
    out, res, _ = good_run
    assert res.ok and res.renderer == "pandoc+typst"
    run_dir = res.run_dir
    assert run_dir.parent == out / "AMS" / "2024"
    latest = run_dir.parent / "latest"
    assert latest.is_symlink() and os.readlink(latest) == run_dir.name
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "success" and m["run_id"] == run_dir.name and m["seed"] == 20240601
    assert m["parameters"]["region"] == "AMS" and m["parameters"]["audience"] == "wco"
    assert [n["name"] for n in m["notebooks"]] == ["01_coverage.ipynb", "03_scores.ipynb"]
    assert all(n["seconds"] > 0 for n in m["notebooks"])
    assert m["artefacts"] == {"tbl-coverage": "01_coverage.ipynb", "tbl-index-scores": "03_scores.ipynb",
                              "fig-weighting-rankshift": "03_scores.ipynb"}
    assert "methodology/framework.yaml" in m["inputs"] and "methodology/paper.qmd" in m["inputs"]
    nb_key = next(k for k in m["inputs"] if k.endswith("03_scores.ipynb"))
    assert len(m["inputs"][nb_key]) == 64
    assert m["packages"]["pandas"] and m["python"].count(".") == 2 and m["renderer"] == "pandoc+typst"
    table = run_dir / "tables" / "tbl-index-scores.csv"
    assert m["outputs"]["tables/tbl-index-scores.csv"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert (run_dir / "_internal" / "notebooks" / "03_scores.ipynb").is_file()  # sealed (reporting.bundle)
    expected = runs._param_hash(RunRequest("AMS", 2024, notebooks_dir=nb_dir), None, runs.discover_notebooks(nb_dir))
    assert run_dir.name.endswith("-" + expected) and len(expected) == 8


def test_run_paper_pdf_has_sections_and_captions(good_run):
    run_dir = good_run[1].run_dir
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(run_dir / "paper.pdf").pages).split())
    for heading in ("Introduction", "The PMM framework", "Data and coverage", "Indicator validity",
                    "Weighting and aggregation", "Trade-cost outcomes", "Uncertainty and sensitivity",
                    "Limitations", "References"):
        assert heading in text, heading
    # what the runner hands the paper: the run's artefacts and the notebooks that ran (how the
    # paper lays them out is tests/test_paper*.py's business)
    assert "Scores by Member in AMS" in text
    assert "Executed notebooks" not in text  # a wco bundle keeps them in _internal/ (reporting.bundle)
    html = (run_dir / "paper.html").read_text()
    assert "Scores by Member in AMS" in html


@pytest.mark.slow
def test_same_inputs_and_seed_give_identical_outputs_other_seed_differs(good_run, nb_dir):
    out, first, _ = good_run
    again = runs.execute_run(RunRequest("AMS", 2024, notebooks_dir=nb_dir, outputs_dir=out, render=False,
                                        notebook_jobs=2))  # notebooks side by side: same bytes
    other = runs.execute_run(RunRequest("AMS", 2024, seed=1, notebooks_dir=nb_dir, outputs_dir=out, render=False))
    assert again.run_dir != first.run_dir  # unique run ids, even within the same second
    m1, m2, m3 = (runs.load_manifest(r.run_dir) for r in (first, again, other))
    assert m1["outputs"] == m2["outputs"]
    assert [n["name"] for n in m2["notebooks"]] == ["01_coverage.ipynb", "03_scores.ipynb"]
    assert m1["artefacts"] == m2["artefacts"]
    assert {"tables/tbl-index-scores.csv", "tables/tbl-coverage.csv", "figures/fig-weighting-rankshift.png",
            "figures/fig-weighting-rankshift.json"} <= set(m1["outputs"])
    for sub in ("tables/tbl-index-scores.csv", "figures/fig-weighting-rankshift.png"):
        assert (first.run_dir / sub).read_bytes() == (again.run_dir / sub).read_bytes()
    assert m3["outputs"]["tables/tbl-index-scores.csv"] != m1["outputs"]["tables/tbl-index-scores.csv"]

    cmp = runs.compare_runs(first.run_dir, other.run_dir)
    a = pd.read_csv(first.run_dir / "tables" / "tbl-index-scores.csv").set_index("member")
    b = pd.read_csv(other.run_dir / "tables" / "tbl-index-scores.csv").set_index("member")
    s = cmp.scores.set_index("member")
    assert (s["score_diff"] - (b["score"] - a["score"])).abs().max() < 1e-12
    assert (s["rank_shift"] == (b["rank"] - a["rank"]).reindex(s.index)).all()
    assert cmp.scores["rank_shift"].abs().is_monotonic_decreasing
    assert set(cmp.parameters["parameter"]) >= {"parameter.seed"}
    assert cmp.inputs.empty and not cmp.outputs.empty
    files = runs.write_comparison(cmp, out / "cmp")
    md = files["markdown"].read_text()
    assert "parameter.seed" in md and "All input files are identical." in md
    assert pd.read_csv(files["scores"]).shape == (6, 7)

    same = runs.compare_runs(first.run_dir, again.run_dir)
    assert same.outputs.empty and (same.scores["rank_shift"] == 0).all()
    assert same.parameters["parameter"].tolist() == ["renderer"]  # the second run was not rendered


@pytest.mark.slow
def test_rerun_reports_unchanged_then_changed_inputs(good_run, nb_dir, tmp_path):
    _, first, _ = good_run
    res, inputs, outputs = runs.rerun(first.run_dir, render=False, notebooks_dir=nb_dir)
    assert res.ok and inputs.empty and outputs.empty
    assert runs.load_manifest(res.run_dir)["rerun_of"] == first.run_dir.name
    # the notebook is edited after the run: a rerun refuses to call the edited code the same run
    local = tmp_path / "nb"
    shutil.copytree(nb_dir, local)
    out = tmp_path / "out"
    base = runs.execute_run(RunRequest("AMS", 2024, notebooks=("03",), notebooks_dir=local, outputs_dir=out,
                                       render=False))
    nb = nbf.read(local / "03_scores.ipynb", as_version=4)
    nb.cells[2].source += "\n# edited"
    nbf.write(nb, local / "03_scores.ipynb")
    before = sorted(p.name for p in (out / "AMS" / "2024").iterdir())
    with pytest.raises(IntegrityError, match=r"notebook 03_scores.ipynb: the recorded SHA-256 .* matches neither"):
        runs.rerun(base.run_dir, render=False, notebooks_dir=local)
    assert sorted(p.name for p in (out / "AMS" / "2024").iterdir()) == before  # nothing ran


def test_cli_rerun_reports_inputs_and_outputs(good_run, capsys):
    code = cli.main(["rerun", str(good_run[1].run_dir), "--no-paper", "--notebooks-dir", str(good_run[2])])
    out = capsys.readouterr().out
    assert code == 0
    assert "inputs unchanged since the original run" in out
    assert "outputs identical to the original run (byte for byte)" in out
    assert "(no paper rendered: latest unchanged)" in out


def test_scenario_is_copied_and_passed(nb_dir, tmp_path):
    sc = tmp_path / "equal.yaml"
    sc.write_text("weights: {method: equal}\n")
    res = runs.execute_run(RunRequest("EUR", 2024, scenario=sc, notebooks=("01",), notebooks_dir=nb_dir,
                                      outputs_dir=tmp_path / "o", render=False))
    copy = res.run_dir / "_internal" / "scenario.yaml"  # a wco run is sealed (reporting.bundle)
    assert res.ok and copy.read_text() == sc.read_text()
    nb = nbf.read(res.run_dir / "_internal" / "notebooks" / "01_coverage.ipynb", as_version=4)
    assert f"spec {res.run_dir / 'scenario.yaml'}" in nb.cells[-1].outputs[0]["text"]
    assert runs.load_manifest(res.run_dir)["scenario"] == {"weights": {"method": "equal"}}


# ------------------------------------------------------------------------------ failures

def test_failed_notebook_keeps_latest_on_previous_good_run(good_run, broken_dir):
    out, _, _ = good_run
    latest = out / "AMS" / "2024" / "latest"
    previous = os.readlink(latest)
    assert runs.load_manifest(latest)["status"] == "success"
    bad = runs.execute_run(RunRequest("AMS", 2024, notebooks_dir=broken_dir, outputs_dir=out))
    assert not bad.ok and "02_broken.ipynb raised ZeroDivisionError: planted failure" in bad.error
    assert os.readlink(latest) == previous
    m = runs.load_manifest(bad.run_dir)
    assert m["status"] == "failed" and "planted failure" in m["error"]
    assert [n["status"] for n in m["notebooks"]] == ["success", "failed"]  # 03 never ran
    executed = (bad.run_dir / "_internal" / "notebooks" / "02_broken.ipynb").read_text()  # sealed (wco)
    assert "ZeroDivisionError" in executed and "planted failure" in executed
    assert not (bad.run_dir / "_internal" / "notebooks" / "03_scores.ipynb").exists()
    assert not (bad.run_dir / "paper.pdf").exists()
    with pytest.raises(RunError, match="planted failure"):
        bad.raise_for_status()


def test_cli_run_failure_exit_code_and_message(broken_dir, tmp_path, capsys):
    code = cli.main(["run", "--region", "AMS", "--cycle", "2024", "--notebooks-dir", str(broken_dir),
                     "--outputs-dir", str(tmp_path), "--notebooks", "01,02", "--no-paper"])
    err = capsys.readouterr().err
    assert code == 3  # errors.EXIT_RUN: a notebook raised
    assert "pmm run: error: notebook 02_broken.ipynb raised ZeroDivisionError" in err
    assert "latest was left unchanged" in err
    assert not (tmp_path / "AMS" / "2024" / "latest").exists()


# ------------------------------------------------------------------------------ parallel

@pytest.mark.slow
def test_run_many_process_pool(nb_dir, broken_dir, tmp_path):
    reqs = [RunRequest(r, 2024, notebooks=("01",), notebooks_dir=nb_dir, outputs_dir=tmp_path, render=r == "ESA")
            for r in ("AP", "ESA")]
    reqs.append(RunRequest("WCA", 2024, notebooks_dir=broken_dir, outputs_dir=tmp_path, render=False,
                           notebooks=("02",)))
    reqs.append(RunRequest("MENA", 2024, notebooks=("09",), notebooks_dir=nb_dir, outputs_dir=tmp_path))
    results = runs.run_many(reqs, jobs=2, progress=False)
    assert [r.status for r in results] == ["success", "success", "failed", "failed"]
    assert results[0].run_dir.parent.name == "2024" and results[0].run_dir.parents[1].name == "AP"
    assert (tmp_path / "ESA" / "2024" / "latest" / "paper.pdf").is_file()
    assert not (tmp_path / "AP" / "2024" / "latest").exists()  # a run without its paper never moves latest
    assert not (tmp_path / "WCA" / "2024" / "latest").exists()
    assert "SpecError" in results[3].error and "no notebook 09" in results[3].error


@pytest.mark.slow
def test_run_many_on_dask_cluster(nb_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        reqs = [RunRequest(r, 2024, notebooks=("01",), notebooks_dir=nb_dir, outputs_dir=tmp_path, render=False)
                for r in ("EUR", "AMS")]
        results = runs.run_many(reqs, scheduler=cluster.scheduler_address, progress=False)
    assert [r.ok for r in results] == [True, True]
    assert [r.run_dir.parents[1].name for r in results] == ["EUR", "AMS"]


def test_dask_missing_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "distributed":
            raise ImportError("no distributed")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    req = RunRequest("AMS", 2024, outputs_dir=tmp_path)
    with pytest.raises(RunError, match=r"optional extra 'dask'"):
        runs.run_many([req, req], scheduler="tcp://127.0.0.1:1", progress=False)


# ------------------------------------------------------------------------------ the product's notebooks

@pytest.mark.slow
def test_project_run_ams_produces_paper(tmp_path):
    """`pmm run --region AMS --cycle 2024` over the project's notebooks (small knobs)."""
    code = cli.main(["run", "--region", "AMS", "--cycle", "2024", "--outputs-dir", str(tmp_path),
                     "--param", "n_samples=64", "--param", "n_boot=50"])
    latest = tmp_path / "AMS" / "2024" / "latest"
    assert code == 0 and (latest / "paper.html").is_file()
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(latest / "paper.pdf").pages).split())
    text = text.replace("\u2019", "'").replace("\u2018", "'")  # pandoc's smart quotes
    for heading in ("Introduction", "The PMM framework", "Data and coverage", "Indicator validity",
                    "Weighting and aggregation", "Trade-cost outcomes", "Uncertainty and sensitivity",
                    "Limitations", "References"):
        assert heading in text, heading
    captions = [" ".join(json.loads((latest / art).read_text())["caption"].split())[:60]
                for art in runs.load_manifest(latest).get("outputs", {})
                if art.startswith("figures/") and art.endswith(".json")]
    # the run's figures reach the paper (which ones it embeds is the paper's choice: test_paper*)
    assert captions and [c for c in captions if c in text], captions
    # where the seconds went: every kernel the run started was warm before the notebooks ended
    timeline = runs.load_manifest(latest)["timeline"]
    steps = [timeline[k] for k in ("prepared", "notebooks_done", "paper_source_written", "paper_rendered")]
    assert steps == sorted(steps) and steps[0] > 0
    warm = [v for k, v in timeline.items() if k.startswith("kernel_") and k.endswith("_warm")]
    assert len(warm) == min(os.cpu_count() or 1, 6) and max(warm) < timeline["notebooks_done"]


@pytest.mark.slow
def test_project_all_regions_six_papers(tmp_path):
    code = cli.main(["run", "--all-regions", "--cycle", "2024", "--notebooks", "01", "--jobs", "2",
                     "--outputs-dir", str(tmp_path)])
    assert code == 0
    papers = sorted(tmp_path.glob("*/2024/latest/paper.pdf"))
    assert [p.parents[2].name for p in papers] == sorted(runs.REGIONS)


def test_project_notebooks_follow_the_conventions():
    """Every product notebook starts with a tagged parameters cell declaring the runner's parameters."""
    for path in runs.discover_notebooks(NOTEBOOKS_DIR):
        declared = runs.notebook_parameters(path)
        assert {"region", "cycle", "seed", "spec_path", "audience", "out_dir"} <= declared, path.name


def test_cli_compare_writes_markdown_and_csv(good_run, tmp_path, capsys):
    run_dir = good_run[1].run_dir
    code = cli.main(["compare", str(run_dir), str(run_dir), "--out", str(tmp_path / "cmp")])
    out = capsys.readouterr().out
    assert code == 0 and "# Comparison of runs" in out
    assert (tmp_path / "cmp" / "comparison.md").is_file()
    assert "All figures and tables are byte-identical." in out and "0 of 6 Members changed rank" in out
    scores = pd.read_csv(tmp_path / "cmp" / "scores.csv")
    assert len(scores) == 6 and (scores["rank_shift"] == 0).all() and (scores["score_diff"] == 0).all()
    assert cli.main(["compare", str(run_dir), str(tmp_path / "nope")]) == 2
    assert "run folder" in capsys.readouterr().err


# ------------------------------------------------------------------------------ stable manifest paths

def test_manifest_paths_are_stable_across_reingest(tmp_path):
    """Processed files are links into a hidden per-ingest folder: keys must not follow the links."""
    proc = tmp_path / "processed"
    for version in ("a", "b"):
        hidden = proc / f".ingest-{version}"
        hidden.mkdir(parents=True)
        (hidden / "observations.parquet").write_bytes(b"same bytes")
        link = proc / "observations.parquet"
        tmp_link = proc / ".tmp-link"
        os.symlink(f".ingest-{version}/observations.parquet", tmp_link)
        os.replace(tmp_link, link)  # a re-ingest switches the link to a new hidden folder
        if version == "a":
            first = runs.hash_inputs(roots=[proc])
    second = runs.hash_inputs(roots=[proc])
    assert first == second and len(first) == 1
    (key,) = first
    assert key.endswith("processed/observations.parquet") and "/." not in key


def test_run_manifest_records_project_relative_paths(good_run):
    out, res, nb_dir = good_run
    m = runs.load_manifest(res.run_dir)
    assert "data/processed/observations.parquet" in m["inputs"]
    assert not [k for k in m["inputs"] if any(part.startswith(".") for part in k.split("/"))]
    assert {"notebooks/01_coverage.ipynb", "notebooks/03_scores.ipynb"} <= set(m["inputs"])
    assert m["framework_path"] == "methodology/framework.yaml"
    assert set(m["notebook_hashes"]) == {"01_coverage.ipynb", "03_scores.ipynb"}
    assert m["owner"]["pid"] == os.getpid() and "heartbeat" not in m  # finished: no heartbeat left


@pytest.mark.slow
def test_project_rerun_takes_the_notebooks_from_the_project_and_reproduces(tmp_path):
    """A run of the project's notebook 01, rerun without naming any folder: the notebooks come
    from the recorded commit (or the project's folder), checked by hash, and the outputs repeat."""
    first = runs.execute_run(RunRequest("AMS", 2024, audience="internal", notebooks=("01",), outputs_dir=tmp_path,
                                        render=False))
    assert first.ok, first.error
    res, inputs, outputs = runs.rerun(first.run_dir, render=False)
    assert res.ok, res.error
    m = runs.load_manifest(res.run_dir)
    assert m["rerun_of"] == first.run_dir.name and m["notebooks_dir"] == "notebooks"
    assert m["notebooks_source"]  # "git commit ..." or "notebooks"
    assert m["notebook_hashes"] == runs.load_manifest(first.run_dir)["notebook_hashes"]
    assert inputs.empty and outputs.empty


def test_run_help_documents_one_exit_code_per_failure_class(capsys):
    from pmm_lib.errors import EXIT_CODES

    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    for code, text in EXIT_CODES.items():
        assert f"{code:<4d}{text.split(':')[0]}" in " ".join(out.split()) or f"  {code}" in out, code
    assert "storage" in out and "external tool" in out and "refused" in out
    docs = (Path(__file__).resolve().parents[1] / "docs" / "RUNS.md").read_text()
    for code in EXIT_CODES:
        assert f"| {code} |" in docs, code  # the same table in docs/RUNS.md


def test_a_failed_public_run_is_sealed_like_a_finished_one(broken_dir, tmp_path):
    """Workings of a failed public run go to _internal/ too; the error names where the notebook is."""
    bad = runs.execute_run(RunRequest("AMS", 2024, notebooks_dir=broken_dir, outputs_dir=tmp_path,
                                      audience="public", notebooks=("01", "02"), render=False))
    assert bad.status == "failed"
    assert not (bad.run_dir / "notebooks").exists()           # nothing but the edition at the top
    executed = bad.run_dir / "_internal" / "notebooks" / "02_broken.ipynb"
    assert "planted failure" in executed.read_text()
    assert str(executed) in bad.error                         # the message points at the moved file
    top = (bad.run_dir / "manifest.json").read_text()
    assert str(tmp_path) not in top and runs.load_manifest(bad.run_dir)["status"] == "failed"
    assert str(tmp_path) in (bad.run_dir / "_internal" / "manifest.json").read_text()
