"""Weights: every way the workbench sets the weights of the framework hierarchy.

This module owns the weighting methods and the one place where a weighting *name* becomes
a computation (:func:`resolve_weights`). Methods:

* participatory / normative: :func:`equal`, :func:`framework`, :func:`explicit` (mapping or
  CSV/YAML file), :func:`budget_allocation` (experts' points, with dispersion),
  :func:`ahp` (Saaty's pairwise comparisons with consistency check);
* data-driven: :func:`pca_weights` (OECD/JRC handbook procedure), :func:`balanced_weights`
  (equalise each child's correlation with its aggregate), :func:`bod_weights` (benefit of the
  doubt, per unit);
* diagnostics: :func:`effective_weights` (each child's share of its aggregate's variance).

Weights are a ``Series`` code → weight, normalised to sum to one within each parent
(:func:`normalise_within_parent`); codes may belong to any level. Data-driven methods are
applied level by level: children at level 1 are weighted from the normalised data, the
level-2 aggregates are then computed (weighted arithmetic mean) and weighted within their
parents, and so on up the tree.

References
----------
OECD/JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User
Guide*. OECD Publishing, Paris. doi:10.1787/9789264043466-en.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from pmm_lib.core import aggregate as agg
from pmm_lib.core.hierarchy import compile_hierarchy
from pmm_lib.core.rank import rank_desc
from pmm_lib.errors import InputError, SpecError
from pmm_lib.io import load_yaml
from pmm_lib.vocab import WEIGHT_METHODS, WeightMethod

__all__ = [
    "AhpResult",
    "RANDOM_INDEX",
    "WEIGHT_METHODS",
    "WeightMethod",
    "ahp",
    "balanced_weights",
    "bod_weights",
    "budget_allocation",
    "compare_schemes",
    "effective_weights",
    "equal",
    "explicit",
    "framework",
    "normalise_within_parent",
    "pca_group_weights",
    "pca_weights",
    "rank_shift_summary",
    "read_weights_file",
    "resolve_weights",
    "scheme_table",
]

# ---------------------------------------------------------------------------------------------
# hierarchy helpers
# ---------------------------------------------------------------------------------------------


def _meta(meta: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(meta, pd.DataFrame):
        raise SpecError("meta must be a DataFrame with columns code, level, parent, weight")
    missing = [c for c in ("code", "level", "parent", "weight") if c not in meta.columns]
    if missing:
        raise SpecError(f"meta lacks column(s) {', '.join(missing)}")
    compile_hierarchy(meta)  # the structural checks (one place: pmm_lib.core.hierarchy)
    m = meta.reset_index(drop=True).copy()
    m["code"] = m["code"].astype(str)
    m["level"] = pd.to_numeric(m["level"]).astype(int)
    return m


def _below_top(m: pd.DataFrame) -> pd.DataFrame:
    par = m["parent"]
    return m[par.notna() & (par.astype(str) != "") & (par.astype(str) != "None")]


def normalise_within_parent(weights: pd.Series | Mapping[str, float], meta: pd.DataFrame
                            ) -> pd.Series:
    """Scale weights so they sum to one among the children of each parent.

    .. math:: \\tilde w_i = w_i / \\sum_{j \\in \\mathrm{sib}(i)} w_j

    Parameters
    ----------
    weights : Series or mapping code → weight
        Codes of any level below the top; codes not named keep their meta weight.
    meta : DataFrame
        The hierarchy (``code, level, parent, weight``).

    Returns
    -------
    Series
        code → weight for every code below the top, in meta order.

    Raises
    ------
    SpecError
        Unknown code, negative or non-finite weight, or a parent whose children all weigh 0.
    """
    m = _meta(meta)
    sub = _below_top(m)
    base = sub.set_index("code")["weight"].astype(float)
    given = pd.Series(weights, dtype=float)
    unknown = [c for c in given.index if c not in base.index]
    if unknown:
        raise SpecError(f"weights name code(s) that are not below the top of the hierarchy: "
                        f"{', '.join(map(str, unknown))}")
    base.loc[given.index] = given.to_numpy()
    bad = base.index[~np.isfinite(base.to_numpy()) | (base.to_numpy() < 0)]
    if len(bad):
        raise SpecError(f"weights must be finite and >= 0; not so for {', '.join(map(str, bad))}")
    parent = sub.set_index("code")["parent"].astype(str)
    sums = base.groupby(parent).transform("sum")
    zero = parent[sums.to_numpy() <= 0].unique().tolist()
    if zero:
        raise SpecError(f"every child of {', '.join(zero)} has weight 0")
    return (base / sums).rename("weight")


def framework(meta: pd.DataFrame) -> pd.Series:
    """The weights of the meta table (framework file), normalised within each parent."""
    return normalise_within_parent({}, meta)


def equal(meta: pd.DataFrame) -> pd.Series:
    """Equal weights: every child of a parent gets 1 / (number of siblings).

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["a", "b", "c", "I"], "level": [1, 1, 1, 2],
    ...                   "parent": ["I", "I", "I", None], "weight": [1, 2, 3, 1]})
    >>> equal(m).round(4).tolist()
    [0.3333, 0.3333, 0.3333]
    """
    sub = _below_top(_meta(meta))
    return normalise_within_parent(pd.Series(1.0, index=sub["code"]), meta)


def read_weights_file(path: str | Path) -> dict[str, float]:
    """Read explicit weights from a CSV (columns ``code, weight``) or YAML (mapping) file.

    Raises
    ------
    InputError
        Missing file or column, or a weight that is not a number (naming file, row, column).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("weights file not found", file=p, expected="a CSV or YAML file")
    if p.suffix.lower() in (".yaml", ".yml"):
        raw = load_yaml(p.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and "weights" in raw and isinstance(raw["weights"], dict):
            raw = raw["weights"]
        if not isinstance(raw, dict):
            raise InputError("expected a mapping code: weight", file=p)
        out = {}
        for code, w in raw.items():
            try:
                out[str(code)] = float(w)
            except (TypeError, ValueError):
                raise InputError(f"weight of {code!r} is not a number: {w!r}", file=p,
                                 column=str(code)) from None
        return out
    frame = pd.read_csv(p, keep_default_na=False, na_values=[""])
    for col in ("code", "weight"):
        if col not in frame.columns:
            raise InputError(f"missing column {col!r}", file=p, column=col,
                             expected="columns code, weight")
    w = pd.to_numeric(frame["weight"], errors="coerce")
    if w.isna().any():
        i = int(np.flatnonzero(w.isna().to_numpy())[0])
        raise InputError(f"weight {frame['weight'].iloc[i]!r} is not a number", file=p,
                         row=i + 2, column="weight", expected="a number >= 0")
    return dict(zip(frame["code"].astype(str), w.astype(float), strict=True))


def explicit(values: Mapping[str, float] | str | Path, meta: pd.DataFrame | None = None
             ) -> pd.Series:
    """Explicit weights from a mapping code → weight (any level) or a CSV/YAML file.

    With ``meta``, codes not named keep their framework weight and the result is normalised
    within each parent (so multiplying all weights of a parent by a constant changes
    nothing). Without ``meta`` the given weights are scaled to sum to one.

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["a", "b", "c", "I"], "level": [1, 1, 1, 2],
    ...                   "parent": ["I", "I", "I", None], "weight": 1.0})
    >>> explicit({"a": 2.0}, m).tolist()
    [0.5, 0.25, 0.25]
    """
    given = read_weights_file(values) if isinstance(values, str | Path) else dict(values)
    s = pd.Series(given, dtype=float)
    if meta is not None:
        return normalise_within_parent(s, meta)
    if (s < 0).any() or not np.isfinite(s.to_numpy()).all() or s.sum() <= 0:
        raise SpecError("explicit weights must be finite, >= 0 and not all 0")
    return (s / s.sum()).rename("weight")


# ---------------------------------------------------------------------------------------------
# budget allocation
# ---------------------------------------------------------------------------------------------


def _read_table(path: str | Path, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file not found", file=p, expected="a CSV file")
    return pd.read_csv(p, keep_default_na=False, na_values=[""])


def budget_allocation(points: pd.DataFrame | str | Path, meta: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    r"""Budget allocation (BAP): experts distribute points; weights are the mean shares.

    Each expert *e*'s points :math:`p_{ei}` are turned into shares within each parent group,
    :math:`s_{ei} = p_{ei} / \sum_{j \in \mathrm{sib}(i)} p_{ej}`, and the weight is the mean
    share :math:`w_i = \bar s_i`, which again sums to one within each parent. The spread of
    the experts' shares measures (dis)agreement.

    Parameters
    ----------
    points : DataFrame or path
        Experts × codes (non-negative points; an optional ``expert`` column is used as the
        index). A CSV path is read with the same layout.
    meta : DataFrame, optional
        Hierarchy; when given, shares are taken within each parent, else over all columns.

    Returns
    -------
    DataFrame
        One row per code: ``code, parent, weight`` (mean share), ``sd`` (sample standard
        deviation of the shares), ``q1, q3, iqr``, ``cv`` (sd / weight) and ``n`` (experts).

    References
    ----------
    OECD/JRC (2008), Handbook, section 6.1.6 "Budget allocation process".
    doi:10.1787/9789264043466-en.

    Examples
    --------
    >>> pts = pd.DataFrame({"A": [60, 40], "B": [40, 60]}, index=["e1", "e2"])
    >>> budget_allocation(pts)[["code", "weight", "sd"]].round(4).values.tolist()
    [['A', 0.5, 0.1414], ['B', 0.5, 0.1414]]
    """
    src = points if isinstance(points, pd.DataFrame) else None
    file = None if src is not None else Path(points)  # type: ignore[arg-type]
    frame = src.copy() if src is not None else _read_table(file, "budget points")  # type: ignore[arg-type]
    if "expert" in frame.columns:
        frame = frame.set_index("expert")
    if frame.empty or frame.shape[1] == 0:
        raise InputError("no experts or no codes in the budget points", file=file)
    num = frame.apply(pd.to_numeric, errors="coerce")
    bad = num.isna() | (num < 0)
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise InputError(f"points must be numbers >= 0, got {frame.iat[r, c]!r} for expert "
                         f"{frame.index[r]!r}", file=file, row=int(r) + 2 if file else None,
                         column=str(frame.columns[c]), expected="a number >= 0")
    codes = [str(c) for c in num.columns]
    num.columns = codes
    if meta is not None:
        m = _below_top(_meta(meta)).set_index("code")
        unknown = [c for c in codes if c not in m.index]
        if unknown:
            raise InputError(f"budget points name code(s) not in the hierarchy: "
                             f"{', '.join(unknown)}", file=file, column=unknown[0])
        parents = m.loc[codes, "parent"].astype(str)
    else:
        parents = pd.Series("(all)", index=codes)
    shares = pd.DataFrame(index=num.index, columns=codes, dtype=float)
    for par, group in parents.groupby(parents):
        cols = group.index.tolist()
        tot = num[cols].sum(axis=1)
        if (tot <= 0).any():
            who = tot.index[tot <= 0][0]
            raise InputError(f"expert {who!r} gave no points to the children of {par}",
                             file=file, column=cols[0])
        shares[cols] = num[cols].div(tot, axis=0)
    w = shares.mean()
    sd = shares.std(ddof=1) if len(shares) > 1 else pd.Series(np.nan, index=codes)
    q1, q3 = shares.quantile(0.25), shares.quantile(0.75)
    return pd.DataFrame({
        "code": codes,
        "parent": parents.reindex(codes).to_numpy() if meta is not None else None,
        "weight": w.to_numpy(),
        "sd": sd.to_numpy(),
        "q1": q1.to_numpy(),
        "q3": q3.to_numpy(),
        "iqr": (q3 - q1).to_numpy(),
        "cv": (sd / w.replace(0, np.nan)).to_numpy(),
        "n": len(shares),
    })


# ---------------------------------------------------------------------------------------------
# AHP
# ---------------------------------------------------------------------------------------------

#: Saaty's random consistency index RI(n) (Saaty 1980; n = 1 … 10).
RANDOM_INDEX: dict[int, float] = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24,
                                  7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}


def _random_index(n: int) -> float:
    if n in RANDOM_INDEX:
        return RANDOM_INDEX[n]
    # Alonso & Lamata (2006): mean lambda_max of random matrices ≈ 2.7699 n − 4.3513
    return (1.7699 * n - 4.3513) / (n - 1)


@dataclass(frozen=True)
class AhpResult:
    """Priorities and consistency of an AHP comparison matrix.

    Attributes
    ----------
    weights : Series
        code → priority (principal eigenvector scaled to sum 1).
    matrix : DataFrame
        The reciprocal comparison matrix (``matrix.loc[i, j]`` = importance of i over j).
    lambda_max, ci, ri, cr : float
        Principal eigenvalue, consistency index ``(lambda_max − n)/(n − 1)``, random index
        and consistency ratio ``ci / ri`` (0 when ``n <= 2``).
    worst : tuple of (str, str)
        The most inconsistent judgement: the pair maximising
        :math:`|\\ln(a_{ij} w_j / w_i)|`.
    """

    weights: pd.Series
    matrix: pd.DataFrame
    lambda_max: float
    ci: float
    ri: float
    cr: float
    worst: tuple[str, str] | None

    @property
    def n(self) -> int:
        """Number of compared elements."""
        return len(self.weights)

    def to_frame(self) -> pd.DataFrame:
        """Tidy view: ``code, weight`` plus the consistency figures repeated per row."""
        return pd.DataFrame({"code": self.weights.index, "weight": self.weights.to_numpy(),
                             "lambda_max": self.lambda_max, "ci": self.ci, "cr": self.cr,
                             "n": self.n})


def _matrix_from_judgements(judgements: Mapping[Any, float] | Iterable[tuple[str, str, float]],
                            codes: Sequence[str] | None) -> pd.DataFrame:
    items: list[tuple[str, str, float]] = []
    if isinstance(judgements, Mapping):
        for key, v in judgements.items():
            pair = tuple(key.split("/")) if isinstance(key, str) else tuple(key)
            if len(pair) != 2:
                raise SpecError(f"AHP judgement {key!r}: expected a pair 'A/B' or ('A', 'B')")
            items.append((str(pair[0]), str(pair[1]), v))
    else:
        for item in judgements:
            if len(item) != 3:
                raise SpecError(f"AHP judgement {item!r}: expected (a, b, value)")
            items.append((str(item[0]), str(item[1]), item[2]))
    if codes is None:
        codes = list(dict.fromkeys(c for a, b, _ in items for c in (a, b)))
    codes = [str(c) for c in codes]
    pos = {c: i for i, c in enumerate(codes)}
    a = np.full((len(codes), len(codes)), np.nan)
    np.fill_diagonal(a, 1.0)
    for x, y, v in items:
        if x not in pos or y not in pos or x == y:
            raise SpecError(f"AHP judgement {x}/{y}: expected two different codes from {codes}")
        try:
            val = float(v)
        except (TypeError, ValueError):
            raise SpecError(f"AHP judgement {x}/{y}: {v!r} is not a number") from None
        if not np.isfinite(val) or val <= 0:
            raise SpecError(f"AHP judgement {x}/{y}: must be > 0, got {v!r}")
        i, j = pos[x], pos[y]
        if np.isfinite(a[i, j]):
            raise SpecError(f"AHP judgement {x}/{y} given twice")
        a[i, j], a[j, i] = val, 1.0 / val
    missing = [f"{codes[i]}/{codes[j]}" for i, j in zip(*np.where(np.isnan(a)), strict=True) if i < j]
    if missing:
        raise SpecError(f"AHP needs every pair; missing judgement(s): {', '.join(missing)}")
    return pd.DataFrame(a, index=codes, columns=codes)


def _check_matrix(matrix: pd.DataFrame, file: Path | None = None) -> pd.DataFrame:
    a = matrix.copy()
    if "code" in a.columns:
        a = a.set_index("code")
    a.index = a.index.astype(str)
    a.columns = a.columns.astype(str)
    if list(a.index) != list(a.columns):
        raise InputError("AHP matrix: row codes must equal column codes in the same order",
                         file=file, expected=f"columns {list(a.index)}")
    arr = a.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    n = len(a)
    for i in range(n):
        for j in range(n):
            v = arr[i, j]
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"AHP matrix entry must be a number > 0, got {a.iat[i, j]!r}",
                                 file=file, row=i + 2 if file else None, column=a.columns[j])
            if abs(v * arr[j, i] - 1) > 1e-6 and i < j:
                raise InputError(f"AHP matrix is not reciprocal at {a.index[i]}/{a.columns[j]}: "
                                 f"{v:g} × {arr[j, i]:g} ≠ 1", file=file,
                                 row=i + 2 if file else None, column=a.columns[j])
        if abs(arr[i, i] - 1) > 1e-9:
            raise InputError(f"AHP matrix diagonal must be 1 at {a.index[i]}", file=file,
                             row=i + 2 if file else None, column=a.columns[i])
    return pd.DataFrame(arr, index=list(a.index), columns=list(a.columns))


def ahp(comparisons: pd.DataFrame | Mapping[Any, float] | Iterable[tuple[str, str, float]]
        | str | Path, *, codes: Sequence[str] | None = None,
        max_cr: float | None = 0.1) -> AhpResult:
    r"""Analytic hierarchy process: priorities from pairwise comparisons (eigenvector method).

    The priorities are the principal right eigenvector of the reciprocal matrix,
    :math:`A w = \lambda_{\max} w`, scaled to :math:`\sum w = 1`. Consistency index
    :math:`CI = (\lambda_{\max} - n)/(n - 1)`, ratio :math:`CR = CI / RI(n)` with Saaty's
    random indices (:data:`RANDOM_INDEX`; Alonso & Lamata's fit for n > 10). A consistent
    matrix (:math:`a_{ij} = w_i / w_j`) returns its generating weights with CR = 0.

    Parameters
    ----------
    comparisons : DataFrame, mapping, iterable of (a, b, value), or CSV path
        A square reciprocal matrix (codes as index and columns, or a ``code`` column), or
        judgements ``{"A/B": 3}`` / ``{("A", "B"): 3}`` / ``[("A", "B", 3), ...]`` meaning
        "A is 3 times as important as B" (every pair once; reciprocals implied).
    codes : sequence of str, optional
        Order of the codes for judgements (default: order of first appearance).
    max_cr : float or None
        Largest acceptable CR (Saaty: 0.1). ``None`` accepts any matrix.

    Returns
    -------
    AhpResult

    Raises
    ------
    SpecError
        When CR > ``max_cr``; the message names the most inconsistent judgement, the pair
        (i, j) with the largest :math:`|\ln(a_{ij} w_j / w_i)|`, and what would be consistent.

    References
    ----------
    Saaty, T. L. (1977). A scaling method for priorities in hierarchical structures.
    *Journal of Mathematical Psychology* 15(3), 234–281. doi:10.1016/0022-2496(77)90033-5.
    Saaty, T. L. (1990). How to make a decision: the analytic hierarchy process. *European
    Journal of Operational Research* 48(1), 9–26. doi:10.1016/0377-2217(90)90057-I.
    Alonso, J. A. & Lamata, M. T. (2006). Consistency in the analytic hierarchy process: a new
    approach. *Int. J. Uncertainty, Fuzziness and Knowledge-Based Systems* 14(4), 445–459.
    doi:10.1142/S0218488506004114.

    Examples
    --------
    >>> r = ahp({"A/B": 2, "A/C": 4, "B/C": 2})
    >>> r.weights.round(4).tolist(), round(r.cr, 9)
    ([0.5714, 0.2857, 0.1429], 0.0)
    """
    file = None
    if isinstance(comparisons, str | Path):
        file = Path(comparisons)
        matrix = _check_matrix(_read_table(file, "AHP matrix"), file)
    elif isinstance(comparisons, pd.DataFrame):
        matrix = _check_matrix(comparisons)
    else:
        matrix = _matrix_from_judgements(comparisons, codes)
    if codes is not None and isinstance(comparisons, pd.DataFrame | str | Path):
        matrix = matrix.loc[list(codes), list(codes)]
    a = matrix.to_numpy()
    n = len(a)
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    ci = max((lam - n) / (n - 1), 0.0) if n > 1 else 0.0
    ri = _random_index(n)
    cr = ci / ri if ri > 0 else 0.0
    dev = np.abs(np.log(a * w[None, :] / w[:, None]))
    iu = np.triu_indices(n, 1)
    worst = None
    if n > 1:
        t = int(np.argmax(dev[iu]))
        worst = (str(matrix.index[iu[0][t]]), str(matrix.columns[iu[1][t]]))
    result = AhpResult(weights=pd.Series(w, index=matrix.index, name="weight"), matrix=matrix,
                       lambda_max=lam, ci=ci, ri=ri, cr=cr, worst=worst)
    if max_cr is not None and cr > max_cr and worst is not None:
        i, j = worst
        implied = w[matrix.index.get_loc(i)] / w[matrix.columns.get_loc(j)]
        raise SpecError(
            f"AHP judgements are inconsistent: CR = {cr:.3f} > {max_cr:g}"
            + (f" ({file})" if file else "")
            + f". Most inconsistent judgement: {i}/{j} = {matrix.loc[i, j]:g}, while the other "  # type: ignore[str-bytes-safe]
              f"judgements imply about {implied:.2g}; revise it (or pass max_cr=None)."
        )
    return result


# ---------------------------------------------------------------------------------------------
# data-driven weights, applied level by level
# ---------------------------------------------------------------------------------------------

GroupFn = Callable[[pd.DataFrame], pd.Series]


def _level_by_level(normalised: pd.DataFrame, meta: pd.DataFrame, fn: GroupFn,
                    levels: Sequence[int] | None = None) -> pd.Series:
    """Apply ``fn`` (children's values → their weights) to every parent, bottom up.

    ``levels`` lists the levels of the *children* to weight with ``fn`` (default all);
    other groups keep their framework weights. Aggregates feeding the next level are
    weighted arithmetic means with the weights found so far (one call of the aggregation
    kernel :func:`pmm_lib.core.aggregate.aggregate_level` per level).
    """
    m = _meta(meta)
    h = compile_hierarchy(m)
    w = framework(m)
    absent = [c for c in h.leaves if c not in normalised.columns]
    if absent:
        raise InputError(f"normalised data lack indicator(s) {', '.join(absent[:5])}",
                         column=absent[0])
    values = normalised[list(h.leaves)].to_numpy(dtype=float)
    # the weights live in an array (one label lookup per code, not one .loc per group)
    where = {c: i for i, c in enumerate(w.index)}
    wv = w.to_numpy(dtype=float, copy=True)
    for level in range(2, h.n_levels + 1):
        child_codes = h.level_codes[level - 1]
        child_pos = np.array([where[c] for c in child_codes], dtype=np.intp)
        if levels is None or level - 1 in levels:
            for code, kids in zip(h.level_codes[level], h.groups[level], strict=True):
                names = [child_codes[k] for k in kids]
                x = pd.DataFrame(values[:, kids], index=normalised.index, columns=names)
                got = _group_result(fn(x), names)
                if np.isnan(got).any() or (got < 0).any() or got.sum() <= 0:
                    shown = pd.Series(got, index=names).round(4).to_dict()
                    raise SpecError(f"weighting of the children of {code!r} failed (weights {shown})")
                wv[child_pos[kids]] = got / got.sum()
        values, _ = agg.aggregate_level(values, wv[child_pos], h.incidence[level], 1.0)
    return pd.Series(wv, index=w.index, name=w.name)


def _group_result(got: pd.Series | Mapping[str, float], names: list[str]) -> np.ndarray:
    """A group function's weights as an array in the order of ``names`` (NaN for a name not given)."""
    if isinstance(got, pd.Series) and list(got.index) == names:
        return got.to_numpy(dtype=float)
    return pd.Series(got, dtype=float).reindex(names).to_numpy(dtype=float)


def _corr_with(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``x`` with ``y`` over pairwise complete rows."""
    out = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j]) & np.isfinite(y)
        if ok.sum() < 3:
            continue
        a, b = x[ok, j] - x[ok, j].mean(), y[ok] - y[ok].mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        out[j] = (a * b).sum() / den if den > 0 else np.nan
    return out


def pca_group_weights(values: pd.DataFrame, *, n_factors: int | None = None,
                      min_eigenvalue: float = 1.0, min_share: float = 0.1,
                      cumulative: float = 0.6, rotation: Literal["varimax", "none"] = "varimax"
                      ) -> pd.DataFrame:
    r"""PCA weights of one group of indicators (OECD/JRC handbook procedure).

    1. Principal components of the (pairwise-complete) correlation matrix.
    2. Keep the components with eigenvalue > ``min_eigenvalue`` that each explain more than
       ``min_share`` of the variance; if together they explain less than ``cumulative``, add
       components in order until they do (or ``n_factors`` fixes the number).
    3. Loadings :math:`L = V \sqrt{\Lambda}`, rotated by varimax
       (:func:`statsmodels.multivariate.factor_rotation.rotate_factors`).
    4. Squared loadings scaled to unity sum within each factor,
       :math:`q_{if} = L_{if}^2 / \sum_j L_{jf}^2`; each indicator is assigned to the factor
       on which its loading is largest ("intermediate composites").
    5. Each factor is weighted by its share of the explained (rotated) variance,
       :math:`v_f = \sum_j L_{jf}^2 / \sum_{g} \sum_j L_{jg}^2`, and the indicator weight is
       :math:`w_i = v_{f(i)} q_{i f(i)}`, rescaled to sum to one.

    Returns
    -------
    DataFrame
        One row per indicator: ``code, factor`` (1-based, assigned), ``loading`` (rotated),
        ``squared_share`` (:math:`q`), ``factor_share`` (:math:`v`), ``weight``; the
        number of retained factors and their cumulative explained share are in columns
        ``n_factors`` and ``explained``.

    References
    ----------
    OECD/JRC (2008), Handbook, section 6.1.1 and Step 6 of the technology achievement index
    example (tables 16–17). doi:10.1787/9789264043466-en.
    Nicoletti, G., Scarpetta, S. & Boylaud, O. (2000). Summary indicators of product market
    regulation with an extension to employment protection legislation. OECD Economics
    Department Working Papers 226. doi:10.1787/215182844604.
    """
    from statsmodels.multivariate.factor_rotation import rotate_factors

    codes = [str(c) for c in values.columns]
    k = len(codes)
    if k == 1:
        return pd.DataFrame({"code": codes, "factor": 1, "loading": 1.0, "squared_share": 1.0,
                             "factor_share": 1.0, "weight": 1.0, "n_factors": 1,
                             "explained": 1.0})
    corr = values.astype(float).corr(min_periods=3)
    bad = [c for c, gap in zip(codes, corr.isna().any().to_numpy(), strict=True) if gap]
    if bad:
        raise InputError(f"PCA weights: no correlation for {', '.join(bad)} (constant or too "
                         f"few shared observations)", column=bad[0])
    vals, vecs = np.linalg.eigh(corr.to_numpy())
    order = np.argsort(vals)[::-1]
    vals, vecs = np.clip(vals[order], 0.0, None), vecs[:, order]
    share = vals / vals.sum()
    if n_factors is None:
        keep = int(np.sum((vals > min_eigenvalue) & (share > min_share)))
        keep = max(keep, 1)
        while share[:keep].sum() < cumulative and keep < k:
            keep += 1
    else:
        if not 1 <= int(n_factors) <= k:
            raise SpecError(f"n_factors must be between 1 and {k}, got {n_factors!r}")
        keep = int(n_factors)
    load = vecs[:, :keep] * np.sqrt(vals[:keep])
    if rotation == "varimax" and keep > 1:
        with np.errstate(divide="ignore"):  # statsmodels logs log10(0) once converged
            load, _ = rotate_factors(load, "varimax")
    elif rotation not in ("varimax", "none"):
        raise SpecError(f"unknown rotation {rotation!r}; allowed: varimax, none")
    load = load * np.where(load.sum(axis=0) < 0, -1.0, 1.0)  # orient each factor positively
    sq = load**2
    q = sq / sq.sum(axis=0, keepdims=True)
    v = sq.sum(axis=0) / sq.sum()
    f = np.argmax(sq, axis=1)
    raw = v[f] * q[np.arange(k), f]
    return pd.DataFrame({
        "code": codes,
        "factor": f + 1,
        "loading": load[np.arange(k), f],
        "squared_share": q[np.arange(k), f],
        "factor_share": v[f],
        "weight": raw / raw.sum(),
        "n_factors": keep,
        "explained": float(share[:keep].sum()),
    })


def pca_weights(normalised: pd.DataFrame, meta: pd.DataFrame, *,
                levels: Sequence[int] | None = None, **options: Any) -> pd.Series:
    """PCA weights within every parent of the hierarchy (see :func:`pca_group_weights`).

    Parameters
    ----------
    normalised : DataFrame
        Units × level-1 indicators (normalised).
    meta : DataFrame
        The hierarchy.
    levels : sequence of int, optional
        Levels of the children to weight by PCA (default all); others keep framework weights.
    **options
        Passed to :func:`pca_group_weights` (``n_factors``, ``min_eigenvalue``, ...).

    Returns
    -------
    Series
        code → weight, normalised within each parent.
    """
    def fn(x: pd.DataFrame) -> pd.Series:
        table = pca_group_weights(x, **options)
        return pd.Series(table["weight"].to_numpy(), index=table["code"].tolist())

    return _level_by_level(normalised, meta, fn, levels)


def _balanced_objective(x: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Spread of the children's correlations with their aggregate, and its gradient.

    With :math:`m_{ui}` = 1 where unit *u* reported child *i*, the aggregate is
    :math:`y_u = \sum_i m_{ui} w_i x_{ui} / D_u`, :math:`D_u = \sum_i m_{ui} w_i` (the
    arithmetic mean re-weighted over missing values), :math:`\rho_i` is Pearson's r of
    :math:`x_i` and :math:`y` over the units where both are present (0 where it is undefined:
    fewer than 3 units or a constant), and :math:`f(w) = \operatorname{Var}_i(\rho_i)`
    (ddof = 0). With :math:`a_{ui}, b_{ui}` the centred :math:`x_i` and :math:`y` over those
    units and :math:`S_{aa}, S_{bb}` their sums of squares,

    .. math::
        \frac{\partial f}{\partial w_j} = \sum_u \Big[\sum_i \frac{2(\rho_i - \bar\rho)}{k}
        \Big(\frac{a_{ui}}{\sqrt{S_{aa,i} S_{bb,i}}} - \rho_i \frac{b_{ui}}{S_{bb,i}}\Big)\Big]
        \frac{m_{uj}(x_{uj} - y_u)}{D_u}

    (the centring terms vanish because :math:`\sum_u a_{ui} = 0`). The value equals
    ``np.var(_corr_with(x, agg.arithmetic(x, w)))`` with undefined correlations set to 0.

    Parameters
    ----------
    x : ndarray
        Units x children, ``NaN`` = missing.
    w : ndarray
        The children's weights (negative values count as 0).

    Returns
    -------
    f : float
    gradient : ndarray
        :math:`\partial f / \partial w`, one entry per child.
    """
    w = np.clip(w, 0.0, None)
    present = ~np.isnan(x)
    x0 = np.where(present, x, 0.0)
    den = present @ w
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        y = (x0 @ w) / den
        valid = (den > 0) & np.isfinite(y)
        yv = np.where(valid, y, 0.0)
        ok = np.isfinite(x) & valid[:, None]
        n = ok.sum(axis=0)
        a = np.where(ok, x - np.where(ok, x, 0.0).sum(axis=0) / n, 0.0)
        b = np.where(ok, yv[:, None] - (ok * yv[:, None]).sum(axis=0) / n, 0.0)
        sbb = (b * b).sum(axis=0)
        root = np.sqrt((a * a).sum(axis=0) * sbb)
        defined = (n >= 3) & (root > 0)
        r = np.where(defined, (a * b).sum(axis=0) / root, 0.0)
        drdy = np.where(defined, a / root - r * b / sbb, 0.0)  # d rho_i / d y_u, units x children
        dydw = np.where(present & valid[:, None], (x0 - yv[:, None]) / den[:, None], 0.0)
    k = len(r)
    dfdr = np.where(defined, 2.0 * (r - r.mean()) / k, 0.0)
    return float(np.var(r)), dydw.T @ (drdy @ dfdr)


def _balanced_group(x: pd.DataFrame, *, min_weight: float = 0.01) -> pd.Series:
    arr = x.to_numpy(dtype=float)
    k = arr.shape[1]
    if k == 1:
        return pd.Series([1.0], index=x.columns)
    if not 0 <= min_weight < 1 / k:
        raise SpecError(f"min_weight must be in [0, 1/{k}), got {min_weight!r}")

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        return _balanced_objective(arr, w)

    w0 = np.full(k, 1.0 / k)
    res = minimize(objective, w0, jac=True, method="SLSQP", bounds=[(min_weight, 1.0)] * k,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                 "jac": lambda w: np.ones((1, k))}],
                   options={"ftol": 1e-12, "maxiter": 500})
    w = res.x if np.isfinite(res.fun) and res.fun <= objective(w0)[0] else w0
    w = np.clip(w, 0, None)
    return pd.Series(w / w.sum(), index=x.columns)


