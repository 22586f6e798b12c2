"""The framework hierarchy, compiled and validated once: codes, levels, parents, children, incidence.

Every part of the method core that walks the tree (the aggregation kernel, ``build()``, the
weighting methods, the Monte Carlo engine, the workshop's live index) takes a
:class:`Hierarchy` from :func:`compile_hierarchy` instead of re-reading the meta table. The
checks run here and nowhere else, and every degenerate hierarchy is refused with an error that
names the offending code:

* a column of ``code, level, parent`` missing, a level that is not a positive integer;
* an empty or duplicated code;
* no node, or two or more nodes, at the top level (the index);
* a top node that has a parent;
* an orphan: a node below the top whose parent is empty or not a code of the table;
* a cycle in the parent links (``a -> b -> a``);
* a parent that is not exactly one level above its child;
* an aggregate (level >= 2) with no child.

Levels are numbered from 1 (the indicators) to the top (the index). Within a level the codes
keep the table's order. Compiled hierarchies are cached by their ``(code, level, parent)``
triples, so compiling the same table again costs a hash.

>>> import pandas as pd
>>> meta = pd.DataFrame({"code": ["a", "b", "c", "X", "Y", "I"], "level": [1, 1, 1, 2, 2, 3],
...                      "parent": ["X", "X", "Y", "I", "I", None]})
>>> h = compile_hierarchy(meta)
>>> h.top, h.n_levels, h.children["X"], h.parent_of("c")
('I', 3, ('a', 'b'), 'Y')
>>> h.incidence[2]
array([[1., 1., 0.],
       [0., 0., 1.]])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError, SpecError

__all__ = ["Hierarchy", "compile_hierarchy"]

_REQUIRED = ("code", "level", "parent")


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """A validated framework tree (build with :func:`compile_hierarchy`).

    Attributes
    ----------
    codes : tuple of str
        Every code, level 1 first and the top last (table order within a level).
    levels : tuple of int
        The level of each code.
    parents : tuple of str or None
        The parent of each code (``None`` for the top).
    level_codes : mapping level -> tuple of str
        Codes of each level.
    children : mapping code -> tuple of str
        Children of each aggregate, in table order.
    incidence : mapping level -> ndarray
        For each aggregate level ``l >= 2`` the ``(n_l, n_{l-1})`` 0/1 matrix with a 1 where the
        level-``l`` node is the parent of the level-``l-1`` node.
    groups : mapping level -> tuple of ndarray
        For each aggregate level, the positions (within level ``l-1``) of each node's children.
    parent_index : mapping level -> ndarray
        For each level below the top, the position (within level ``l+1``) of each node's parent.
    """

    codes: tuple[str, ...]
    levels: tuple[int, ...]
    parents: tuple[str | None, ...]
    level_codes: Mapping[int, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    incidence: Mapping[int, np.ndarray]
    groups: Mapping[int, tuple[np.ndarray, ...]]
    parent_index: Mapping[int, np.ndarray]
    _position: Mapping[str, int] = field(repr=False)

    @property
    def n_levels(self) -> int:
        """The top level (the number of levels)."""
        return max(self.levels)

    @property
    def top(self) -> str:
        """Code of the top node (the index)."""
        return self.codes[-1]

    @property
    def leaves(self) -> tuple[str, ...]:
        """The level-1 codes (indicators)."""
        return self.level_codes[1]

    @property
    def below_top(self) -> tuple[str, ...]:
        """Every code except the top (the codes that carry a weight within their parent)."""
        return self.codes[:-1]

    def level_of(self, code: str) -> int:
        """Level of ``code``; :class:`SpecError` listing nothing but the unknown code otherwise."""
        return self.levels[self.position(code)]

    def position(self, code: str) -> int:
        """Position of ``code`` in :attr:`codes`."""
        try:
            return self._position[str(code)]
        except KeyError:
            raise SpecError(f"unknown code {code!r}: not in the hierarchy "
                            f"(top {self.top!r}, {len(self.codes)} codes)") from None

    def parent_of(self, code: str) -> str | None:
        """Parent of ``code`` (``None`` for the top)."""
        return self.parents[self.position(code)]

    def index_in_level(self, code: str) -> int:
        """Position of ``code`` among the codes of its level."""
        return self.level_codes[self.level_of(code)].index(str(code))

    def siblings(self, code: str) -> tuple[str, ...]:
        """Children of ``code``'s parent, ``code`` included (the top has none)."""
        par = self.parent_of(code)
        return () if par is None else self.children[par]

    def without(self, code: str) -> Hierarchy:
        """The hierarchy with one indicator removed (it must have a sibling)."""
        if self.level_of(code) != 1:
            raise SpecError(f"only an indicator (level 1) can be removed, {code!r} is level {self.level_of(code)}")
        if len(self.siblings(code)) < 2:
            raise SpecError(f"removing {code!r} would leave {self.parent_of(code)!r} without children")
        keep = [i for i, c in enumerate(self.codes) if c != code]
        return _compile(tuple((self.codes[i], self.levels[i], self.parents[i]) for i in keep))


