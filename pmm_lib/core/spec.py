"""The method specification: one immutable, typed description of how an index is built.

This module owns :class:`Spec` and its parts (data source, denomination, imputation,
screening, outlier treatment, normalisation, weights, aggregation per level), the YAML /
dict boundary where option *names* are checked, and the defaults.

A variant is ``dataclasses.replace(spec, treat=TreatSpec(method="none"))``. Every key of the
YAML form is optional; unknown keys or methods raise :class:`pmm_lib.errors.SpecError` naming
the key path (``treat.method``, ``aggregate[1].p``) and the allowed values. The schema is the
one in ``docs/CONTRACTS.md`` ("Spec / scenario YAML")::

    data: {format: coinr, idata: ASEM_iData.csv, imeta: ASEM_iMeta.csv}
    denominate: true
    impute: {method: group_mean, group: EurAsia_group}
    screen: {min_coverage: 0.9}
    treat: {method: winsorise, winmax: 5, skew: 2, kurtosis: 3.5, fallback: log}
    normalise: {method: minmax, low: 0, high: 100}
    weights: {method: framework}
    aggregate: {method: arithmetic}

``Spec()`` (every key omitted) means: framework weights, arithmetic mean, min-max 0-100, no
imputation, no treatment. :meth:`Spec.default` is the recommended PMM build (see there).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pmm_lib.core.normalisers import NORMALISE_METHODS, NORMALISERS
from pmm_lib.errors import SpecError
from pmm_lib.io import load_yaml, write_text_atomic
from pmm_lib.vocab import (
    AGGREGATE_METHODS,
    DATA_FORMATS,
    IMPUTE_METHODS,
    TREAT_FALLBACKS,
    TREAT_METHODS,
    WEIGHT_METHODS,
    AggregateMethod,
    DataFormat,
    ImputeMethod,
    TreatFallback,
    TreatMethod,
    WeightMethod,
    check_choice,
)

__all__ = [
    "AGGREGATE_METHODS",
    "IMPUTE_METHODS",
    "NORMALISE_METHODS",
    "TREAT_METHODS",
    "WEIGHT_METHODS",
    "AggregateSpec",
    "DataSpec",
    "FrozenDict",
    "ImputeSpec",
    "NormaliseSpec",
    "ScreenSpec",
    "Spec",
    "TreatSpec",
    "WeightSpec",
    "check_choice",
]

# --------------------------------------------------------------------------- frozen mapping
def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


class FrozenDict(Mapping[str, Any]):
    """An immutable, hashable mapping (nested mappings and lists frozen too).

    Used for per-KPI overrides, targets, explicit weights and weighting options so that a
    :class:`Spec` stays hashable (the sensitivity engine groups identical specs).

    >>> FrozenDict({"K01": "none"}) == {"K01": "none"}
    True
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] | None = None):
        self._data: dict[str, Any] = {str(k): _freeze(v) for k, v in (data or {}).items()}
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"


def _fd(value: Mapping[str, Any] | None) -> FrozenDict:
    return value if isinstance(value, FrozenDict) else FrozenDict(value)


# --------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class DataSpec:
    """Where the data come from.

    Attributes
    ----------
    format : {"pmm", "coinr"}
        ``pmm``: the PMM observations for ``region`` and ``cycle``; ``coinr``: a COINr-format
        pair of CSV files ``idata`` and ``imeta``.
    region : str
        PMM region code or ``"ALL"``.
    cycle : int or None
        PMM cycle (year); None = the latest cycle in the observations. For ``coinr`` data
        with several ``Time`` values it selects the time point (None = the latest).
    idata, imeta : str or None
        COINr files, relative to ``base_dir`` when not absolute.
    base_dir : str or None
        Folder for relative paths; :meth:`Spec.from_yaml` sets it to the spec file's folder.
    """

    format: DataFormat = "pmm"
    region: str = "ALL"
    cycle: int | None = None
    idata: str | None = None
    imeta: str | None = None
    base_dir: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.format, DATA_FORMATS, "data.format")
        if self.cycle is not None and (isinstance(self.cycle, bool) or not isinstance(self.cycle, int)):
            raise SpecError(f"data.cycle: expected a whole year, got {self.cycle!r}")
        if self.format == "coinr" and (not self.idata or not self.imeta):
            raise SpecError("data: format 'coinr' needs both 'idata' and 'imeta' file names")

    def resolve(self, name: str | None) -> Path | None:
        """Resolve a file name against ``base_dir``."""
        if name is None:
            return None
        p = Path(name)
        return p if p.is_absolute() or self.base_dir is None else Path(self.base_dir) / p


