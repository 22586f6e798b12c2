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
n_boot = 1000
n_iter = 500
scorecard_thresholds = {}
thresholds_path = ""

# %% [markdown]
# # Indicator validity
#
# **Question:** do the KPIs behave as a measurement instrument? Within each dimension and expected
# outcome, do they hang together (Cronbach's alpha)? Are any two KPIs near-duplicates, does any KPI
# run against its dimension once directions are applied, and how many components does each
# dimension carry (PCA with Kaiser's rule and Horn's parallel analysis, factor analysis, KMO and
# Bartlett)? The scorecard gathers every line of evidence per KPI into a *keep / review / drop*
# verdict from documented thresholds that the team can override (`scorecard_thresholds`, a dict,
# or `thresholds_path`, a YAML file).
#
# All results are aggregates over Members (correlations, reliabilities, loadings); no Member-level
# KPI value is shown. Missing values (skipped KPIs) are handled pairwise, so small regions keep
# every Member.

# %%
import matplotlib.pyplot as plt

from pmm_lib.core import build
from pmm_lib.inputs import data
from pmm_lib.analysis import outcomes, validity
from pmm_lib.reporting.params import RunParams
from pmm_lib.reporting import disclosure, report
from pmm_lib.plots import validity as pv
from pmm_lib.core.spec import Spec

run = RunParams.from_namespace(globals())  # defaults filled in, every value checked
region, cycle, seed, spec_path, audience, out_dir = run
report.use_reproducible_style()
spec = Spec.from_yaml(spec_path) if spec_path else Spec.default()
view = disclosure.audience_view(data.load_observations(), cycle, region, audience,
                                framework_path=framework_path or None)
res = view.build(spec, seed=seed)  # on the values this audience may see (hidden = missing)
place = run.place
thresholds = (validity.ScorecardThresholds.from_yaml(thresholds_path) if thresholds_path
              else validity.ScorecardThresholds.from_dict(scorecard_thresholds))
print(f"{res.normalised.shape[0]} Members of {place}, cycle {cycle}, {res.normalised.shape[1]} KPIs; "
      f"{int(res.raw.notna().sum().sum())} reported values")

# %% [markdown]
# ## Internal consistency

# %%
alpha = validity.consistency_table(res.normalised, res.meta, n_boot=n_boot, seed=seed, missing="pairwise")
report.save_table(alpha, "tbl-alpha",
                  f"Cronbach's alpha of each dimension and expected outcome ({place}, {cycle}) on the "
                  f"normalised KPIs, pairwise-complete covariances, with {n_boot}-resample percentile "
                  "bootstrap 95% intervals; k = KPIs, n = smallest number of Members reporting a pair "
                  "(Cronbach 1951, doi:10.1007/BF02310555).", out_dir, audience=audience)
alpha

# %%
#| label: fig-alpha
#| fig-cap: "Cronbach's alpha per dimension and expected outcome ({place}, {cycle}) with bootstrap 95% intervals; the dashed line marks 0.7. Alpha is withheld for groups of fewer than three KPIs (with two it is a rescaled correlation)."
ax = pv.plot_alpha(alpha)
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## Correlation structure

# %%
corr = validity.correlation_table(res.normalised, method=("spearman", "pearson"))
flags = validity.correlation_flags(res.normalised, res.meta, aggregated=res.aggregated, method="spearman")
report.save_table(flags, "tbl-correlation-flags",
                  f"Structural flags ({place}, {cycle}, Spearman): collinear pairs (|rho| > 0.9), "
                  "negative correlations (p < 0.05) between KPIs of one dimension after orientation, and KPIs "
                  "correlating below 0.3 with their dimension score.", out_dir, audience=audience)
flags.groupby("flag").size()

# %%
#| label: fig-correlation-heatmap
#| fig-cap: "Spearman correlations between the {res.normalised.shape[1]} normalised (oriented) KPIs, {place} {cycle}, pairwise complete; KPIs in framework order (TF, RC, ES, OD)."
ax = pv.plot_correlation_heatmap(validity.correlation_matrix(corr, "spearman"), label="Spearman's rho")
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## Dimensionality: PCA, KMO, Bartlett, factor analysis

# %%
pca = validity.pca_table(res.normalised, res.meta, n_iter=n_iter, seed=seed, missing="pairwise")
report.save_table(pca, "tbl-pca",
                  f"Principal components of each dimension's KPI correlations ({place}, {cycle}, "
                  "pairwise): eigenvalues, share explained, Horn's parallel-analysis threshold (95th "
                  f"percentile of {n_iter} random data sets), components retained by Kaiser's rule and by "
                  "parallel analysis, Kaiser's KMO and Bartlett's sphericity p-value.", out_dir,
                  audience=audience)
pca.groupby("code").first()[["eigenvalue", "explained", "n_kaiser", "n_parallel", "kmo", "bartlett_p", "n", "k"]]

# %%
#| label: fig-pca-scree
#| fig-cap: "Eigenvalues of each dimension's KPI correlation matrix ({place}, {cycle}); dashed: Kaiser's eigenvalue-one rule; dotted: parallel-analysis thresholds."
ax = pv.plot_scree(pca)
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
loadings = validity.pca_loadings(res.normalised, res.meta, n_iter=n_iter, seed=seed, missing="pairwise")
report.save_table(loadings, "tbl-pca-loadings",
                  f"PCA loadings (item-component correlations) of the components retained by parallel analysis "
                  f"in each dimension ({place}, {cycle}, pairwise correlations).", out_dir, audience=audience)
loadings.pivot_table(index="item", columns=["code", "component"], values="estimate")

# %%
efa = validity.efa_table(res.normalised, res.meta, seed=seed, missing="pairwise")
report.save_table(efa, "tbl-efa",
                  f"Exploratory factor analysis per dimension ({place}, {cycle}; maximum likelihood on pairwise "
                  "correlations, varimax, factors by parallel analysis; dimensions whose KPI pairs share fewer "
                  "than k + 2 Members, or whose correlation matrix is not positive definite, are skipped).",
                  out_dir, audience=audience)
efa.pivot_table(index="item", columns=["code", "factor"], values="estimate") if len(efa) else "too few complete Members for factor analysis"

# %% [markdown]
# ## Validity scorecard

# %%
lpi = outcomes.outcome_table(data.load_outcomes(), ["lpi_customs"], as_of=cycle)["lpi_customs"]
card = validity.scorecard(res.raw, res.meta, oriented=False, thresholds=thresholds, outcome=lpi)
report.save_table(card, "tbl-scorecard",
                  f"Validity scorecard per KPI ({place}, {cycle}): coverage, item-rest correlation in its "
                  "dimension, standardized alpha with and without it, largest |rho| with another KPI, "
                  "correlation with its expected outcome and with the rest of the index, correlation with "
                  "the latest LPI Customs score (all Spearman, oriented), and the verdict with the rules "
                  "that fired; thresholds: " + ", ".join(f"{k.replace('_', ' ')} {'off' if v is None else v}"
                                         for k, v in thresholds.to_dict().items()) + ".",
                  out_dir, audience=audience)
print(card["verdict"].value_counts().to_string())
card[card["verdict"] != "keep"][["code", "dimension", "verdict", "reasons"]]
