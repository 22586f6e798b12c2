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
# # PMM scores and trade-cost outcomes
#
# **Question:** do Customs administrations that score higher on the PMM also do better on the
# outcomes the PMM is meant to move: traders' ratings of Customs (World Bank LPI), the time and cost
# of border and documentary compliance (Doing Business), and government effectiveness and control of
# corruption (WGI)? The notebook first sets the benchmark on public data alone: how closely the LPI
# Customs score (2018) tracks measured border-compliance time to import (DB2020). It then relates the
# index and dimension scores to each outcome: correlations with 95% intervals, OLS with controls
# (log GDP per capita, landlocked, region) and HC3 robust errors, partial correlations, differences
# across income groups, and lagged designs (a PMM cycle against later outcome years).
#
# Doing Business times and costs are analysed as ln(1 + value) (zero hours are recorded for
# intra-EU trade). **Caution on the bundled data:** the synthetic PMM returns are generated from a
# latent performance anchored on the LPI Customs score 2018, DB2020 import border time and WGI
# government effectiveness (`pmm_lib.inputs.synthetic`), so strong correlations with those outcomes check
# the machinery, not the PMM; only the benchmark section uses nothing synthetic. Only aggregates (correlations, coefficients) and public outcome data are shown;
# no Member-level KPI value appears.

# %%
import pandas as pd

from pmm_lib.core import build
from pmm_lib.inputs import data
from pmm_lib.analysis import outcomes
from pmm_lib.reporting.params import RunParams
from pmm_lib.reporting import disclosure, report
from pmm_lib.plots import validity as pv
from pmm_lib.core.spec import Spec

run = RunParams.from_namespace(globals())  # defaults filled in, every value checked
region, cycle, seed, spec_path, audience, out_dir = run
report.use_reproducible_style()
outs = data.load_outcomes()
members = data.load_members().set_index("member")
place = run.place

# %% [markdown]
# ## Benchmark on public data: LPI Customs 2018 and DB2020 border-compliance time to import

# %%
lpi_db = outcomes.lpi_vs_db(outs, lpi_year=2018, db_year=2020)
report.save_table(lpi_db, "tbl-lpi-db",
                  "LPI Customs score (2018 edition) against Doing Business 2020 border-compliance time to "
                  "import, ln(1 + hours), WCO Members with both: Pearson's r and Spearman's rho with "
                  "Fisher-z 95% intervals, and the OLS slope of ln(1 + hours) per LPI point with an HC3 "
                  "interval.", out_dir, audience=audience)
lpi_db

# %%
#| label: fig-lpi-db-scatter
#| fig-cap: "LPI Customs score (2018) against DB2020 border-compliance time to import, ln(1 + hours), {r[n]:.0f} WCO Members; r = {r[estimate]:.2f} (95% CI {r[ci_low]:.2f} to {r[ci_high]:.2f}); line: OLS fit; labels: the six largest residuals."
pairs = outcomes.lpi_vs_db_data(outs, lpi_year=2018, db_year=2020).join(members["name"])
ax = pv.plot_outcome_scatter(pairs, x="lpi_customs", y="log_db_time_import_border_h", label="name", n_labels=6,
                             xlabel="LPI Customs score, 2018 (1-5)",
                             ylabel="Border compliance time to import, DB2020, ln(1 + hours)")
r = lpi_db.set_index("method").loc["pearson"]
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## PMM scores against outcomes

# %%
spec = Spec.from_yaml(spec_path) if spec_path else Spec.default()
view = disclosure.audience_view(data.load_observations(), cycle, region, audience,
                                framework_path=framework_path or None)
res = view.build(spec, seed=seed)  # on the values this audience may see (hidden = missing)
scores = res.aggregated[[res.top, *res.scores(3).columns]]
wide = outcomes.outcome_table(outs, outcomes.DEFAULT_OUTCOMES, as_of=cycle, members=scores.index)
covars = members[["region", "landlocked"]].join(
    outcomes.outcome_table(outs, ["gdp_pc_ppp"], as_of=cycle)).reindex(scores.index)
print(f"{len(scores)} Members of {place}, cycle {cycle}; outcomes: latest year at or before {cycle}")

# %%
cors = outcomes.outcome_correlations(scores, wide)
report.save_table(cors, "tbl-outcome-correlations",
                  f"Correlations of the PMM index and dimension scores ({place}, {cycle}) with each outcome "
                  f"(latest year at or before {cycle}; DB series as ln(1 + value)): Pearson and Spearman with "
                  "Fisher-z 95% intervals, pairwise complete.", out_dir, audience=audience)
cors[cors["method"] == "pearson"].pivot(index="variable", columns="code", values="estimate")

