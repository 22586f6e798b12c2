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
session = "demo"  # a session registered with `pmm workshop register` sets region, cycle and groups
region = "AMS"    # used when the session is not registered: ALL or a WCO region
cycle = 2024
audience = "wco"  # KPI values this audience may not see are left out; public shows pseudonyms
out_dir = ""      # where sessions are kept; empty: $PMM_WORKSHOP_DIR, else outputs/workshop
join = ""         # a group's join code or name, to open it at once

# %% [markdown]
# # PMM workshop: how would your group weight the PMM?
#
# Join your group, then either share **100 points** across the four dimensions (type the points, or move a slider: it rebalances the unlocked others) or compare the dimensions **pair by pair** (AHP, on the verbal scale, with the consistency explained as you go). Optionally weight the KPIs within a dimension. The ranking, the largest moves against the framework weights and the correlation with a trade-cost outcome update at once. Press **Submit** when your group agrees; every submission is kept. In a room, the same app is served to every group by one process: `pmm workshop serve --session S`.

# %%
from pmm_lib.errors import InputError
from pmm_lib.workshop.live import load_live_index
from pmm_lib.workshop.session import load_session, simulated_data
from pmm_lib.workshop.widgets import WeightingApp

try:
    cfg = load_session(session, out_dir or None)
    region, cycle, audience = cfg.region, cfg.cycle, cfg.audience
except InputError:
    cfg = None
live, outcomes = load_live_index(region, cycle, audience=audience)
app = WeightingApp(live, session=cfg or session, outcomes=outcomes, root=out_dir or None, join=join or None,
                   simulated=simulated_data())
app
