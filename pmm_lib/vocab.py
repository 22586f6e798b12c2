"""The project's vocabularies, in one place: method names, audiences, regions, the default seed.

Every name a user can type (in a spec YAML, a notebook parameter or on the command line) is
declared here once (except the normalisation methods, whose names are the registry of
:mod:`pmm_lib.core.normalisers`, so that adding one is one function in one module) as a ``Literal`` type with its tuple of allowed values, and checked with
:func:`check_choice`, which raises an error listing the allowed values. Modules import these
names; none keeps its own copy. This module imports nothing from the package but
:mod:`pmm_lib.errors`, so every layer may use it.

>>> check_choice("geometric", AGGREGATE_METHODS, "aggregate.method")
'geometric'
>>> "MENA" in REGIONS
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

from pmm_lib.errors import SpecError

__all__ = [
    "AGGREGATE_METHODS",
    "AUDIENCES",
    "DATA_FORMATS",
    "DEFAULT_SEED",
    "ENGINE_AGGREGATIONS",
    "IMPUTE_METHODS",
    "REGIONS",
    "TREAT_FALLBACKS",
    "TREAT_METHODS",
    "WEIGHT_METHODS",
    "AggregateMethod",
    "Audience",
    "DataFormat",
    "EngineAggregation",
    "ImputeMethod",
    "Region",
    "TreatFallback",
    "TreatMethod",
    "WeightMethod",
    "check_choice",
]

#: The seed of the bundled synthetic dataset and the default of every stochastic command.
DEFAULT_SEED = 20240601

DataFormat = Literal["pmm", "coinr"]
ImputeMethod = Literal["none", "mean", "median", "group_mean", "group_median", "iterative", "panel"]
TreatMethod = Literal["none", "winsorise", "boxcox"]
TreatFallback = Literal["log", "none"]
WeightMethod = Literal["framework", "equal", "explicit", "file", "budget", "ahp", "pca",
                       "balanced", "bod"]
AggregateMethod = Literal["arithmetic", "geometric", "harmonic", "generalised", "copeland",
                          "m1", "m2", "bod"]
#: Aggregations that are weighted power means, which the batch kernel and the Monte Carlo engine evaluate.
EngineAggregation = Literal["arithmetic", "geometric", "harmonic"]
#: Who a report is for (what they may see: ``public`` values, + ``wco``, + ``restricted``).
Audience = Literal["public", "wco", "internal"]
#: WCO regions.
Region = Literal["AMS", "AP", "ESA", "EUR", "MENA", "WCA"]

DATA_FORMATS: tuple[str, ...] = get_args(DataFormat)
IMPUTE_METHODS: tuple[str, ...] = get_args(ImputeMethod)
TREAT_METHODS: tuple[str, ...] = get_args(TreatMethod)
TREAT_FALLBACKS: tuple[str, ...] = get_args(TreatFallback)
WEIGHT_METHODS: tuple[str, ...] = get_args(WeightMethod)
AGGREGATE_METHODS: tuple[str, ...] = get_args(AggregateMethod)
ENGINE_AGGREGATIONS: tuple[str, ...] = get_args(EngineAggregation)
AUDIENCES: tuple[str, ...] = get_args(Audience)
REGIONS: tuple[str, ...] = get_args(Region)


def check_choice(value: Any, allowed: Sequence[str], key: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`SpecError` listing them.

    Parameters
    ----------
    value
        The name given by the user.
    allowed
        The accepted names (one of this module's tuples).
    key
        Where the name came from (``"normalise.method"``, ``"--audience"``), quoted in the error.

    Examples
    --------
    >>> check_choice("harmonic", AGGREGATE_METHODS, "aggregate.method")
    'harmonic'
    >>> check_choice("mean", ("arithmetic",), "aggregate.method")
    Traceback (most recent call last):
    ...
    pmm_lib.errors.SpecError: aggregate.method: unknown value 'mean'; allowed: arithmetic
    """
    if not isinstance(value, str) or value not in allowed:
        raise SpecError(f"{key}: unknown value {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value
