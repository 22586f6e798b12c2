"""Loader for data in the COINr format (``iData`` + ``iMeta`` tables).

This module owns reading a COINr-style pair of CSV files into the shapes the method core
consumes: the units x indicators matrix, the hierarchy ``meta`` table (the same columns as
:meth:`pmm_lib.inputs.framework.Framework.meta`, plus ``unit``, ``target`` and ``denominator``),
grouping columns, denominators, and other time points as a panel. It lets the workbench be
cross-checked against COINr (Becker et al. 2022, doi:10.21105/joss.04567) on data nobody here
made, and lets the methodology team build any index published in that format.

Format (COINr ``new_coin``): ``iData`` has ``uCode`` (unit code), optional ``uName``,
grouping columns (``*_group`` or declared ``Type = Group`` in iMeta), optional ``Time``,
denominators (``Type = Denominator``) and one column per indicator. ``iMeta`` has one row per
indicator, aggregate, group and denominator with ``Level, iCode, iName, Direction, Weight,
Parent, Type`` and optional ``Unit, Target, Denominator``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError

__all__ = ["CoinrData", "load_coinr"]

_META_REQUIRED = ("iCode", "Level", "Direction", "Weight", "Parent", "Type")
_TYPES = ("Indicator", "Aggregate", "Group", "Denominator", "Other")


@dataclass(frozen=True)
class CoinrData:
    """A COINr data set in the method core's shapes.

    Attributes
    ----------
    data : DataFrame
        Units x indicators (index ``uCode``, columns in iMeta order), floats.
    meta : DataFrame
        ``code, name, level, parent, direction, weight, unit, target, denominator`` for
        indicators (level 1) and aggregates (levels 2..top).
    groups : DataFrame
        Units x grouping columns (strings).
    denominators : DataFrame
        Units x denominator columns (floats).
    names : Series
        uCode -> uName.
    time : object
        The time point loaded (None when iData has no ``Time`` column).
    panel : dict
        Other time points: time -> units x indicators matrix (for panel imputation).
    """

    data: pd.DataFrame
    meta: pd.DataFrame
    groups: pd.DataFrame
    denominators: pd.DataFrame
    names: pd.Series
    time: Any = None
    panel: dict[Any, pd.DataFrame] = field(default_factory=dict)


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file: {exc}", file=path) from None


def _numeric(frame: pd.DataFrame, cols: list[str], path: Path) -> pd.DataFrame:
    out = {}
    for c in cols:
        s = frame[c].str.strip()
        s = s.mask(s.isin(["", "NA", "NaN", "nan"]))
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"value {s.iloc[i]!r} is not a number", file=path, row=i + 2, column=c,
                             expected="a number, or empty / NA for missing")
        out[c] = num.astype("float64")
    return pd.DataFrame(out, index=frame.index)


def load_coinr(idata: str | Path, imeta: str | Path, *, time: Any = None) -> CoinrData:
    """Read a COINr-format data set.

    Parameters
    ----------
    idata, imeta : path
        The two CSV files (``NA`` or empty = missing in numeric columns; unit codes are
        read literally, so Namibia's "NA" survives).
    time : optional
        Which ``Time`` value to load when iData holds several (default: the latest); the
        others go to :attr:`CoinrData.panel`.

    Raises
    ------
    InputError
        Missing columns, unknown parents, bad directions or weights, non-numeric values,
        duplicated unit codes, naming the file, row and column.

    Examples
    --------
    >>> from pathlib import Path
    >>> d = Path(__file__).resolve().parents[2] / "tests" / "data" / "coinr-asem"
    >>> asem = load_coinr(d / "ASEM_iData.csv", d / "ASEM_iMeta.csv")
    >>> asem.data.shape, int(asem.meta["level"].max())
    ((51, 49), 4)
    """
    ipath, mpath = Path(idata), Path(imeta)
    raw_meta = _read(mpath)
    missing = [c for c in _META_REQUIRED if c not in raw_meta.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}", file=mpath, column=missing[0],
                         expected=", ".join(_META_REQUIRED))
    types = raw_meta["Type"].str.strip()
    for i, t in enumerate(types):
        if t not in _TYPES:
            raise InputError(f"unknown Type {t!r}", file=mpath, row=i + 2, column="Type",
                             expected=", ".join(_TYPES))
    codes = raw_meta["iCode"].str.strip()
    dup = codes[codes.duplicated()]
    if len(dup):
        raise InputError(f"duplicated iCode {dup.iloc[0]!r}", file=mpath, row=int(dup.index[0]) + 2,
                         column="iCode")
    is_tree = types.isin(["Indicator", "Aggregate"]).to_numpy()
    tree = raw_meta.loc[is_tree]
    nums = _numeric(tree, ["Level", "Direction", "Weight"], mpath)
    rows = tree.index.to_numpy()
    for c, expect in (("Level", "a whole number >= 1"), ("Weight", "a number >= 0")):
        v = nums[c]
        bad = v.isna() | (v < (1 if c == "Level" else 0)) | ((v % 1 != 0) if c == "Level" else False)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"bad {c} {tree[c].iloc[i]!r}", file=mpath, row=int(rows[i]) + 2,
                             column=c, expected=expect)
    direction = nums["Direction"].fillna(1.0)
    bad = ~direction.isin([1.0, -1.0])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"bad Direction {tree['Direction'].iloc[i]!r}", file=mpath,
                         row=int(rows[i]) + 2, column="Direction", expected="1 or -1")
    parent = tree["Parent"].str.strip().replace({"NA": "", "NaN": ""})
    level = nums["Level"].astype(int)
    tcodes = codes[is_tree]
    top = int(level.max())
    known = set(tcodes)
    lvl_of = dict(zip(tcodes, level, strict=True))
    for i, (code, par, lv) in enumerate(zip(tcodes, parent, level, strict=True)):
        if lv == top:
            continue
        if par not in known:
            raise InputError(f"{code}: unknown Parent {par!r}", file=mpath, row=int(rows[i]) + 2,
                             column="Parent", expected="the iCode of an aggregate one level up")
        if lvl_of[par] != lv + 1:
            raise InputError(f"{code} (level {lv}) has parent {par} at level {lvl_of[par]}",
                             file=mpath, row=int(rows[i]) + 2, column="Parent",
                             expected=f"a parent at level {lv + 1}")
    opt = lambda c: (tree[c].str.strip().replace({"NA": ""}) if c in tree.columns  # noqa: E731
                     else pd.Series("", index=tree.index))
    target = (_numeric(tree.assign(Target=opt("Target")), ["Target"], mpath)["Target"]
              if "Target" in tree.columns else pd.Series(np.nan, index=tree.index))
    den = opt("Denominator")
    meta = pd.DataFrame({
        "code": tcodes.to_numpy(),
        "name": opt("iName").to_numpy(),
        "level": level.to_numpy(),
        "parent": parent.mask(parent == "").to_numpy(),
        "direction": direction.astype(int).to_numpy(),
        "weight": nums["Weight"].to_numpy(),
        "unit": opt("Unit").to_numpy(),
        "target": target.to_numpy(),
        "denominator": den.mask(den == "").to_numpy(),
    })
    meta = meta.sort_values("level", kind="stable").reset_index(drop=True)
    ind_codes = meta.loc[meta["level"] == 1, "code"].tolist()
    group_cols = codes[types == "Group"].tolist()
    den_cols = codes[types == "Denominator"].tolist()
    for d in meta["denominator"].dropna().unique():
        if d not in den_cols:
            raise InputError(f"denominator {d!r} is not declared with Type = Denominator",
                             file=mpath, column="Denominator")

    raw = _read(ipath)
    if "uCode" not in raw.columns:
        raise InputError("missing column 'uCode'", file=ipath, column="uCode")
    group_cols += [c for c in raw.columns if c.endswith("_group") and c not in group_cols]
    need = ind_codes + den_cols  # declared group columns are optional (only group imputation uses them)
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputError(f"missing column(s) {missing[:5]} declared in {mpath.name}", file=ipath,
                         column=missing[0])
    if "Time" in raw.columns:
        times = _numeric(raw, ["Time"], ipath)["Time"]
        if times.isna().any():
            i = int(np.flatnonzero(times.isna().to_numpy())[0])
            raise InputError("missing Time", file=ipath, row=i + 2, column="Time")
        times = times.astype(int)
        chosen = int(times.max()) if time is None else int(time)
        if chosen not in set(times):
            raise InputError(f"no rows with Time = {time}", file=ipath, column="Time",
                             expected=f"one of {sorted(set(times))}")
    else:
        times, chosen = None, None
    ucode = raw["uCode"].str.strip()

    def matrix(mask: np.ndarray) -> tuple[pd.DataFrame, pd.Index]:
        idx = pd.Index(ucode[mask].to_numpy(), name="uCode")
        dups = idx[idx.duplicated()]
        if len(dups):
            r = int(np.flatnonzero((ucode == dups[0]).to_numpy() & mask)[1]) + 2
            raise InputError(f"duplicated uCode {dups[0]!r}", file=ipath, row=r, column="uCode",
                             expected="one row per unit (and Time)")
        vals = _numeric(raw.loc[mask], ind_codes, ipath)
        vals.index = idx
        return vals, idx

    sel = np.ones(len(raw), dtype=bool) if times is None else (times == chosen).to_numpy()
    data, idx = matrix(sel)
    dens = _numeric(raw.loc[sel], den_cols, ipath)
    dens.index = idx
    groups = raw.loc[sel, [c for c in group_cols if c in raw.columns]].copy()
    groups.index = idx
    names = pd.Series(raw.loc[sel, "uName"].to_numpy() if "uName" in raw.columns else idx.to_numpy(),
                      index=idx, name="uName")
    panel: dict[Any, Any] = {}
    if times is not None:
        for year in sorted(set(times) - {chosen}):
            panel[year] = matrix((times == year).to_numpy())[0]
    return CoinrData(data=data, meta=meta, groups=groups, denominators=dens, names=names,
                     time=chosen, panel=panel)
