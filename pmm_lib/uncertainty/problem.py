"""Uncertain assumptions as typed values: :class:`UncertaintyProblem` and its constructors.

This module owns the description of what may vary in an index (imputation, outlier treatment,
normalisation and aggregation alternatives, weight noise, alternative weight sets, the
exclusion of single indicators), checked when it is built, never as string paths evaluated
later; the workbench's standard problem (COINr's ASEM set-up, adapted); and the loaders of
the PMM inputs and of alternative weight sets (e.g. workshop submissions).

May import: :mod:`pmm_lib.inputs`, :mod:`pmm_lib.core` and the top-level helpers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.core.build import pmm_inputs
from pmm_lib.core.spec import ImputeSpec, NormaliseSpec, Spec, TreatSpec
from pmm_lib.errors import InputError, SpecError
from pmm_lib.vocab import ENGINE_AGGREGATIONS, EngineAggregation, check_choice

__all__ = [
    "AGGREGATIONS",
    "FACTOR_ORDER",
    "AggregationName",
    "UncertaintyProblem",
    "load_weight_sets",
    "pmm_inputs",
    "standard_problem",
    "winmax_alternatives",
]

#: aggregation methods the vectorised engine evaluates (the weighted power means)
AggregationName = EngineAggregation
AGGREGATIONS: tuple[str, ...] = ENGINE_AGGREGATIONS
#: the order in which factors appear in a design (only those that vary are used)
FACTOR_ORDER: tuple[str, ...] = ("impute", "treat", "normalise", "exclude", "aggregate",
                                 "weight_set", "weights")


@dataclass(frozen=True, eq=False)
class UncertaintyProblem:
    """The uncertain assumptions of an index, as typed values (checked when built).

    Each field lists the alternatives of one assumption; an empty tuple means "as in ``base``".
    A field with two or more alternatives (or a non-zero noise, or ``exclude_kpis``) becomes one
    factor of the uncertainty and sensitivity analysis; its alternatives are equally likely.

    Parameters
    ----------
    base : Spec
        The nominal specification. Its weights give the nominal weights of every node; its
        aggregation ``min_coverage`` is kept in every replication.
    impute : tuple of ImputeSpec
        Imputation alternatives.
    treat : tuple of TreatSpec
        Outlier-treatment alternatives (see :func:`winmax_alternatives` for "winsorise at most
        1..5 points").
    normalise : tuple of NormaliseSpec
        Normalisation alternatives. With geometric or harmonic aggregation they must give positive
        values (e.g. min-max onto [1, 100], z-scores with mean 10 and sd 2).
    aggregate : tuple of {"arithmetic", "geometric", "harmonic"}
        Aggregation alternatives, applied at every aggregate level.
    weight_noise : mapping int -> float
        Level -> noise factor ``f`` in [0, 1): every nominal weight of a node at that level is
        multiplied by an independent draw from U(1 - f, 1 + f). Level 1 are the indicators,
        level 2 their parents, and so on. One factor (``"weights"``) in the design.
    weight_sets : tuple of Series
        Alternative nominal weights (e.g. workshop submissions), each a Series code -> weight
        naming all or none of each parent's children (re-normalised within the parent);
        parents it does not cover keep the base weights. One factor (``"weight_set"``).
    exclude_kpis : bool
        Add a factor whose alternatives are "exclude nothing" and "exclude indicator j" for
        every indicator that has at least one sibling.

    Raises
    ------
    SpecError
        Naming the field: wrong types, unknown aggregation names, noise outside [0, 1),
        non-positive or non-finite weights, empty alternatives.
    """

    base: Spec
    impute: tuple[Any, ...] = ()
    treat: tuple[Any, ...] = ()
    normalise: tuple[Any, ...] = ()
    aggregate: tuple[str, ...] = ()
    weight_noise: Mapping[int, float] = field(default_factory=dict)
    weight_sets: tuple[pd.Series, ...] = ()
    exclude_kpis: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.base, Spec):
            raise SpecError(f"base: expected a pmm_lib.core.spec.Spec, got {type(self.base).__name__}")
        kinds = {"impute": ImputeSpec, "treat": TreatSpec, "normalise": NormaliseSpec}
        for name, kind in kinds.items():
            value = getattr(self, name)
            if isinstance(value, kind):
                value = (value,)
            if not isinstance(value, tuple | list):
                raise SpecError(f"{name}: expected a tuple of {kind.__name__}, got {type(value).__name__}")
            for i, alt in enumerate(value):
                if not isinstance(alt, kind):
                    raise SpecError(f"{name}[{i}]: expected a {kind.__name__}, got {alt!r}")
            if len(set(value)) != len(value):
                raise SpecError(f"{name}: duplicate alternatives")
            object.__setattr__(self, name, tuple(value))
        agg = self.aggregate
        if isinstance(agg, str):
            agg = (agg,)
        if not isinstance(agg, tuple | list):
            raise SpecError(f"aggregate: expected a tuple of method names, got {type(agg).__name__}")
        for i, a in enumerate(agg):
            check_choice(a, AGGREGATIONS, f"aggregate[{i}]")
        if len(set(agg)) != len(agg):
            raise SpecError("aggregate: duplicate alternatives")
        object.__setattr__(self, "aggregate", tuple(agg))
        if not agg:
            for i, a in enumerate(self.base.aggregate):
                check_choice(a.method, AGGREGATIONS, f"base.aggregate[{i}].method")
        if not isinstance(self.weight_noise, Mapping):
            raise SpecError(f"weight_noise: expected a mapping level -> noise, got {self.weight_noise!r}")
        noise: dict[int, float] = {}
        for level, f in self.weight_noise.items():
            if isinstance(level, bool) or not isinstance(level, int | np.integer) or level < 1:
                raise SpecError(f"weight_noise: level must be an integer >= 1, got {level!r}")
            try:
                fv = float(f)
            except (TypeError, ValueError):
                raise SpecError(f"weight_noise[{level}]: noise must be a number, got {f!r}") from None
            if not 0.0 <= fv < 1.0:
                raise SpecError(f"weight_noise[{level}]: noise must be in [0, 1), got {f!r}")
            if fv > 0:
                noise[int(level)] = fv
        object.__setattr__(self, "weight_noise", MappingProxyType(dict(sorted(noise.items()))))
        sets = self.weight_sets
        if isinstance(sets, pd.Series | Mapping):
            sets = (sets,)
        out = []
        for i, ws in enumerate(sets):
            s = pd.Series(ws, dtype=float) if not isinstance(ws, pd.Series) else ws.astype(float)
            if s.empty:
                raise SpecError(f"weight_sets[{i}]: empty weight set")
            bad = s[~np.isfinite(s.to_numpy()) | (s.to_numpy() < 0)]
            if len(bad):
                raise SpecError(f"weight_sets[{i}]: weights must be finite and >= 0; "
                                f"bad: {', '.join(f'{k}={v}' for k, v in bad.items())}")
            s.index = s.index.map(str)
            out.append(s)
        object.__setattr__(self, "weight_sets", tuple(out))
        if not isinstance(self.exclude_kpis, bool):
            raise SpecError(f"exclude_kpis: expected True or False, got {self.exclude_kpis!r}")

    @property
    def varied(self) -> tuple[str, ...]:
        """The names of the assumptions that vary (the factors of a design), in design order."""
        out = []
        for name in FACTOR_ORDER:
            if name in ("impute", "treat", "normalise", "aggregate", "weight_set"):
                attr = "weight_sets" if name == "weight_set" else name
                if len(getattr(self, attr)) > 1:
                    out.append(name)
            elif name == "exclude" and self.exclude_kpis:
                out.append(name)
            elif name == "weights" and self.weight_noise:
                out.append(name)
        return tuple(out)


def winmax_alternatives(treat: Any, winmax: Iterable[int]) -> tuple[Any, ...]:
    """Treatment alternatives that differ only in the winsorisation limit ``winmax``.

    Examples
    --------
    >>> from pmm_lib.core.spec import TreatSpec
    >>> [t.winmax for t in winmax_alternatives(TreatSpec(method="winsorise"), range(1, 4))]
    [1, 2, 3]
    """
    values = list(winmax)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise SpecError(f"treat.winmax: expected non-negative integers, got {v!r}")
    return tuple(dataclasses.replace(treat, winmax=int(v)) for v in values)


def standard_problem(base: Spec, *, winmax: Iterable[int] = range(1, 6),
                     weight_noise: Mapping[int, float] | None = None,
                     weight_sets: Sequence[pd.Series] = (), exclude_kpis: bool = False) -> UncertaintyProblem:
    """The workbench's standard set of uncertain assumptions (COINr's ASEM example, adapted).

    * treatment: winsorise with at most ``winmax`` points (default 1..5), rest of ``base.treat``;
    * normalisation: min-max onto [1, 100] or z-scores with mean 50 and sd 10 (on a comparable
      scale, and positive unless a value lies 5 sd below the mean, so the geometric mean is
      defined; COINr's example uses mean 10 and sd 2);
    * aggregation: arithmetic or geometric mean at every level;
    * weights: each nominal weight of levels 2 and 3 times U(0.75, 1.25) (``weight_noise``),
      and optionally alternative weight sets and the exclusion of single indicators.

    Examples
    --------
    >>> from pmm_lib.core.spec import Spec
    >>> standard_problem(Spec.default()).varied
    ('treat', 'normalise', 'aggregate', 'weights')
    """
    treat = base.treat if base.treat.method == "winsorise" else dataclasses.replace(base.treat, method="winsorise")
    return UncertaintyProblem(
        base, treat=winmax_alternatives(treat, winmax),
        normalise=(NormaliseSpec("minmax", low=1.0, high=100.0), NormaliseSpec("zscore", mean=50.0, sd=10.0)),
        aggregate=("arithmetic", "geometric"),
        weight_noise=dict(weight_noise) if weight_noise is not None else {2: 0.25, 3: 0.25},
        weight_sets=tuple(weight_sets), exclude_kpis=exclude_kpis)


def load_weight_sets(path: str | Path) -> tuple[pd.Series, ...]:
    """Read alternative weight sets (e.g. workshop submissions) from a CSV or YAML file.

    CSV: one row per (submission, code) with columns ``submission, code, weight``, or one row
    per submission with one column per code (first column = submission id). YAML: the
    workshop export (:func:`pmm_lib.workshop.exercise.export_weight_sets`), a mapping with a list
    ``weight_sets`` of ``{name, values: {code: weight}}``.

    Raises
    ------
    InputError
        Naming the file, row and column of a missing column or a non-numeric weight.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _weight_sets_yaml(path)
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise InputError("weight-set file not found", file=path) from None
    if frame.empty:
        raise InputError("no weight sets", file=path, expected="at least one row")
    if {"code", "weight"} <= set(frame.columns):
        sub_col = "submission" if "submission" in frame.columns else None
        w = pd.to_numeric(frame["weight"], errors="coerce")
        if w.isna().any():
            row = int(np.flatnonzero(w.isna().to_numpy())[0]) + 2
            raise InputError("weight is not a number", file=path, row=row, column="weight",
                             expected="a non-negative number")
        frame = frame.assign(weight=w)
        groups = frame.groupby(sub_col, sort=False) if sub_col else [(0, frame)]
        return tuple(pd.Series(g["weight"].to_numpy(), index=g["code"].astype(str).to_numpy(),
                               name=str(k)) for k, g in groups)
    sets = []
    for i, row in frame.iterrows():
        vals = pd.to_numeric(row.iloc[1:], errors="coerce")
        if vals.isna().any():
            col = str(vals.index[np.flatnonzero(vals.isna().to_numpy())[0]])
            raise InputError("weight is not a number", file=path, row=int(i) + 2, column=col,
                             expected="a non-negative number")
        sets.append(pd.Series(vals.to_numpy(dtype=float), index=vals.index.map(str), name=str(row.iloc[0])))
    return tuple(sets)


def _weight_sets_yaml(path: Path) -> tuple[pd.Series, ...]:
    import yaml

    from pmm_lib.io import load_yaml

    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("weight-set file not found", file=path) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=path) from None
    sets = raw.get("weight_sets") if isinstance(raw, dict) else None
    if not isinstance(sets, list) or not sets:
        raise InputError("no weight sets", file=path, expected="a non-empty list 'weight_sets'")
    out = []
    for i, item in enumerate(sets):
        values = item.get("values") if isinstance(item, dict) else None
        if not isinstance(values, dict) or not values:
            raise InputError(f"weight_sets[{i}] has no 'values' mapping", file=path,
                             expected="{name: ..., values: {code: weight}}")
        try:
            series = pd.Series({str(k): float(v) for k, v in values.items()}, name=str(item.get("name", i)))
        except (TypeError, ValueError):
            raise InputError(f"weight_sets[{i}]: a weight is not a number", file=path,
                             expected="numbers") from None
        out.append(series)
    return tuple(out)