def balanced_weights(normalised: pd.DataFrame, meta: pd.DataFrame, *,
                     levels: Sequence[int] | None = None, min_weight: float = 0.01
                     ) -> pd.Series:
    r"""Weights that make every child equally correlated with its aggregate.

    For each parent with children :math:`x_1 … x_k` and :math:`y(w) = \sum_i w_i x_i`
    (re-weighted over missing values), minimise the spread of the Pearson correlations

    .. math:: \min_w \operatorname{Var}_i\big(\rho(x_i, y(w))\big)
       \quad\text{s.t.}\quad \sum_i w_i = 1,\; w_i \ge w_{\min}

    with SLSQP (:func:`scipy.optimize.minimize`) and the analytic gradient of the objective,
    starting from equal weights. Becker et al.
    (2017) show that nominal weights are not importance: correlated indicators dominate an
    aggregate; these weights give each child the same say in the sense of correlation (a
    linear proxy of their correlation-ratio importance measure).

    Parameters
    ----------
    normalised, meta : DataFrame
    levels : sequence of int, optional
        Levels of the children to optimise (default all).
    min_weight : float
        Lower bound of each weight within its group.

    Returns
    -------
    Series
        code → weight, normalised within each parent.

    References
    ----------
    Becker, W., Saisana, M., Paruolo, P. & Vandecasteele, I. (2017). Weights and importance in
    composite indicators: closing the gap. *Ecological Indicators* 80, 12–22.
    doi:10.1016/j.ecolind.2017.03.056.
    """
    return _level_by_level(normalised, meta,
                           lambda x: _balanced_group(x, min_weight=min_weight), levels)


