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
session = ""      # empty: $PMM_WORKSHOP_SESSION (set by `pmm workshop serve`), else "demo"
region = ""       # empty: $PMM_WORKSHOP_REGION, else "ALL" (every participating Member)
cycle = 2024
audience = "wco"  # KPI values this audience may not see are left out of the live index
out_dir = ""      # where sessions are kept; empty: $PMM_WORKSHOP_DIR, else outputs/workshop

# %% [markdown]
# # PMM workshop: how would your group weight the PMM?
#
# Name your group, then either distribute **100 points** across the four dimensions (moving one slider rebalances the others) or compare the dimensions **pair by pair** (AHP, with the consistency ratio shown as you go). Optionally distribute 100 points across the KPIs of one dimension. The ranking, the rank shifts against the default weights and the correlation with a trade-cost outcome update at once. Press **Submit** when your group agrees; you can submit again, every submission is kept.

# %%
from pmm_lib.workshop.widgets import WeightingApp
from pmm_lib.workshop.exercise import load_live_index

live, outcomes = load_live_index(region, cycle, audience=audience)
app = WeightingApp(live, session=session, outcomes=outcomes, root=out_dir or None)
app
