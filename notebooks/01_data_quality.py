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
# # Data quality of the PMM returns
#
# **Question:** are the returns of this region and cycle complete and plausible enough to build the
# index on them? Which KPIs and which Members are thinly covered, does skipping a KPI depend on the
# kind of administration (income group), and which reported values are extreme or outside their
# plausible range?
#
# Member-level KPI values (distributions, outliers) pass through disclosure control for the
# notebook's `audience` first; coverage only says *whether* a value was reported.

# %%
import matplotlib.pyplot as plt

from pmm_lib.inputs import data
from pmm_lib.reporting.params import RunParams
from pmm_lib.reporting import disclosure, report
from pmm_lib.analysis import findings, quality
from pmm_lib.inputs.framework import load_framework
from pmm_lib.plots import quality as pq

run = RunParams.from_namespace(globals())  # defaults filled in, every value checked
region, cycle, seed, spec_path, audience, out_dir = run
report.use_reproducible_style()
view = disclosure.audience_view(data.load_observations(), cycle, region, audience,
                                framework_path=framework_path or None)
matrix = view.reported_matrix  # 1 where a value was reported, NaN where skipped: no values
visible = view.matrix  # the values this audience may see (hidden = missing)
members = data.load_members().set_index("member")
ids = run.member_labels(matrix.index)  # pseudonyms for a public audience
place = run.place
print(f"{len(matrix)} Members of {place} reported in {cycle}; {int(matrix.notna().sum().sum())} values, "
      f"{int(visible.notna().sum().sum())} visible to audience '{audience}'")

# %% [markdown]
# ## Coverage by KPI

# %%
#| label: fig-coverage-kpi
#| fig-cap: "Share of the {matrix.shape[0]} Members of {place} reporting each KPI in {cycle}, coloured by dimension; the dashed line marks 50%."
cov_kpi = quality.coverage_by_kpi(matrix)
ax = pq.plot_coverage_kpi(cov_kpi)
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
report.save_table(cov_kpi, "tbl-coverage",
                  f"Coverage by KPI, {place} {cycle}: Members reporting (n) out of all participating "
                  "(n_members) and their share (coverage).", out_dir, audience=audience)
cov_kpi.sort_values("coverage").head(10)

# %% [markdown]
# ## Coverage by Member

# %%
#| label: fig-coverage-member
#| fig-cap: "Share of the {matrix.shape[1]} KPIs each Member of {place} reported in {cycle}{run.pseudonym_note}."
cov_member = quality.coverage_by_member(matrix).assign(member=lambda f: f["member"].map(ids))
ax = pq.plot_coverage_member(cov_member)
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## Missingness patterns

# %%
#| label: fig-missingness
#| fig-cap: "Reported (blue) and skipped (orange) KPIs by Member, {place} {cycle}; Members sorted by the number of KPIs skipped."
ax = pq.plot_missingness(matrix.rename(index=ids))
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %%
miss_groups = disclosure.suppress_small_groups(
    quality.missingness_by_group(matrix, members["income_group"]),
    members["income_group"].reindex(matrix.index), column="missing_share_{group}", min_n=view.min_n)
report.save_table(miss_groups[miss_groups["n_missing"] > 0], "tbl-missingness-groups",
                  "Is skipping a KPI independent of the Member's income group? Pearson chi-square "
                  "test per KPI (KPIs with at least one skip); missing_share_* is the share skipped in "
                  "each income group.", out_dir, audience=audience)
miss_groups.sort_values("p_value").head(10)

# %%
fw = load_framework()
gaps = disclosure.suppress_by_count(  # a group of fewer than min_n Members shows no share
    findings.group_gaps(matrix, members[["sids", "landlocked", "ldc", "income_group"]],
                        {k.code: k.parent for k in fw.kpis}),
    {"missing_in": "n_group", "missing_out": "n_other"}, min_n=view.min_n)
report.save_table(gaps, "tbl-missing-by-group",
                  f"Share of each expected outcome's values missing inside and outside each group of Members "
                  f"({place}, {cycle}): small island developing states, landlocked, least developed, income group.",
                  out_dir, audience=audience)
gaps.sort_values("missing_in", ascending=False).head(5)

# %% [markdown]
# ## Distributions

# %%
#| label: fig-distributions
#| fig-cap: "Distribution of each KPI's reported values in {place} {cycle}, scaled to the KPI's plausible range (values visible to audience '{audience}' only)."
ax = pq.plot_distributions(quality.scaled_long(visible))
report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

# %% [markdown]
# ## Flagged values

# %%
outliers = quality.flag_outliers(visible).assign(member=lambda f: f["member"].map(ids))
report.save_table(outliers, "tbl-outliers",
                  "Values flagged for checking: robust z-score above 3.5 in absolute value (Iglewicz "
                  "and Hoaglin) or outside the KPI's plausible bounds; kpi_fails_skew_kurtosis marks KPIs "
                  "that fail the skewness-kurtosis rule (|skew| > 2 and kurtosis > 3.5).", out_dir,
                  audience=audience)
outliers.head(15)
