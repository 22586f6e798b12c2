"""Numeric settings read from a spec or scenario mapping: one checker for every thresholds class.

The scorecard's thresholds, the finding rules and the design review's thresholds are frozen
dataclasses of numbers; a scenario may override any of them by name. :func:`numbers_from_dict`
builds one from a mapping the same way for all: unknown names raise a
:class:`~pmm_lib.errors.SpecError` listing the allowed ones, ``int`` fields take integers,
``float`` fields numbers, and a field typed ``float | None`` also takes ``None`` (its rule off).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from pmm_lib.errors import SpecError

__all__ = ["numbers_from_dict"]

T = TypeVar("T")


def numbers_from_dict(cls: type[T], values: Mapping[str, Any] | None, what: str) -> T:
    """Build the numeric dataclass ``cls`` from ``values`` (missing names keep their defaults).

    Parameters
    ----------
    cls : dataclass type
        Fields annotated ``int``, ``float`` or ``float | None`` (as strings, ``from __future__
        import annotations``).
    values : mapping or None
        Overrides by field name; ``None`` or empty gives the defaults.
    what : str
        How errors name the settings ("scorecard thresholds").

    Returns
    -------
    instance of ``cls``

    Raises
    ------
    SpecError
        An unknown name, a value that is not a number, ``None`` for a field that cannot be off,
        or a fractional value for an integer field.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Rules:
    ...     floor: float = 0.3
    ...     min_n: int = 10
    ...     cap: float | None = None
    >>> numbers_from_dict(Rules, {"floor": "0.5", "min_n": 12.0, "cap": None}, "rules")
    Rules(floor=0.5, min_n=12, cap=None)
    >>> numbers_from_dict(Rules, {"flor": 1}, "rules")
    Traceback (most recent call last):
    ...
    pmm_lib.errors.SpecError: rules: unknown name(s) flor; allowed: floor, min_n, cap
    """
    if not values:
        return cls()
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SpecError(f"{what}: unknown name(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    clean: dict[str, Any] = {}
    for key, val in values.items():
        kind = fields[key].replace(" ", "")
        if val is None and kind.endswith("|None"):
            clean[key] = None
            continue
        try:
            if isinstance(val, bool):
                raise TypeError
            num = float(val)
            if kind.startswith("int"):
                if not num.is_integer():
                    raise ValueError
                clean[key] = int(num)
            else:
                clean[key] = num
        except (TypeError, ValueError):
            expected = "a whole number" if kind.startswith("int") else "a number"
            raise SpecError(f"{what}: {key} must be {expected}, got {val!r}") from None
    return cls(**clean)
