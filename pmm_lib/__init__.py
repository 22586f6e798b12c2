"""PMM Workbench: methodology tools for the WCO Performance Measurement Mechanism.

The curated public API (imported lazily: ``import pmm_lib`` loads no numerical library):

* build an index: :func:`build`, :class:`Spec`, :class:`IndexResult`, :class:`Pipeline`,
  :func:`build_pmm`, :func:`compile_hierarchy`, :func:`rank_desc`;
* inputs: :func:`load_framework`, :func:`load_coinr`;
* uncertainty: :class:`UncertaintyProblem`, :func:`standard_problem`,
  :func:`uncertainty_analysis`, :func:`sensitivity_analysis`;
* errors: :class:`PmmError`, :class:`InputError`, :class:`SpecError`, :class:`RunError`.

Everything else lives in its subpackage (``pmm_lib.core``, ``pmm_lib.analysis``, ...), whose
docstrings say what it owns and what it may import.

>>> import pmm_lib
>>> pmm_lib.Spec().aggregate[0].method
'arithmetic'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_API: dict[str, str] = {
    "build": "pmm_lib.core.build",
    "build_pmm": "pmm_lib.core.build",
    "IndexResult": "pmm_lib.core.build",
    "Pipeline": "pmm_lib.core.build",
    "Spec": "pmm_lib.core.spec",
    "compile_hierarchy": "pmm_lib.core.hierarchy",
    "rank_desc": "pmm_lib.core.rank",
    "load_framework": "pmm_lib.inputs.framework",
    "load_coinr": "pmm_lib.inputs.coinr",
    "UncertaintyProblem": "pmm_lib.uncertainty.problem",
    "standard_problem": "pmm_lib.uncertainty.problem",
    "uncertainty_analysis": "pmm_lib.uncertainty.summaries",
    "sensitivity_analysis": "pmm_lib.uncertainty.sobol",
    "PmmError": "pmm_lib.errors",
    "InputError": "pmm_lib.errors",
    "SpecError": "pmm_lib.errors",
    "RunError": "pmm_lib.errors",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'pmm_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
