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

# %% [markdown]
# # Weighting alternatives
#
# **Question:** how much do the Members' index ranks depend on the weights? The framework's
# weights are compared with equal weights, weights from an expert budget allocation, from AHP
# pairwise judgements, from principal components (OECD/JRC procedure), weights that balance each
# component's correlation with its aggregate, and benefit-of-the-doubt (BoD) weights chosen by each
# Member. We also ask whether the nominal weights are the *effective* ones: how much of each
# aggregate's variance each component actually explains.
#
# The budget points (`methodology/weights/example_budget.csv`) and AHP matrix
# (`methodology/weights/example_ahp.csv`) are illustrative inputs, not WCO positions; they weight
# the four dimensions, every other level keeps the framework weights. Only Member-level *index*
# scores appear below (no KPI values); for a public audience Members are shown by pseudonym.

# %%
from pmm_lib.core import build
from pmm_lib.inputs import data
from pmm_lib.reporting.params import RunParams
from pmm_lib.reporting import disclosure, report
from pmm_lib.plots import weighting as pw
from pmm_lib.core import weights as W
from pmm_lib.paths import METHODOLOGY_DIR
from pmm_lib.core.spec import Spec
from pmm_lib.analysis import findings, validity

run = RunParams.from_namespace(globals())  # defaults filled in, every value checked
region, cycle, seed, spec_path, audience, out_dir = run
report.use_reproducible_style()
spec = Spec.from_yaml(spec_path) if spec_path else Spec.default()
view = disclosure.audience_view(data.load_observations(), cycle, region, audience,
                                framework_path=framework_path or None)
res = view.build(spec, seed=seed)  # on the values this audience may see (hidden = missing)
normalised, meta = res.normalised, res.meta
ids = run.member_labels(normalised.index)  # pseudonyms for a public audience
place = run.place
examples = METHODOLOGY_DIR / "weights"
print(f"{len(normalised)} Members of {place}, cycle {cycle}; {normalised.shape[1]} KPIs")

# %% [markdown]
# ## Participatory weights: budget allocation and AHP

# %%
budget = W.budget_allocation(examples / "example_budget.csv", meta)
budget

# %%
ahp = W.ahp(examples / "example_ahp.csv")
print(f"AHP: lambda_max = {ahp.lambda_max:.3f}, CI = {ahp.ci:.4f}, CR = {ahp.cr:.4f} (acceptable below 0.1)")
ahp.to_frame()

# %% [markdown]
# ## The weighting schemes

# %%
schemes = {
    "framework": W.resolve_weights("framework", normalised, meta),
    "equal": W.resolve_weights("equal", normalised, meta),
    "budget": W.resolve_weights("budget", normalised, meta, points=examples / "example_budget.csv"),
    "ahp": W.resolve_weights("ahp", normalised, meta, path=examples / "example_ahp.csv"),
    "pca": W.resolve_weights("pca", normalised, meta),
    "balanced": W.resolve_weights("balanced", normalised, meta),
    "bod": W.resolve_weights("bod", normalised, meta),
}
scheme_weights = W.scheme_table(schemes, meta)
scheme_weights[scheme_weights["level"] == 3].pivot(index="code", columns="scheme", values="weight")[list(schemes)]

# %%
#| label: fig-weighting-schemes
#| fig-cap: "Weight of each PMM dimension in the index under each weighting scheme (framework, equal, expert budget allocation, AHP, PCA, balanced correlations, mean benefit-of-the-doubt weights), {place} {cycle}."
ax = pw.plot_scheme_weights(scheme_weights, codes=["TF", "RC", "ES", "OD"])
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## Ranks under each scheme
#
# All schemes aggregate with weighted arithmetic means, except `bod`: its dimensions are combined
# by benefit of the doubt, each Member getting the dimension weights that show it in the best
# light (score in [0, 1], 1 = on the frontier); below the dimensions it uses the Members' average
# BoD weights. Rank shifts are measured against the framework weights (positive = the Member
# moves up).

# %%
comparison = W.compare_schemes(normalised, meta, schemes,
                               methods={"bod": ["arithmetic", "arithmetic", "bod"]},
                               min_coverage=spec.aggregate[0].min_coverage)
comparison["unit"] = comparison["unit"].map(ids)
W.rank_shift_summary(comparison)

# %%
#| label: fig-weighting-rankshift
#| fig-cap: "Index rank of each Member of {place} ({cycle}) under the framework weights (black bar) and the alternatives (markers); the grey line spans each Member's range of ranks."
ax = pw.plot_rank_shift(comparison, reference="framework")
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
ranks = comparison.pivot(index="unit", columns="scheme", values="rank")[list(schemes)].sort_values("framework")
report.save_table(ranks.reset_index().rename(columns={"unit": "member"}), "tbl-weighting-ranks",
                  f"Index rank (1 = best) of each Member of {place} ({cycle}) under each weighting "
                  "scheme.", out_dir, audience=audience)
scores = comparison.pivot(index="unit", columns="scheme", values="score")[list(schemes)].loc[ranks.index]
report.save_table(scores.reset_index().rename(columns={"unit": "member"}), "tbl-index-scores",
                  f"Index score of each Member of {place} ({cycle}) under each weighting scheme "
                  "(0-100; bod: benefit-of-the-doubt score in [0, 1]).", out_dir, audience=audience)
ranks

# %% [markdown]
# ## Nominal versus effective weights
#
# The effective weight of a component is its squared Pearson correlation with its aggregate,
# scaled to sum to one within the parent (Paruolo, Saisana & Saltelli 2013): a component with a
# large nominal weight but a small effective one hardly moves the aggregate.

# %%
effective = W.effective_weights(res.aggregated, meta, schemes["framework"])
report.save_table(effective, "tbl-effective-weights",
                  f"Nominal and effective weights of every component, {place} {cycle} (effective = "
                  "squared correlation with the parent aggregate, scaled within the parent; "
                  "pearson = the correlation; n = Members).", out_dir, audience=audience)
effective[effective["level"] >= 2]

# %%
#| label: fig-effective-weights
#| fig-cap: "Nominal weight and effective weight (share of the parent's variance explained) of each expected outcome and dimension, {place} {cycle}."
ax = pw.plot_effective_weights(effective[effective["level"] >= 2])
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## The index the findings advise
#
# The validity scorecard's findings (`pmm_lib.analysis.findings.kpi_fitness`) name KPIs that run
# against their dimension, measure something else, or duplicate another KPI. The index rebuilt
# without them is set beside the framework's, so the paper's recommendation is reconciled with a
# computed index.

# %%
card = validity.scorecard(res.raw, res.meta, oriented=False)
fitness = findings.kpi_fitness(card)
advised = findings.advised_index(res, list(fitness.loc[fitness["drop"], "code"]))
advised["member"] = advised["member"].map(ids)
report.save_table(advised, "tbl-advised-index",
                  f"Index score and rank of each Member of {place} ({cycle}) with the framework's KPIs and "
                  "with the KPIs the findings advise dropping left out (shift = framework rank - advised rank).",
                  out_dir, audience=audience)
advised.head(10)