@dataclass(frozen=True)
class ImputeSpec:
    """Imputation: ``method`` and, for ``group_mean``/``group_median``, the grouping column."""

    method: ImputeMethod = "none"
    group: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.method, IMPUTE_METHODS, "impute.method")
        if self.method in ("group_mean", "group_median") and not self.group:
            raise SpecError(f"impute.group: method {self.method!r} needs a grouping column name")


@dataclass(frozen=True)
class ScreenSpec:
    """Unit screening: drop units whose share of non-missing indicators is below ``min_coverage``."""

    min_coverage: float = 0.0

    def __post_init__(self) -> None:
        _unit_interval(self.min_coverage, "screen.min_coverage")


@dataclass(frozen=True)
class TreatSpec:
    """Outlier treatment.

    Attributes
    ----------
    method : {"none", "winsorise", "boxcox"}
    winmax : int
        Most points winsorised per indicator (COINr default 5).
    skew, kurtosis : float
        An indicator passes when ``|skew| < skew`` OR ``kurtosis < kurtosis``.
    fallback : {"log", "none"}
        What to do when winsorising ``winmax`` points does not pass.
    overrides : mapping code -> method
        Per-indicator method (``none``, ``winsorise`` or ``boxcox``).
    """

    method: TreatMethod = "none"
    winmax: int = 5
    skew: float = 2.0
    kurtosis: float = 3.5
    fallback: TreatFallback = "log"
    overrides: FrozenDict = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        check_choice(self.method, TREAT_METHODS, "treat.method")
        check_choice(self.fallback, TREAT_FALLBACKS, "treat.fallback")
        if isinstance(self.winmax, bool) or not isinstance(self.winmax, int) or self.winmax < 0:
            raise SpecError(f"treat.winmax: expected a whole number >= 0, got {self.winmax!r}")
        _positive(self.skew, "treat.skew")
        _number(self.kurtosis, "treat.kurtosis")
        object.__setattr__(self, "overrides", _fd(self.overrides))
        for code, m in self.overrides.items():
            check_choice(m, TREAT_METHODS, f"treat.overrides.{code}")


@dataclass(frozen=True)
class NormaliseSpec:
    """Normalisation: method and its parameters.

    ``low``/``high`` bound min-max, goalposts, distance and fraction methods; ``mean``/``sd``
    are the z-score's target moments; ``targets`` (code -> value) feed ``distance_to_target``
    (default: the meta table's ``target`` column, else the framework's good-side bound).
    """

    method: str = "minmax"  # one of NORMALISE_METHODS (pmm_lib.core.normalisers)
    low: float = 0.0
    high: float = 100.0
    mean: float = 0.0
    sd: float = 1.0
    targets: FrozenDict = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        check_choice(self.method, tuple(NORMALISERS), "normalise.method")
        _number(self.low, "normalise.low")
        _number(self.high, "normalise.high")
        if not self.low < self.high:
            raise SpecError(f"normalise: low ({self.low}) must be below high ({self.high})")
        _number(self.mean, "normalise.mean")
        _positive(self.sd, "normalise.sd")
        object.__setattr__(self, "targets", _fd(self.targets))
        for code, t in self.targets.items():
            _number(t, f"normalise.targets.{code}")


@dataclass(frozen=True)
class WeightSpec:
    """Weights: ``framework`` (the meta table's), ``equal``, ``explicit`` (``values``),
    ``file`` (``path``: CSV with columns code, weight) or a data-driven method of
    :mod:`pmm_lib.core.weights` with ``options`` passed through."""

    method: WeightMethod = "framework"
    values: FrozenDict = field(default_factory=FrozenDict)
    path: str | None = None
    options: FrozenDict = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        check_choice(self.method, WEIGHT_METHODS, "weights.method")
        object.__setattr__(self, "values", _fd(self.values))
        object.__setattr__(self, "options", _fd(self.options))
        for code, w in self.values.items():
            _number(w, f"weights.values.{code}")
            if w < 0:
                raise SpecError(f"weights.values.{code}: weights must be >= 0, got {w}")
        if self.method == "explicit" and not self.values:
            raise SpecError("weights.values: method 'explicit' needs {code: weight, ...}")
        if self.method == "file" and not self.path:
            raise SpecError("weights.path: method 'file' needs a CSV path (columns code, weight)")


