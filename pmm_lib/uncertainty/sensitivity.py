"""Uncertainty and sensitivity analysis in one namespace (the public names of the subpackage).

``from pmm_lib.uncertainty import sensitivity as sa`` keeps working: the code lives in

* :mod:`pmm_lib.uncertainty.problem` - the typed uncertain assumptions (:class:`UncertaintyProblem`);
* :mod:`pmm_lib.uncertainty.design` - factors, Monte Carlo and Saltelli designs, the prepared problem;
* :mod:`pmm_lib.uncertainty.engine` - the replication engine (:func:`evaluate`), which calls the
  method core (:class:`pmm_lib.core.build.Pipeline`, :func:`pmm_lib.core.aggregate.aggregate_tree`);
* :mod:`pmm_lib.uncertainty.summaries` - rank intervals and :func:`uncertainty_analysis`;
* :mod:`pmm_lib.uncertainty.sobol` - Sobol' indices and :func:`sensitivity_analysis`.

References
----------
Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and sensitivity analysis
techniques as tools for the quality assessment of composite indicators. *Journal of the Royal
Statistical Society A*, 168(2), 307-323. doi:10.1111/j.1467-985X.2005.00350.x
"""

from __future__ import annotations

from pmm_lib.core.rank import rank_desc
from pmm_lib.uncertainty.design import (
    DESIGN_METHODS,
    DesignMethod,
    Factor,
    Prepared,
    SampleDesign,
    build_replication,
    prepare,
    replication_spec,
    sample_design,
    sobol_design,
)
from pmm_lib.uncertainty.engine import Replications, evaluate
from pmm_lib.uncertainty.problem import (
    AGGREGATIONS,
    FACTOR_ORDER,
    AggregationName,
    UncertaintyProblem,
    load_weight_sets,
    pmm_inputs,
    standard_problem,
    winmax_alternatives,
)
from pmm_lib.uncertainty.sobol import (
    SOBOL_OUTPUTS,
    SensitivityResult,
    SobolOutput,
    convergence_check,
    sensitivity_analysis,
    sobol_indices,
)
from pmm_lib.uncertainty.summaries import UncertaintyResult, rank_intervals, uncertainty_analysis

__all__ = [
    "AGGREGATIONS",
    "DESIGN_METHODS",
    "FACTOR_ORDER",
    "SOBOL_OUTPUTS",
    "AggregationName",
    "DesignMethod",
    "Factor",
    "Prepared",
    "Replications",
    "SampleDesign",
    "SensitivityResult",
    "SobolOutput",
    "UncertaintyProblem",
    "UncertaintyResult",
    "build_replication",
    "convergence_check",
    "evaluate",
    "load_weight_sets",
    "pmm_inputs",
    "prepare",
    "rank_desc",
    "rank_intervals",
    "replication_spec",
    "sample_design",
    "sensitivity_analysis",
    "sobol_design",
    "sobol_indices",
    "standard_problem",
    "uncertainty_analysis",
    "winmax_alternatives",
]

#: the former private name of :func:`prepare` (kept for the benchmarks of earlier releases)
_prepare = prepare
