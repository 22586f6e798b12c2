"""Write the two workshop notebooks (outputs cleared). Run: .venv/bin/python notebooks/workshop/make_notebooks.py"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent
KERNEL = {"kernelspec": {"display_name": "Python 3 (pmm)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def _params(src: str) -> nbf.NotebookNode:
    cell = nbf.v4.new_code_cell(src)
    cell.metadata["tags"] = ["parameters"]
    return cell


def exercise() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook(metadata=KERNEL)
    nb.cells = [
        _params('session = ""      # empty: $PMM_WORKSHOP_SESSION (set by `pmm workshop serve`), else "demo"\n'
                'region = ""       # empty: $PMM_WORKSHOP_REGION, else "ALL" (every participating Member)\n'
                "cycle = 2024\n"
                'audience = "wco"  # KPI values this audience may not see are left out of the live index\n'
                'out_dir = ""      # where sessions are kept; empty: $PMM_WORKSHOP_DIR, else outputs/workshop'),
        nbf.v4.new_markdown_cell(
            "# PMM workshop: how would your group weight the PMM?\n\n"
            "Name your group, then either distribute **100 points** across the four dimensions "
            "(moving one slider rebalances the others) or compare the dimensions **pair by pair** "
            "(AHP, with the consistency ratio shown as you go). Optionally distribute 100 points across "
            "the KPIs of one dimension. The ranking, the rank shifts against the default weights and the "
            "correlation with a trade-cost outcome update at once. Press **Submit** when your group agrees; "
            "you can submit again, every submission is kept."),
        nbf.v4.new_code_cell(
            "from pmm_lib.workshop.widgets import WeightingApp\n"
            "from pmm_lib.workshop.exercise import load_live_index\n\n"
            "live, outcomes = load_live_index(region, cycle, audience=audience)\n"
            "app = WeightingApp(live, session=session, outcomes=outcomes, root=out_dir or None)\n"
            "app"),
    ]
    return nb


def facilitator() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook(metadata=KERNEL)
    nb.cells = [
        _params('session = "demo"\n'
                'out_dir = ""          # where to write tables/, figures/ and the exports; empty: no files\n'
                'submissions_dir = ""  # where sessions are kept; empty: $PMM_WORKSHOP_DIR, else outputs/workshop\n'
                'statistic = "mean"    # consensus exported as the scenario: mean or median\n'
                "demo_groups = 6       # if the session has no submissions yet, show this many simulated groups "
                "(0: never)\n"
                "seed = 20240601"),
        nbf.v4.new_markdown_cell(
            "# PMM workshop: where do the groups agree on the weights?\n\n"
            "Gathers the latest submission of every group in a session and answers: what weights would "
            "the groups settle on (consensus mean and median, re-normalised to 100 points), how far apart "
            "are they (sd, IQR, range) and do they rank the dimensions alike (Kendall's W with its "
            "chi-square test, tie-corrected)? The consensus is exported as a scenario for "
            "`pmm run --scenario`, and every group's weights as alternative weight sets for the "
            "uncertainty analysis."),
        nbf.v4.new_code_cell(
            "from pathlib import Path\n"
            "from pmm_lib.workshop import exercise as ws\n"
            "from pmm_lib.reporting.report import save_figure, save_table\n\n"
            "subs = ws.load_submissions(session, root=submissions_dir or None)\n"
            "simulated = subs.empty and demo_groups > 0\n"
            "if simulated:\n"
            "    subs = ws.simulate_submissions(demo_groups, seed=seed, session=session)\n"
            'print(f"session {session!r}: {subs[\'group\'].nunique()} groups" + (" (SIMULATED: no submissions yet)" '
            'if simulated else ""))'),
        nbf.v4.new_markdown_cell("## Each group's weights (points of 100, latest submission)"),
        nbf.v4.new_code_cell(
            "groups = ws.submission_overview(subs)\n"
            'save_table(groups, "tbl-workshop-groups", "Each group\'s latest submission: time, method, '
            'KPI blocks and dimension points.", out_dir)\n'
            "groups"),
        nbf.v4.new_markdown_cell("## Consensus and dispersion"),
        nbf.v4.new_code_cell(
            "cons = ws.consensus(subs)\n"
            'save_table(cons, "tbl-workshop-consensus", "Consensus weights (mean and median re-normalised to '
            '100) and dispersion per block and code.", out_dir)\n'
            "cons"),
        nbf.v4.new_code_cell(
            "#| label: fig-workshop-consensus\n"
            "#| fig-cap: Each group's dimension points (dots) with the consensus mean (bars) and median (diamonds).\n"
            "ax = ws.plot_consensus(subs)\n"
            'save_figure(ax.figure, "fig-workshop-consensus", "Each group\'s dimension points with the consensus '
            'mean and median.", out_dir)'),
        nbf.v4.new_markdown_cell("## Agreement: Kendall's W (tie-corrected) per block"),
        nbf.v4.new_code_cell(
            "agree = ws.agreement(subs)\n"
            'save_table(agree, "tbl-workshop-agreement", "Kendall\'s W of the groups\' weights with the '
            'chi-square test (tie-corrected).", out_dir)\n'
            "agree"),
        nbf.v4.new_markdown_cell("## Exports: consensus scenario and the groups' weight sets"),
        nbf.v4.new_code_cell(
            "if out_dir:\n"
            '    scenario = ws.export_scenario(cons, Path(out_dir) / f"workshop_{statistic}.yaml", '
            "statistic=statistic, session=session)\n"
            '    sets = ws.export_weight_sets(subs, Path(out_dir) / "workshop_weight_sets.yaml", session=session)\n'
            "    print(scenario, sets, sep=\"\\n\")\n"
            "ws.scenario_dict(cons, statistic=statistic)"),
    ]
    return nb


if __name__ == "__main__":
    for name, nb in (("group_exercise.ipynb", exercise()), ("facilitator.ipynb", facilitator())):
        nbf.validate(nb)
        nbf.write(nb, HERE / name)
        print("wrote", HERE / name)