@dataclass(frozen=True)
class AggregateSpec:
    """Aggregation at one level: method, the power ``p`` of the generalised mean, and the
    least (weighted) share of children that must be present (else the aggregate is missing)."""

    method: AggregateMethod = "arithmetic"
    p: float | None = None
    min_coverage: float = 0.0

    def __post_init__(self) -> None:
        check_choice(self.method, AGGREGATE_METHODS, "aggregate.method")
        if self.p is not None:
            _number(self.p, "aggregate.p")
        if self.method == "generalised" and self.p is None:
            raise SpecError("aggregate.p: method 'generalised' needs the power p")
        _unit_interval(self.min_coverage, "aggregate.min_coverage")


# --------------------------------------------------------------------------- the spec
_SECTIONS: dict[str, type] = {
    "data": DataSpec, "impute": ImputeSpec, "screen": ScreenSpec, "treat": TreatSpec,
    "normalise": NormaliseSpec, "weights": WeightSpec,
}
_TOP_KEYS = ("data", "denominate", "impute", "screen", "treat", "normalise", "weights", "aggregate")


@dataclass(frozen=True)
class Spec:
    """One way of building the index (immutable; hashable; YAML round trip exact).

    Attributes
    ----------
    data : DataSpec
    denominate : bool
        Divide indicators that have a denominator by it (COINr ``Denominate``).
    impute, screen, treat, normalise, weights : the stage specs
    aggregate : tuple of AggregateSpec
        One entry applies to every level; otherwise one per level from level 2 upward.

    Examples
    --------
    >>> s = Spec.from_dict({"treat": {"method": "winsorise"}, "aggregate": {"method": "geometric"}})
    >>> s.treat.winmax, s.aggregate[0].method
    (5, 'geometric')
    >>> Spec.from_yaml_text(s.to_yaml()) == s
    True
    """

    data: DataSpec = field(default_factory=DataSpec)
    denominate: bool = False
    impute: ImputeSpec = field(default_factory=ImputeSpec)
    screen: ScreenSpec = field(default_factory=ScreenSpec)
    treat: TreatSpec = field(default_factory=TreatSpec)
    normalise: NormaliseSpec = field(default_factory=NormaliseSpec)
    weights: WeightSpec = field(default_factory=WeightSpec)
    aggregate: tuple[AggregateSpec, ...] = field(default_factory=lambda: (AggregateSpec(),))

    def __post_init__(self) -> None:
        if not isinstance(self.denominate, bool):
            raise SpecError(f"denominate: expected true or false, got {self.denominate!r}")
        agg = self.aggregate
        if isinstance(agg, AggregateSpec):
            agg = (agg,)
        agg = tuple(agg)
        if not agg or not all(isinstance(a, AggregateSpec) for a in agg):
            raise SpecError("aggregate: expected one AggregateSpec or a non-empty list of them")
        object.__setattr__(self, "aggregate", agg)

    @classmethod
    def default(cls) -> Spec:
        """The recommended PMM build.

        No imputation (a missing KPI is left out and its weight re-spread over the KPIs its
        expected outcome does have, provided at least half of the weight is present),
        COINr's outlier rule (winsorise up to 5 points while |skew| >= 2 and kurtosis >= 3.5,
        else log), min-max 0-100, framework weights, weighted arithmetic means.
        """
        return cls(treat=TreatSpec(method="winsorise"),
                   aggregate=(AggregateSpec(method="arithmetic", min_coverage=0.5),))

    def aggregate_for(self, n_levels: int) -> tuple[AggregateSpec, ...]:
        """The aggregation spec of each level from 2 to ``n_levels`` (one entry per level).

        Raises
        ------
        SpecError
            When ``aggregate`` lists a number of entries other than 1 or ``n_levels - 1``.
        """
        n = n_levels - 1
        if len(self.aggregate) == 1:
            return self.aggregate * n
        if len(self.aggregate) != n:
            raise SpecError(f"aggregate: {len(self.aggregate)} entries given but the hierarchy has "
                            f"{n} aggregation levels (give one entry, or one per level from 2 up)")
        return self.aggregate

    # ---------------------------------------------------------------- dict / YAML boundary
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, *, base_dir: str | Path | None = None) -> Spec:
        """Build a Spec from plain data (parsed YAML or a notebook parameter).

        Every key is optional. A section may be given as its method name alone
        (``treat: none``). ``aggregate`` is a mapping or a list of mappings (one per level
        from level 2 up). ``base_dir`` fills ``data.base_dir`` when the data section lacks it.

        Raises
        ------
        SpecError
            Unknown keys or methods (listing the allowed ones) or bad values, naming the key path.
        """
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            raise SpecError(f"spec: expected a mapping at the top level, got {type(raw).__name__}")
        _no_unknown(raw, _TOP_KEYS, "spec")
        kwargs: dict[str, Any] = {}
        for key, klass in _SECTIONS.items():
            if key in raw:
                section = _section(raw[key], key)
                kwargs[key] = _build(klass, section, key)
        data = kwargs.get("data", DataSpec())
        if base_dir is not None and data.base_dir is None:
            data = dataclasses.replace(data, base_dir=str(base_dir))
        elif base_dir is not None and not Path(data.base_dir).is_absolute():
            data = dataclasses.replace(data, base_dir=str(Path(base_dir) / data.base_dir))
        kwargs["data"] = data
        if "denominate" in raw:
            kwargs["denominate"] = raw["denominate"]
        if "aggregate" in raw:
            agg = raw["aggregate"]
            items = agg if isinstance(agg, list | tuple) else [agg]
            if not items:
                raise SpecError("aggregate: empty list; give a mapping or one mapping per level")
            kwargs["aggregate"] = tuple(
                _build(AggregateSpec, _section(a, f"aggregate[{i}]"), f"aggregate[{i}]" if len(items) > 1 else "aggregate")
                for i, a in enumerate(items)
            )
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (every field; ``None`` fields omitted); ``from_dict`` inverts it."""
        out: dict[str, Any] = {}
        for key in _TOP_KEYS:
            value = getattr(self, key)
            if key == "denominate":
                out[key] = value
            elif key == "aggregate":
                parts = [_part_dict(a) for a in value]
                out[key] = parts[0] if len(parts) == 1 else parts
            else:
                out[key] = _part_dict(value)
        return out

    @classmethod
    def from_yaml_text(cls, text: str, *, base_dir: str | Path | None = None) -> Spec:
        """Parse YAML text (see :meth:`from_dict`)."""
        try:
            raw = load_yaml(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"spec: not valid YAML: {exc}") from None
        return cls.from_dict(raw, base_dir=base_dir)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Spec:
        """Read a spec file; relative data paths are taken relative to the file's folder."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"spec file not found: {path}") from None
        try:
            spec = cls.from_yaml_text(text, base_dir=path.resolve().parent)
        except SpecError as exc:
            raise SpecError(f"{path}: {exc}") from None
        return spec

    def to_yaml(self, path: str | Path | None = None) -> str:
        """YAML text of :meth:`to_dict`; written atomically to ``path`` when given."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        if path is not None:
            write_text_atomic(path, text)
        return text


# --------------------------------------------------------------------------- helpers
def _number(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{key}: expected a finite number, got {value!r}")


def _positive(value: Any, key: str) -> None:
    _number(value, key)
    if not value > 0:
        raise SpecError(f"{key}: expected a number > 0, got {value!r}")


def _unit_interval(value: Any, key: str) -> None:
    _number(value, key)
    if not 0.0 <= value <= 1.0:
        raise SpecError(f"{key}: expected a share between 0 and 1, got {value!r}")


def _no_unknown(raw: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise SpecError(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")


def _section(value: Any, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"method": value} if key != "data" else {"format": value}
    if not isinstance(value, Mapping):
        raise SpecError(f"{key}: expected a mapping (or a method name), got {value!r}")
    return value


_FLOAT_FIELDS = {"skew", "kurtosis", "low", "high", "mean", "sd", "min_coverage", "p"}


def _build(klass: type, section: Mapping[str, Any], key: str) -> Any:
    names = tuple(f.name for f in dataclasses.fields(klass))
    _no_unknown(section, names, key)
    kwargs = {}
    for name, value in section.items():
        if name in _FLOAT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        kwargs[name] = value
    try:
        return klass(**kwargs)
    except SpecError as exc:
        msg = str(exc)
        # name the full key path (e.g. aggregate[1].method) rather than the part's own name
        prefix = key.split("[")[0]
        if key != prefix and msg.startswith(prefix):
            msg = key + msg[len(prefix):]
        raise SpecError(msg) from None
    except TypeError as exc:  # pragma: no cover - guarded by _no_unknown
        raise SpecError(f"{key}: {exc}") from None


def _part_dict(part: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(part):
        value = getattr(part, f.name)
        if value is None:
            continue
        if isinstance(value, Mapping):
            if not value:
                continue
            value = _thaw(value)
        out[f.name] = value
    return out
