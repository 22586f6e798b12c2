# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (pmm)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
# Run parameters: `pmm run` sets them; None keeps the default defined once in
# pmm_lib.reporting.params.RunParams. To explore by hand, set one here (e.g. region = "EUR").
region = None
cycle = None
seed = None
spec_path = None
audience = None
out_dir = None
framework_path = ""  # a framework or candidate file (pmm run --framework); "": the project's
previous = None
n_samples = 500
n_boot = 1000

# %% [markdown]
# # Two cycles of the PMM
#
# **Question:** for the Members who took part in both the earlier cycle (T-1) and this one (T),
# is the evidence on each KPI stable, do the Members keep their places, and which scores changed
# by more than the methodological uncertainty? Both cycles are normalised together (min-max over
# the pooled panel), so a score change is a change in performance, not a change of the sample's
# range; scores are min-max normalised onto [1, 100] (so that the geometric mean, one of the
# alternatives, is defined) and the normalisation is held fixed, since a score change only has a
# scale under one normalisation. Rank stability is Spearman's rho with a percentile bootstrap
# interval over Members; a score change comes with its 5-95 % interval over Monte Carlo
# replications in which both cycles are scored under the same draw of the other methodological
# choices (outlier treatment, aggregation, weights; `pmm_lib.analysis.cycles`). Variation
# KPIs are computed from the T and T-1 values where a Member reported both. Values hidden from this
# report's audience are treated as missing; Members appear under pseudonyms in a public report.
# Nothing is produced when there is no earlier cycle.

# %%
import dataclasses

import pandas as pd
from IPython.display import display

from pmm_lib.analysis import cycles
from pmm_lib.core.build import build
from pmm_lib.core.spec import NormaliseSpec, Spec
from pmm_lib.inputs import data
from pmm_lib.inputs.candidates import load_design
from pmm_lib.plots import design as pdz
from pmm_lib.reporting import disclosure, report
from pmm_lib.reporting.params import RunParams
from pmm_lib.uncertainty import sensitivity as sa

run = RunParams.from_namespace(globals())  # defaults filled in, every value checked
region, cycle, seed, spec_path, audience, out_dir = run
report.use_reproducible_style()
spec = Spec.from_yaml(spec_path) if spec_path else Spec.default()
spec = dataclasses.replace(spec, normalise=NormaliseSpec("minmax", low=1.0, high=100.0))  # one scale for changes
meta = load_design(framework_path or None).table()
obs = disclosure.audience_observations(data.load_observations(), audience)
previous = previous or cycles.previous_cycle(obs, cycle)
common = cycles.panel_members(obs, cycle, previous, region=region) if previous else []
panel = len(common) >= 4
place = run.place
print(f"{place}: cycle {cycle} against {previous}: {len(common)} Members in both" if previous
      else f"{place}: {cycle} is the first cycle; nothing to compare")

# %%
if panel:
    matrices = {c: data.to_matrix(obs, c, region, framework_path=framework_path or None) for c in (previous, cycle)}
    pooled = cycles.pool_cycles(matrices, members=common)
    res = build(pooled, meta, spec, seed=seed)
    top = res.top
    codes = [top, *meta.loc[meta["level"] == meta["level"].max() - 1, "code"]]
    scores = cycles.split_pooled(res.aggregated[codes])
    norm = cycles.split_pooled(res.normalised)
    ids = run.member_labels(common)
    stability = cycles.rank_stability(scores[previous], scores[cycle], n_boot=n_boot, seed=seed)
    report.save_table(stability, "tbl-cycles-rank-stability",
                      f"Spearman's rank correlation between {previous} and {cycle} of the index and dimension "
                      f"scores of the {len(common)} Members of {place} in both cycles, with {n_boot}-resample "
                      "percentile bootstrap 95% intervals", out_dir, audience=audience)
    display(stability)

# %%
#| label: fig-cycles-ranks
#| fig-cap: "Index rank of each Member of {place} in {previous} (x) and {cycle} (y), Members in both cycles, scores normalised on the pooled panel; dashed: same rank."
if panel:
    ranks = scores[previous][[top]].rank(ascending=False).rename(columns={top: "rank_prev"}).join(
        scores[cycle][[top]].rank(ascending=False).rename(columns={top: "rank"}))
    ranks["unit"] = [ids[m] for m in ranks.index]
    ax = pdz.plot_cycle_ranks(ranks)
    display(report.save_figure(ax.figure, out_dir=out_dir, audience=audience))

# %%
if panel:
    kpi_stab = cycles.kpi_stability(matrices[previous], matrices[cycle], meta)
    report.save_table(kpi_stab, "tbl-cycles-kpi-stability",
                      f"Validity evidence of each KPI in {previous} and {cycle} on the Members of {place} in both "
                      "cycles: coverage, item-rest and index correlations (Spearman) and the scorecard verdict; "
                      "stable = same verdict", out_dir, audience=audience)
    alpha_stab = cycles.alpha_stability(norm[previous], norm[cycle], meta, n_boot=n_boot, seed=seed)
    report.save_table(alpha_stab, "tbl-cycles-alpha",
                      f"Cronbach's alpha of each dimension and expected outcome in {previous} and {cycle} "
                      "(pairwise, bootstrap 95% intervals; withheld for fewer than 3 KPIs)", out_dir,
                      audience=audience)
    print(f"{int(kpi_stab['stable'].sum())} of {len(kpi_stab)} KPIs keep their verdict")
    display(kpi_stab[~kpi_stab["stable"]])

# %%
if panel:
    problem = dataclasses.replace(sa.standard_problem(spec), normalise=())  # normalisation held fixed
    ua = sa.uncertainty_analysis(pooled, meta, problem, n_samples=n_samples, seed=seed, targets=[top])
    reps = ua.replications
    by_rep = cycles.split_pooled(pd.DataFrame(reps.scores[~reps.failed, :, 0], columns=reps.units), axis=1)
    nominal = cycles.split_pooled(res.index)
    changes = cycles.score_changes(nominal[previous], nominal[cycle], by_rep[previous], by_rep[cycle])
    changes["unit"] = changes["unit"].map(ids)
    report.save_table(changes, "tbl-cycles-score-changes",
                      f"Change of each Member's index score from {previous} to {cycle} ({place}, pooled "
                      f"normalisation) with its 5-95% interval over {reps.n} paired Monte Carlo replications",
                      out_dir, audience=audience)
    display(changes)

# %%
#| label: fig-cycles-score-changes
#| fig-cap: "Change of each Member's index score from {previous} to {cycle}, {place}, with its 5-95 % interval over paired Monte Carlo replications (blue: the interval excludes zero)."
if panel:
    ax = pdz.plot_score_changes(changes)
    display(report.save_figure(ax.figure, out_dir=out_dir, audience=audience))

# %%
if panel:
    variation = cycles.variation_kpis(obs, cycle, previous, members=common, meta=meta)
    summary = (variation.groupby("kpi", sort=False)
               .agg(n=("change", "size"), median_change=("change", "median"),
                    median_pct_change=("pct_change", "median"),
                    share_improving=("improvement", lambda s: float((s > 0).mean())))
               .reset_index())
    summary = summary[summary["n"] >= 3]  # no statistic resting on fewer than three Members
    report.save_table(summary, "tbl-cycles-variation",
                      f"Variation KPIs from the {previous} and {cycle} values of the Members of {place} who "
                      "reported both: median change, median % change and share of Members improving "
                      "(KPIs reported by at least 3 Members in both cycles)", out_dir, audience=audience)
    display(summary.head(10))
