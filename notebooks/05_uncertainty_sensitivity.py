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
n_samples = 1000
weight_sets_path = ""

# %% [markdown]
# # Uncertainty and sensitivity of the index
#
# **Question:** how robust are the Members' index and dimension ranks to the methodological
# choices behind them, and which choice matters most? Every choice that could reasonably have been
# made otherwise is varied at once (Saisana, Saltelli & Tarantola 2005,
# doi:10.1111/j.1467-985X.2005.00350.x): the outlier rule (winsorise at most 1 to 5 points), the
# normalisation (min-max onto [1, 100] or z-scores), the aggregation (arithmetic or geometric
# mean), the weights of expected outcomes and dimensions (each multiplied by a random factor
# between 0.75 and 1.25, or taken from the workshop groups' submissions when given), and the
# exclusion of any single KPI.
#
# The **uncertainty analysis** draws `n_samples` random combinations and reports, for each
# Member, the nominal rank (the published method), the median rank and the 5-95 % rank interval.
# The **sensitivity analysis** apportions the variance of the rank shifts and of the scores to the
# choices: the first-order Sobol' index S1 is the share a choice explains on its own, the total
# index ST adds its interactions with the others (Saltelli et al. 2010,
# doi:10.1016/j.cpc.2009.09.018); both come with bootstrap 95 % confidence intervals and a check
# that the sample was large enough. Scores are aggregates of many KPIs and are shown by audience;
# for a public report the Members appear under pseudonyms.

# %%
from pmm_lib.inputs.data import load_observations
from pmm_lib.reporting.params import RunParams
from pmm_lib.reporting import disclosure, report
from pmm_lib.plots import sensitivity as ps
from pmm_lib.uncertainty import sensitivity as sa
from pmm_lib.core.spec import Spec

run = RunParams.from_namespace(globals())  # defaults filled in, every value checked
region, cycle, seed, spec_path, audience, out_dir = run
report.use_reproducible_style()
spec = Spec.from_yaml(spec_path) if spec_path else Spec.default()
view = disclosure.audience_view(load_observations(), cycle, region, audience, framework_path=framework_path or None)
data, meta, options = view.inputs(spec)  # the values and KPIs of this audience's edition
weight_sets = sa.load_weight_sets(weight_sets_path) if weight_sets_path else ()
problem = sa.standard_problem(spec, weight_sets=weight_sets, exclude_kpis=True)
ids = run.member_labels(data.index)  # pseudonyms for a public audience
top = meta.loc[meta["level"] == meta["level"].max(), "code"].iloc[0]
place = run.place
print(f"{len(data)} Members of {place}, cycle {cycle}; uncertain assumptions: {', '.join(problem.varied)}"
      f"{f'; {len(weight_sets)} workshop weight sets' if weight_sets else ''}")

# %% [markdown]
# ## Uncertainty analysis: rank intervals

# %%
ua = sa.uncertainty_analysis(data, meta, problem, n_samples=n_samples, seed=seed, progress=True,
                             build_options=options)
print(f"{ua.replications.n} replications ({ua.n_failed} failed) in {ua.replications.seconds:.2f} s")
ua.summary

# %%
#| label: fig-rank-intervals
#| fig-cap: "Nominal rank, median rank and 5-95 % rank interval of each Member's index over all combinations of methodological choices, {place} {cycle}."
ax = ps.plot_rank_intervals(ua.rank_intervals, code=top, labels=ids)
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
#| label: fig-score-distributions
#| fig-cap: "Distribution of each Member's index score over the replications, {place} {cycle} (box = quartiles, whiskers = 5 % and 95 % quantiles, cross = nominal score)."
ax = ps.plot_score_distributions(ua.rank_intervals, code=top, labels=ids)
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
rank_table = ua.rank_intervals.assign(unit=ua.rank_intervals["unit"].map(ids))
report.save_table(rank_table, "tbl-rank-intervals", "Nominal and median rank, 5-95 % rank interval, mean absolute rank shift and score quantiles per Member, for the index and each dimension", out_dir, audience=audience)
rank_table[rank_table["code"] == top].head(15)

# %% [markdown]
# ## Sensitivity analysis: which choice matters?

# %%
sens = sa.sensitivity_analysis(data, meta, problem, n_base=n_samples, seed=seed, progress=True,
                               build_options=options)
verdict = "enough" if sens.converged else "not enough: increase n_samples"
print(f"{sens.replications.n} replications; N = {n_samples} base samples is {verdict} "
      f"(indices moved at most {sens.convergence['abs_diff'].max():.3f} from N/2 to N)")

# %%
#| label: fig-sobol
#| fig-cap: "First-order and total Sobol' indices (95 % bootstrap intervals) of the mean absolute rank shift of the index, per methodological choice, {place} {cycle}."
ax = ps.plot_sobol(sens.indices, code=top, output="mean_abs_rank_shift")
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
sobol_table = sens.indices[sens.indices["unit"] == ""].drop(columns="unit")
report.save_table(sobol_table, "tbl-sobol", "First-order and total Sobol' indices with 95 % bootstrap intervals, for the index and each dimension, of the mean absolute rank shift and of the scores (variance-weighted over Members)", out_dir, audience=audience)
sobol_table[sobol_table["code"] == top]

# %% [markdown]
# **Reading the results.** A Member whose interval is narrow keeps its place whatever reasonable
# method is used; a wide interval means its position depends on a methodological choice, and
# the Sobol' indices say which. A large gap between a choice's total and first-order index means
# its effect depends on the other choices (for example the geometric mean punishes a weak KPI
# more after one normalisation than after another). Scores on different normalisations are on
# different scales, so their sensitivity to the normalisation is large by construction; the rank
# shifts are the comparable measure.
