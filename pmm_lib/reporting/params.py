"""The parameters every methodology notebook takes, defined once for the runner and the notebooks.

A run passes ``region, cycle, seed, spec_path, audience, out_dir`` to each notebook (papermill's
``parameters`` convention). They are declared here as :class:`RunParams`, with their defaults
and checks; the runner (:mod:`pmm_lib.reporting.runs`) passes exactly :data:`RUN_PARAMETERS`, and a
notebook fills and checks its own with one line::

    # %% tags=["parameters"]
    region = None        # ... one line per name of RUN_PARAMETERS; None: the RunParams default
    out_dir = None
    n_boot = 1000        # notebook-specific knobs keep their literal defaults

    # %%
    run = RunParams.from_namespace(globals())
    region, cycle, seed, spec_path, audience, out_dir = run

so a notebook run by hand in JupyterLab gets the same defaults as ``pmm run`` and a typo (an
unknown region, an audience that does not exist) stops at the first cell with a message naming
the parameter. How Members may be named for the audience (keyed pseudonyms) also lives here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import astuple, dataclass, fields
from typing import Any

from pmm_lib.errors import SpecError
from pmm_lib.reporting.disclosure import check_audience, pseudonym_key, pseudonymise
from pmm_lib.vocab import DEFAULT_SEED, REGIONS, Audience

__all__ = ["DEFAULT_CYCLE", "DEFAULT_REGION", "RUN_PARAMETERS", "RunParams"]

DEFAULT_REGION = "AMS"
DEFAULT_CYCLE = 2024


@dataclass(frozen=True)
class RunParams:
    """The run parameters of a methodology notebook (checked when built).

    Attributes
    ----------
    region : str
        A WCO region code (``AMS AP ESA EUR MENA WCA``) or ``ALL``; upper-cased.
    cycle : int
        PMM cycle (year).
    seed : int
        Seed of every stochastic step.
    spec_path : str
        Scenario/spec YAML; empty: the framework's defaults.
    audience : {"public", "wco", "internal"}
        Who the notebook's artefacts are for (disclosure control).
    out_dir : str
        Run folder the figures and tables are written to; empty: nothing is written.

    Examples
    --------
    >>> run = RunParams.from_namespace({"region": "eur", "cycle": None, "n_boot": 50})
    >>> run.region, run.cycle, run.audience, run.place
    ('EUR', 2024, 'wco', 'EUR')
    >>> region, cycle, seed, spec_path, audience, out_dir = run
    >>> RunParams(region="XX")
    Traceback (most recent call last):
    ...
    pmm_lib.errors.SpecError: parameter region='XX' is not one of AMS, AP, ESA, EUR, MENA, WCA, ALL
    """

    region: str = DEFAULT_REGION
    cycle: int = DEFAULT_CYCLE
    seed: int = DEFAULT_SEED
    spec_path: str = ""
    audience: Audience = "wco"
    out_dir: str = ""

    def __post_init__(self) -> None:
        region = str(self.region).upper()
        if region not in (*REGIONS, "ALL"):
            raise SpecError(f"parameter region={self.region!r} is not one of {', '.join((*REGIONS, 'ALL'))}")
        object.__setattr__(self, "region", region)
        for name in ("cycle", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"parameter {name} must be an int, got {value!r}")
        try:
            check_audience(self.audience)
        except SpecError as exc:
            raise SpecError(f"parameter {exc}") from None
        for name in ("spec_path", "out_dir"):
            value = getattr(self, name)
            if not isinstance(value, str | os.PathLike):
                raise SpecError(f"parameter {name} must be a path (str), got {value!r}")
            object.__setattr__(self, name, os.fspath(value))

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> RunParams:
        """The run parameters found in ``namespace`` (a notebook's ``globals()``); None or absent: default.

        Other names (notebook-specific knobs, imports) are ignored.
        """
        given = {f.name: namespace[f.name] for f in fields(cls) if namespace.get(f.name) is not None}
        return cls(**given)

    def __iter__(self) -> Iterator[Any]:
        """The values in :data:`RUN_PARAMETERS` order, for ``region, cycle, ... = run``."""
        return iter(astuple(self))

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` in :data:`RUN_PARAMETERS` order (what the runner passes to papermill)."""
        return dict(zip(RUN_PARAMETERS, astuple(self), strict=True))

    @property
    def place(self) -> str:
        """How captions name the region: the code, or ``"all regions"`` for ``ALL``."""
        return "all regions" if self.region == "ALL" else self.region

    @property
    def pseudonym_note(self) -> str:
        """``" (pseudonymised)"`` for a public audience, else ``""``: for captions of Member-level figures."""
        return " (pseudonymised)" if self.audience == "public" else ""

    def member_labels(self, members: Iterable[str]) -> dict[str, str]:
        """How each Member may be named in this audience's artefacts: a keyed pseudonym for ``public``.

        The pseudonyms are :func:`pmm_lib.reporting.disclosure.pseudonymise` with the secret key
        of :func:`~pmm_lib.reporting.disclosure.pseudonym_key` (never inside ``out_dir``) and the
        cycle as context; other audiences see the ISO3 codes.

        >>> RunParams(audience="wco").member_labels(["FRA"])
        {'FRA': 'FRA'}
        """
        members = list(members)
        if self.audience != "public":
            return {m: m for m in members}
        key = pseudonym_key(self.audience, forbid=[self.out_dir] if self.out_dir else ())
        return pseudonymise(members, key=key, context=self.cycle)


RUN_PARAMETERS: tuple[str, ...] = tuple(f.name for f in fields(RunParams))
