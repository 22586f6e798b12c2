"""All plot functions in one namespace: ``from pmm_lib import plots; plots.plot_rank_intervals(...)``.

Each analysis area keeps its plots beside its own vocabulary (``plots_quality``,
``plots_validity``, ``plots_weighting``, ``plots_sensitivity``, the workshop's consensus
charts in :mod:`pmm_lib.workshop.exercise`); this module gathers them so notebooks, papers and tests
share one import. Every function follows ``plot_x(data, *, ..., ax=None) -> Axes``.
"""

from __future__ import annotations

from pmm_lib.plots.quality import (
    plot_coverage_kpi,
    plot_coverage_member,
    plot_distributions,
    plot_missingness,
)
from pmm_lib.plots.sensitivity import plot_rank_intervals, plot_score_distributions, plot_sobol
from pmm_lib.plots.validity import (
    plot_alpha,
    plot_coefficients,
    plot_correlation_heatmap,
    plot_outcome_scatter,
    plot_scree,
)
from pmm_lib.plots.weighting import plot_effective_weights, plot_rank_shift, plot_scheme_weights
from pmm_lib.workshop.exercise import plot_consensus

__all__ = [
    "plot_alpha",
    "plot_coefficients",
    "plot_consensus",
    "plot_correlation_heatmap",
    "plot_coverage_kpi",
    "plot_coverage_member",
    "plot_distributions",
    "plot_effective_weights",
    "plot_missingness",
    "plot_outcome_scatter",
    "plot_rank_intervals",
    "plot_rank_shift",
    "plot_scheme_weights",
    "plot_score_distributions",
    "plot_scree",
    "plot_sobol",
]
