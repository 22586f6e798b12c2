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
session = "demo"
out_dir = ""          # where to write tables/, figures/ and the exports; empty: no files
submissions_dir = ""  # where sessions are kept; empty: $PMM_WORKSHOP_DIR, else outputs/workshop
region = "AMS"         # region and cycle of the live dashboard when the session is not registered
cycle = 2024
statistic = "mean"    # consensus exported as the scenario: mean or median
demo_groups = 6       # if the session has no submissions yet, show this many simulated groups (0: never)
seed = 20240601

# %% [markdown]
# # PMM workshop: where do the groups agree on the weights?
#
# Gathers the latest submission of every group in a session and answers: what weights would the groups settle on (consensus mean and median, re-normalised to 100 points), how far apart are they (sd, IQR, range) and do they rank the dimensions alike (Kendall's W with its chi-square test, tie-corrected)? The consensus is exported as a scenario for `pmm run --scenario`, and every group's weights as alternative weight sets for the uncertainty analysis.

# %%
from pathlib import Path
from pmm_lib.errors import InputError
from pmm_lib.workshop import exercise as ws
from pmm_lib.workshop.live import load_live_index
from pmm_lib.workshop.session import load_session
from pmm_lib.reporting.report import save_figure, save_table

try:  # a registered session fixes the region, cycle and audience (the KPIs the room was offered)
    cfg = load_session(session, submissions_dir or None)
    region, cycle, audience = cfg.region, cfg.cycle, cfg.audience
except InputError:
    cfg, audience = None, "wco"
live, _ = load_live_index(region, cycle, audience=audience)
room = live.framework  # the room's view: a public or wco room offers fewer KPIs than the full framework
subs = ws.load_submissions(session, root=submissions_dir or None, framework=room)
simulated = subs.empty and demo_groups > 0
if simulated:
    subs = ws.simulate_submissions(demo_groups, seed=seed, session=session, framework=room)
print(f"session {session!r}: {subs['group'].nunique()} groups" + (" (SIMULATED: no submissions yet)" if simulated else ""))

# %% [markdown]
# ## Each group's weights (points of 100, latest submission)

# %%
groups = ws.submission_overview(subs)
save_table(groups, "tbl-workshop-groups", "Each group's latest submission: time, method, KPI blocks and dimension points.", out_dir)
groups

# %% [markdown]
# ## Consensus and dispersion

# %%
cons = ws.consensus(subs)
save_table(cons, "tbl-workshop-consensus", "Consensus weights (mean and median re-normalised to 100) and dispersion per block and code.", out_dir)
cons

# %%
#| label: fig-workshop-consensus
#| fig-cap: "Each group's dimension points (dots) with the consensus mean (bars) and median (diamonds)."
ax = ws.plot_consensus(subs)
save_figure(ax.figure, out_dir=out_dir)

# %% [markdown]
# ## Agreement: Kendall's W (tie-corrected) per block

# %%
agree = ws.agreement(subs)
save_table(agree, "tbl-workshop-agreement", "Kendall's W of the groups' weights with the chi-square test (tie-corrected).", out_dir)
agree

# %% [markdown]
# ## Exports: consensus scenario and the groups' weight sets

# %%
if out_dir:
    scenario = ws.export_scenario(cons, Path(out_dir) / f"workshop_{statistic}.yaml", statistic=statistic, session=session, framework=room)
    sets = ws.export_weight_sets(subs, Path(out_dir) / "workshop_weight_sets.yaml", session=session, framework=room)
    print(scenario, sets, sep="\n")
ws.scenario_dict(cons, statistic=statistic, framework=room)

# %% [markdown]
# ## The live dashboard
#
# Who has submitted, each group's weights, the consensus with its spread (AHP groups combined by the geometric mean of their judgements), flags, and the consensus's effect on the ranking. It redraws when a group submits (`dash.start_polling()`); in the room it is served at `/dashboard?key=…`, the link `pmm workshop register` prints (the key keeps the groups' weights from anyone else in the room).

# %%
from pmm_lib.workshop.dashboard import FacilitatorDashboard

dash = FacilitatorDashboard(live, session=cfg or session, root=submissions_dir or None)
dash