# %%
#| label: fig-outcome-correlations
#| fig-cap: "Pearson correlations (Fisher-z 95% intervals) of the PMM index and its four dimension scores with each outcome, {place} {cycle}. Lower Doing Business times and costs are better, so negative correlations there support validity."
ax = pv.plot_coefficients(cors[cors["method"] == "pearson"], y="variable", hue="code",
                          xlabel="Pearson correlation (95% CI)", ylabel="Outcome")
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)


# %% [markdown]
# ## The region's index against LPI Customs
#
# The key figure: each Member's PMM index score against its LPI Customs score (latest edition at or
# before the cycle), labelled by ISO3 code (pseudonyms for a public audience).

# %%
#| label: fig-pmm-lpi
#| fig-cap: "PMM index score of each Member of {place} ({cycle}) against its LPI Customs score (1-5); the dashed line is the least-squares fit."
ids = run.member_labels(scores.index)  # pseudonyms for a public audience
pmm_lpi = pd.DataFrame({"lpi_customs": wide["lpi_customs"], "PMM": scores[res.top]}).assign(
    member=lambda f: f.index.map(ids))
ax = pv.plot_outcome_scatter(pmm_lpi, x="lpi_customs", y="PMM", label="member", n_labels=min(len(pmm_lpi), 40),
                             ylabel="PMM index score (0-100)")
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
controls = ("log_gdp_pc_ppp", "landlocked") + (("C(region)",) if region == "ALL" else ())
controls_text = ", ".join(controls)
ols = outcomes.ols_outcomes(scores, wide, covars, controls=controls, standardise=True)
report.save_table(ols, "tbl-ols",
                  f"OLS of each outcome on each PMM score ({place}, {cycle}), outcome and score standardised, "
                  f"controls: {', '.join(controls)}; HC3 robust standard errors (MacKinnon and White 1985); "
                  "all terms of every model.", out_dir, audience=audience)
ols[ols["term"] == ols["predictor"]].pivot(index="outcome", columns="predictor", values="estimate")

# %%
#| label: fig-ols-coefficients
#| fig-cap: "Standardised OLS coefficient of each PMM score on each outcome, {place} {cycle}, controlling for {controls_text}; HC3 robust 95% intervals."
ax = pv.plot_coefficients(ols[ols["term"] == ols["predictor"]], y="outcome", hue="predictor",
                          xlabel="Standardised coefficient (HC3 95% CI)", ylabel="Outcome")
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
kpi_cors = outcomes.outcome_correlations(res.normalised, wide[["lpi_customs", "log_db_time_import_border_h", "wgi_ge"]],
                                         method="spearman")
report.save_table(kpi_cors, "tbl-kpi-outcome-correlations",
                  f"Spearman correlations of each normalised (oriented) KPI with the LPI Customs score, DB border "
                  f"time to import (ln(1 + hours)) and WGI government effectiveness ({place}, {cycle}), "
                  "Fisher-z 95% intervals, pairwise complete.", out_dir, audience=audience)
kpi_cors.pivot(index="code", columns="variable", values="estimate")

# %% [markdown]
# ## Partial correlations, income groups and lagged designs

# %%
gov = covars.join(wide[["wgi_ge"]])
partial = pd.concat([outcomes.partial_correlations(scores, wide, covars, ["log_gdp_pc_ppp"]),
                     outcomes.partial_correlations(scores, wide.drop(columns=["wgi_ge"]), gov,
                                                   ["log_gdp_pc_ppp", "wgi_ge"])], ignore_index=True)
report.save_table(partial, "tbl-partial-correlations",
                  "Partial correlations of PMM scores with outcomes given log GDP per capita, and given log GDP "
                  f"per capita and WGI government effectiveness ({place}, {cycle}), Fisher-z 95% intervals.", out_dir, audience=audience)
groups = outcomes.known_groups(scores, members["income_group"])
report.save_table(groups, "tbl-known-groups",
                  f"Known groups: PMM scores across World Bank income groups ({place}, {cycle}): Kruskal-Wallis "
                  "H, epsilon-squared and eta-squared(H) effect sizes, and Spearman's rho with the ordered "
                  "income group (L < LM < UM < H).", out_dir, audience=audience)
groups

# %%
obs = view.observations  # every cycle, as this audience may see them
by_cycle = {int(c): build.build_pmm(spec, region=region, cycle=int(c), observations=obs, seed=seed,
                                      framework_path=framework_path or None).aggregated[[res.top]]
            for c in sorted(obs["cycle"].unique())}
lagged = outcomes.lagged_correlations(by_cycle, outs, ["lpi_customs", "lpi_overall", "wgi_ge", "wgi_cc"], lags=(0, 1, 2))
report.save_table(lagged, "tbl-lagged",
                  f"Lagged designs ({place}): PMM index of each cycle against outcomes of the same and later "
                  "years, where that year has data.", out_dir, audience=audience)
lagged[lagged["method"] == "pearson"]