def _triples(meta: pd.DataFrame) -> tuple[tuple[str, int, str | None], ...]:
    if not isinstance(meta, pd.DataFrame):
        raise InputError(f"meta: expected a DataFrame with columns {', '.join(_REQUIRED)}, "
                         f"got {type(meta).__name__}")
    missing = [c for c in _REQUIRED if c not in meta.columns]
    if missing:
        raise InputError(f"meta: missing column(s) {missing}", column=missing[0],
                         expected=", ".join(_REQUIRED))
    if meta.empty:
        raise SpecError("meta: the hierarchy has no node")
    level = pd.to_numeric(meta["level"], errors="coerce")
    bad = level.isna() | (level < 1) | (level != np.floor(level))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"meta: code {meta['code'].iloc[i]!r} has level {meta['level'].iloc[i]!r}",
                         row=i + 1, column="level", expected="an integer >= 1")
    out = []
    for i, (code, lv, par) in enumerate(zip(meta["code"], level.astype(int), meta["parent"], strict=True)):
        if code is None or (isinstance(code, float) and np.isnan(code)) or str(code).strip() == "":
            raise SpecError(f"meta: row {i + 1} has an empty code")
        empty = par is None or (isinstance(par, float) and np.isnan(par)) or str(par).strip() in ("", "None")
        out.append((str(code), int(lv), None if empty else str(par)))
    return tuple(out)


def compile_hierarchy(meta: pd.DataFrame | Hierarchy) -> Hierarchy:
    """Validate the ``code, level, parent`` columns of ``meta`` and compile them (cached).

    Parameters
    ----------
    meta : DataFrame or Hierarchy
        One row per node with columns ``code``, ``level`` (1 = indicator … top = index) and
        ``parent`` (empty for the top). Other columns are ignored. A :class:`Hierarchy` is
        returned unchanged.

    Returns
    -------
    Hierarchy

    Raises
    ------
    InputError
        A required column is missing or a level is not an integer >= 1.
    SpecError
        A degenerate tree (see the module docstring); the message names the code.

    Examples
    --------
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"code": ["a", "I", "J"], "level": [1, 2, 2], "parent": ["I", None, None]})
    >>> compile_hierarchy(bad)
    Traceback (most recent call last):
    ...
    pmm_lib.errors.SpecError: meta: 2 nodes at the top level 2 (I, J); the hierarchy needs exactly one top node (the index)
    """
    if isinstance(meta, Hierarchy):
        return meta
    return _compile(_triples(meta))


@lru_cache(maxsize=256)
def _compile(triples: tuple[tuple[str, int, str | None], ...]) -> Hierarchy:
    codes = [t[0] for t in triples]
    seen: set[str] = set()
    dup = sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if dup:
        raise SpecError(f"meta: duplicated code(s) {', '.join(dup)}")
    level = {c: lv for c, lv, _ in triples}
    parent = {c: p for c, _, p in triples}
    top_level = max(level.values())
    tops = [c for c in codes if level[c] == top_level]
    if len(tops) != 1:
        raise SpecError(f"meta: {len(tops)} nodes at the top level {top_level} ({', '.join(tops)}); "
                        f"the hierarchy needs exactly one top node (the index)")
    top = tops[0]
    if parent[top] is not None:
        raise SpecError(f"meta: the top node {top!r} (level {top_level}) has parent {parent[top]!r}; "
                        f"the index has no parent")
    for c in codes:
        if c != top and (parent[c] is None or parent[c] not in level):
            raise SpecError(f"meta: code {c!r} (level {level[c]}) has parent {parent[c]!r}, which is not a "
                            f"code in meta (an orphan: every node below the top needs a parent)")
    for c in codes:  # follow the parent links: a cycle never reaches the top
        path, node = [c], parent[c]
        while node is not None:
            if node in path:
                loop = path[path.index(node):] + [node]
                raise SpecError(f"meta: the parent links form a cycle: {' -> '.join(loop)}")
            path.append(node)
            node = parent[node]
    for c in codes:
        p = parent[c]
        if p is not None and level[p] != level[c] + 1:
            raise SpecError(f"meta: code {c!r} is level {level[c]} but its parent {p!r} is level "
                            f"{level[p]} (expected {level[c] + 1})")
    kids: dict[str, list[str]] = {c: [] for c in codes}
    for c in codes:
        p = parent[c]
        if p is not None:
            kids[p].append(c)
    childless = [c for c in codes if level[c] >= 2 and not kids[c]]
    if childless:
        raise SpecError(f"meta: aggregate(s) without children: {', '.join(childless)} "
                        f"(every node above level 1 needs at least one child)")
    if top_level < 2:
        raise SpecError("meta: the hierarchy needs at least one aggregate above the indicators")
    level_codes = {lv: tuple(c for c in codes if level[c] == lv) for lv in range(1, top_level + 1)}
    empty = [lv for lv, cs in level_codes.items() if not cs]
    if empty:  # pragma: no cover - implied by the parent-level rule
        raise SpecError(f"meta: no node at level(s) {empty}")
    ordered = tuple(c for lv in range(1, top_level + 1) for c in level_codes[lv])
    incidence: dict[int, np.ndarray] = {}
    groups: dict[int, tuple[np.ndarray, ...]] = {}
    parent_index: dict[int, np.ndarray] = {}
    for lv in range(2, top_level + 1):
        pos = {c: i for i, c in enumerate(level_codes[lv])}
        a = np.zeros((len(level_codes[lv]), len(level_codes[lv - 1])))
        pidx = np.array([pos[parent[c]] for c in level_codes[lv - 1]], dtype=np.int64)  # type: ignore[index]
        a[pidx, np.arange(len(pidx))] = 1.0
        a.setflags(write=False)
        pidx.setflags(write=False)
        incidence[lv] = a
        parent_index[lv - 1] = pidx
        groups[lv] = tuple(np.flatnonzero(row) for row in a)
    children = {c: tuple(kids[c]) for c in ordered if kids[c]}
    return Hierarchy(
        codes=ordered, levels=tuple(level[c] for c in ordered), parents=tuple(parent[c] for c in ordered),
        level_codes=level_codes, children=children, incidence=incidence, groups=groups,
        parent_index=parent_index, _position={c: i for i, c in enumerate(ordered)},
    )