def _check_bod_bounds(bounds: Mapping[str, Any]) -> None:
    allowed = ("share_lower", "share_upper", "weight_lower", "weight_upper")
    unknown = [k for k in bounds if k not in allowed]
    if unknown:
        raise SpecError(f"unknown BoD option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")


def bod_weights(values: pd.DataFrame, **bounds: Any) -> pd.DataFrame:
    r"""Benefit-of-the-doubt weights of every unit over one group of indicators.

    Solves, for each unit *c*, :math:`\max_w \sum_i w_i y_{ci}` s.t.
    :math:`\sum_i w_i y_{ji} \le 1\ \forall j`, :math:`w \ge 0`, with optional bounds on the
    weights or the pie shares (see :func:`pmm_lib.core.aggregate.bod_scores`; LP by
    :func:`scipy.optimize.linprog`).

    Parameters
    ----------
    values : DataFrame
        Units × indicators, non-negative (normalised).
    **bounds
        ``share_lower``, ``share_upper``, ``weight_lower``, ``weight_upper``.

    Returns
    -------
    DataFrame
        Tidy: ``unit, code, weight`` (the LP weight), ``share`` (the indicator's share of the
        unit's score, :math:`w_i y_{ci} / \mathrm{BoD}_c`), ``relative`` (weight scaled to
        sum 1 per unit) and ``score`` (the unit's BoD score in [0, 1]).

    References
    ----------
    Cherchye, L., Moesen, W., Rogge, N. & Van Puyenbroeck, T. (2007). An introduction to
    'benefit of the doubt' composite indicators. *Social Indicators Research* 82, 111–145.
    doi:10.1007/s11205-006-9029-7.
    """
    _check_bod_bounds(bounds)
    codes = [str(c) for c in values.columns]
    y = values.to_numpy(dtype=float)
    scores, w = agg.bod_scores(y, codes=codes, **bounds)
    contrib = w * np.nan_to_num(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = contrib / scores[:, None]
        rel = w / w.sum(axis=1, keepdims=True)
    n, k = w.shape
    return pd.DataFrame({
        "unit": np.repeat(values.index.to_numpy(), k),
        "code": np.tile(codes, n),
        "weight": w.reshape(-1),
        "share": share.reshape(-1),
        "relative": rel.reshape(-1),
        "score": np.repeat(scores, k),
    })


def _bod_group(x: pd.DataFrame, bounds: Mapping[str, Any]) -> pd.Series:
    """Mean over the units of the ``relative`` BoD weights of :func:`bod_weights` (NaN skipped)."""
    _check_bod_bounds(bounds)
    _, w = agg.bod_scores(x.to_numpy(dtype=float), codes=[str(c) for c in x.columns], **bounds)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = w / w.sum(axis=1, keepdims=True)
    # the tidy table's groupby("code").mean() (pandas' compensated sum), on integer codes
    n, k = rel.shape
    mean = pd.Series(rel.reshape(-1)).groupby(np.tile(np.arange(k), n)).mean().to_numpy()
    if not np.isfinite(mean).all() or mean.sum() <= 0:
        return pd.Series(1.0, index=x.columns)
    return pd.Series(mean, index=x.columns)


# ---------------------------------------------------------------------------------------------
# effective weights
# ---------------------------------------------------------------------------------------------


def effective_weights(aggregated: pd.DataFrame, meta: pd.DataFrame,
                      weights: pd.Series | Mapping[str, float] | None = None, *,
                      kind: Literal["correlation", "covariance"] = "correlation") -> pd.DataFrame:
    r"""Nominal versus effective weights: how much each child actually drives its aggregate.

    ``kind="correlation"`` (default): the squared Pearson correlation of the child with its
    parent's aggregate, scaled to sum to one within the parent,

    .. math:: e_i = \frac{\rho^2(x_i, y_P)}{\sum_{j \in \mathrm{sib}(i)} \rho^2(x_j, y_P)},

    i.e. the normalised first-order importance :math:`S_i = V[E(y|x_i)]/V(y)` under a linear
    dependence (Paruolo, Saisana & Saltelli 2013, eq. 6). ``kind="covariance"``: the
    variance decomposition of a weighted sum,
    :math:`e_i = w_i \operatorname{cov}(x_i, y_P) / \operatorname{var}(y_P)`, which sums to
    one exactly for an arithmetic aggregate of complete data (shares can be negative).

    Parameters
    ----------
    aggregated : DataFrame
        Units × every code (indicators and aggregates), e.g. ``IndexResult.aggregated`` or
        :func:`pmm_lib.core.aggregate.aggregate_hierarchy`.
    meta : DataFrame
        The hierarchy.
    weights : Series or mapping, optional
        Nominal weights (default: meta weights), normalised within each parent.
    kind : {"correlation", "covariance"}

    Returns
    -------
    DataFrame
        One row per code below the top: ``code, parent, level, nominal, effective, pearson``
        (Pearson correlation with the parent, pairwise complete), ``n`` (units used).

    References
    ----------
    Paruolo, P., Saisana, M. & Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    *Journal of the Royal Statistical Society A* 176(3), 609–634.
    doi:10.1111/j.1467-985X.2012.01059.x.
    """
    if kind not in ("correlation", "covariance"):
        raise SpecError(f"unknown kind {kind!r}; allowed: correlation, covariance")
    m = _meta(meta)
    nominal = normalise_within_parent({} if weights is None else weights, m)
    sub = _below_top(m)
    absent = [c for c in m["code"] if c not in aggregated.columns]
    if absent:
        raise InputError(f"aggregated lacks code(s) {', '.join(absent[:5])}", column=absent[0])
    rows = []
    for par, group in sub.groupby(sub["parent"].astype(str), sort=False):
        kids = group["code"].tolist()
        x = aggregated[kids].to_numpy(dtype=float)
        y = aggregated[par].to_numpy(dtype=float)
        r = _corr_with(x, y)
        n = (np.isfinite(x) & np.isfinite(y)[:, None]).sum(axis=0)
        if kind == "correlation":
            r2 = np.where(np.isfinite(r), r**2, 0.0)
            eff = r2 / r2.sum() if r2.sum() > 0 else np.full(len(kids), np.nan)
        else:
            eff = np.full(len(kids), np.nan)
            for j, c in enumerate(kids):
                ok = np.isfinite(x[:, j]) & np.isfinite(y)
                if ok.sum() >= 3 and np.var(y[ok]) > 0:
                    cov = np.cov(x[ok, j], y[ok])[0, 1]
                    eff[j] = nominal[c] * cov / np.var(y[ok], ddof=1)
        for j, c in enumerate(kids):
            rows.append({"code": c, "parent": par, "level": int(group["level"].iloc[j]),
                         "nominal": float(nominal[c]), "effective": float(eff[j]),
                         "pearson": float(r[j]), "n": int(n[j])})
    out = pd.DataFrame(rows)
    order = {c: i for i, c in enumerate(m["code"])}
    return out.sort_values("code", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# names → weights
# ---------------------------------------------------------------------------------------------

_OPTIONS: dict[str, tuple[str, ...]] = {
    "framework": (),
    "equal": (),
    "explicit": ("values",),
    "file": ("path",),
    "budget": ("points",),
    "ahp": ("matrix", "judgements", "path", "codes", "max_cr"),
    "pca": ("levels", "n_factors", "min_eigenvalue", "min_share", "cumulative", "rotation"),
    "balanced": ("levels", "min_weight"),
    "bod": ("levels", "share_lower", "share_upper", "weight_lower", "weight_upper"),
}


def resolve_weights(method: str, normalised: pd.DataFrame | None, meta: pd.DataFrame,
                    **options: Any) -> pd.Series:
    """Weights of every code below the top for a weighting method named in a spec.

    The one place where a weighting name becomes a computation.

    ==========  =====================================================================
    method      options
    ==========  =====================================================================
    framework   — (meta weights)
    equal       —
    explicit    ``values``: mapping code → weight (any level)
    file        ``path``: CSV (code, weight) or YAML mapping
    budget      ``points``: experts × codes DataFrame or CSV path (mean shares)
    ahp         ``matrix`` / ``judgements`` / ``path``; ``codes``; ``max_cr`` (0.1)
    pca         ``levels``, ``n_factors``, ``min_eigenvalue``, ``min_share``, ``cumulative``
    balanced    ``levels``, ``min_weight``
    bod         ``levels``, ``share_lower`` … (mean of the units' relative BoD weights)
    ==========  =====================================================================

    Codes that a participatory method (explicit, file, budget, ahp) does not name keep their
    framework weight. Data-driven methods need ``normalised``.

    Returns
    -------
    Series
        code → weight, normalised to sum to one within each parent.

    Raises
    ------
    SpecError
        Unknown method or option (the message lists the allowed names), or a method that
        needs data called without it.
    """
    if method not in WEIGHT_METHODS:
        raise SpecError(f"unknown weighting method {method!r}; allowed: {', '.join(WEIGHT_METHODS)}")
    allowed = _OPTIONS[method]
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise SpecError(f"weights method {method!r}: unknown option(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(allowed) or '(none)'}")
    if method == "framework":
        return framework(meta)
    if method == "equal":
        return equal(meta)
    if method == "explicit":
        if "values" not in options:
            raise SpecError("weights method 'explicit' needs values: {code: weight}")
        return explicit(options["values"], meta)
    if method == "file":
        if "path" not in options:
            raise SpecError("weights method 'file' needs path")
        return explicit(Path(options["path"]), meta)
    if method == "budget":
        if "points" not in options:
            raise SpecError("weights method 'budget' needs points (experts × codes, or a CSV path)")
        table = budget_allocation(options["points"], meta)
        return normalise_within_parent(table.set_index("code")["weight"], meta)
    if method == "ahp":
        sources = [k for k in ("matrix", "judgements", "path") if k in options]
        if len(sources) != 1:
            raise SpecError("weights method 'ahp' needs exactly one of matrix, judgements, path")
        res = ahp(options[sources[0]], codes=options.get("codes"),
                  max_cr=options.get("max_cr", 0.1))
        return normalise_within_parent(res.weights, meta)
    if normalised is None:
        raise SpecError(f"weights method {method!r} needs the normalised data")
    levels = options.pop("levels", None)
    if method == "pca":
        return pca_weights(normalised, meta, levels=levels, **options)
    if method == "balanced":
        return balanced_weights(normalised, meta, levels=levels, **options)
    return _level_by_level(normalised, meta, lambda x: _bod_group(x, options), levels)


# ---------------------------------------------------------------------------------------------
# comparing weighting schemes
# ---------------------------------------------------------------------------------------------


def compare_schemes(normalised: pd.DataFrame, meta: pd.DataFrame,
                    schemes: Mapping[str, pd.Series | Mapping[str, float]], *,
                    methods: Mapping[str, str | Sequence[str]] | None = None,
                    min_coverage: float = 0.0, code: str | None = None) -> pd.DataFrame:
    """Index scores and ranks of the units under several weighting schemes.

    Parameters
    ----------
    normalised : DataFrame
        Units × level-1 indicators.
    meta : DataFrame
        The hierarchy.
    schemes : mapping name → weights
        Each a Series/mapping code → weight (e.g. from :func:`resolve_weights`). The first
        scheme is the reference for ``rank_shift``.
    methods : mapping name → aggregation method(s), optional
        Per-scheme aggregation (default arithmetic at every level), as accepted by
        :func:`pmm_lib.core.aggregate.aggregate_hierarchy`.
    min_coverage : float
        Passed to :func:`~pmm_lib.core.aggregate.aggregate_hierarchy`.
    code : str, optional
        The aggregate to compare (default the top of the hierarchy).

    Returns
    -------
    DataFrame
        Tidy: ``unit, scheme, score, rank`` (1 = best, ties share the lowest rank) and
        ``rank_shift`` (reference rank − rank: positive = moves up under this scheme).
    """
    if not schemes:
        raise SpecError("compare_schemes needs at least one scheme")
    m = _meta(meta)
    top = code or str(m.loc[m["level"] == m["level"].max(), "code"].iloc[0])
    methods = dict(methods or {})
    unknown = [k for k in methods if k not in schemes]
    if unknown:
        raise SpecError(f"methods name unknown scheme(s) {', '.join(unknown)}; "
                        f"schemes: {', '.join(schemes)}")
    leaves = m.loc[m["level"] == 1, "code"].tolist()
    frames = []
    for name, w in schemes.items():
        out = agg.aggregate_hierarchy(normalised[leaves], m, weights=pd.Series(w, dtype=float),
                                      method=methods.get(name, "arithmetic"),
                                      min_coverage=min_coverage)
        s = out[top]
        frames.append(pd.DataFrame({"unit": normalised.index, "scheme": name,
                                    "score": s.to_numpy(),
                                    "rank": rank_desc(s.to_numpy())}))
    tidy = pd.concat(frames, ignore_index=True)
    ref = tidy[tidy["scheme"] == next(iter(schemes))].set_index("unit")["rank"]
    tidy["rank_shift"] = tidy["unit"].map(ref).to_numpy() - tidy["rank"].to_numpy()
    return tidy


def rank_shift_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Summary of :func:`compare_schemes`: how far each scheme moves the ranks.

    Returns
    -------
    DataFrame
        One row per scheme: ``scheme, n`` (ranked units), ``mean_abs_shift``,
        ``max_abs_shift``, ``share_moved`` (share of units whose rank changes) and
        ``spearman`` (rank correlation of the scores with the reference scheme's).
    """
    ref_name = comparison["scheme"].iloc[0]
    ref = comparison[comparison["scheme"] == ref_name].set_index("unit")["score"]
    rows = []
    for name, g in comparison.groupby("scheme", sort=False):
        shift = g["rank_shift"].abs()
        ok = g["score"].notna().to_numpy() & g["unit"].map(ref).notna().to_numpy()
        rho = (pd.Series(g["score"].to_numpy()[ok]).corr(
            pd.Series(g["unit"].map(ref).to_numpy()[ok]), method="spearman")
            if ok.sum() > 2 else np.nan)
        rows.append({"scheme": name, "n": int(ok.sum()), "mean_abs_shift": float(shift.mean()),
                     "max_abs_shift": float(shift.max()),
                     "share_moved": float((shift > 0).mean()), "spearman": float(rho)})
    return pd.DataFrame(rows)


def scheme_table(schemes: Mapping[str, pd.Series | Mapping[str, float]], meta: pd.DataFrame
                 ) -> pd.DataFrame:
    """Tidy table of several weighting schemes: ``scheme, code, parent, level, weight``.

    Each scheme's weights are completed with the framework weights and normalised within
    each parent (:func:`normalise_within_parent`), so schemes are directly comparable.
    """
    m = _meta(meta)
    sub = _below_top(m).set_index("code")
    frames = []
    for name, w in schemes.items():
        s = normalise_within_parent(pd.Series(w, dtype=float).reindex(
            [c for c in pd.Series(w, dtype=float).index if c in sub.index]), m)
        frames.append(pd.DataFrame({"scheme": name, "code": s.index,
                                    "parent": sub.loc[s.index, "parent"].to_numpy(),
                                    "level": sub.loc[s.index, "level"].to_numpy(),
                                    "weight": s.to_numpy()}))
    return pd.concat(frames, ignore_index=True)
