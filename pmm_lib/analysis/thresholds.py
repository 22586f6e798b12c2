"""The validity scorecard's documented thresholds, apart from the statistics that use them.

:mod:`pmm_lib.analysis.validity` computes the scorecard (and imports SciPy); the findings and
the paper only need the thresholds to explain a verdict, so they live here, importable without
the statistical stack (the runner's process renders the paper and never loads SciPy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmm_lib.errors import InputError, SpecError
from pmm_lib.settings import numbers_from_dict

__all__ = ["ScorecardThresholds"]


@dataclass(frozen=True)
class ScorecardThresholds:
    """Documented thresholds of the validity scorecard; override any of them from a spec/YAML dict.

    A KPI's verdict is the most severe verdict any rule gives it (drop > review > keep).
    Correlations are computed on oriented (higher = better) z-scores of within-KPI ranks
    (Spearman, the default of :func:`scorecard`) or of the values (Pearson), pairwise complete.

    Attributes
    ----------
    coverage_drop, coverage_review : float
        Share of units reporting the KPI below which it is dropped (0.4: most values would have
        to be imputed) or reviewed (0.6: more than two Members in five missing, imputation
        weighs heavily; optional KPIs that a whole group of Members never reports sit near here).
    item_rest_drop, item_rest_review : float
        Item-rest correlation within its dimension below which the KPI is dropped (0.0: it runs
        against its dimension after orientation - a mis-direction or a different construct)
        or reviewed (0.3, Nunnally & Bernstein 1994's usual floor for a discriminating item).
    index_drop, index_review : float
        Correlation with the rest of the index (mean z-score of all other KPIs) below which the
        KPI is dropped (0.0) or reviewed (0.2).
    alpha_gain_review : float
        Review when deleting the KPI raises its dimension's alpha by more than this (0.02).
    collinear_review : float
        Review both KPIs of a pair with ``|r|`` above this (0.9): they double-count one signal.
    parent_review : float or None
        Review when the correlation with the parent expected-outcome aggregate (including the KPI)
        is below this (0.3); ``None`` switches the rule off.
    outcome_review : float or None
        Review when the correlation with the external outcome (oriented so that higher = better)
        is below this; ``None`` (default) reports the outcome correlation without using it.
    min_n : int
        Review when fewer than this many units report the KPI (10): the evidence is too thin.
    """

    coverage_drop: float = 0.4
    coverage_review: float = 0.6
    item_rest_drop: float = 0.0
    item_rest_review: float = 0.3
    index_drop: float = 0.0
    index_review: float = 0.2
    alpha_gain_review: float = 0.02
    collinear_review: float = 0.9
    parent_review: float | None = 0.3
    outcome_review: float | None = None
    min_n: int = 10

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> ScorecardThresholds:
        """Build from a mapping (e.g. a spec's ``scorecard:`` section); unknown keys raise SpecError."""
        return numbers_from_dict(cls, values, "scorecard thresholds")

    @classmethod
    def from_yaml(cls, path: str | Path) -> ScorecardThresholds:
        """Read thresholds from a YAML file: either the mapping itself or its ``scorecard:`` section
        (so a scenario/spec file can carry them); errors name the file."""
        import yaml

        from pmm_lib.io import load_yaml

        path = Path(path)
        try:
            raw = load_yaml(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise InputError("scorecard thresholds file not found", file=path) from None
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {exc}", file=path) from None
        if not isinstance(raw, dict):
            raise InputError("expected a mapping of threshold names to numbers", file=path)
        section = raw["scorecard"] if "scorecard" in raw else raw
        if not isinstance(section, dict):
            raise InputError("the 'scorecard' section must be a mapping", file=path)
        try:
            return cls.from_dict(section)
        except SpecError as exc:
            raise SpecError(f"{path}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for writing beside outputs)."""
        return dataclasses.asdict(self)
