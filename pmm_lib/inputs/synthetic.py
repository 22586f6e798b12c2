r"""The synthetic default PMM dataset: simulated KPI returns with a planted, documented truth.

Real PMM returns are confidential, so the workbench ships simulated returns that behave like
real ones and carry a known truth, against which every method can be checked. This module owns
the generator (:func:`generate`), the bundled files it writes (:func:`write_dataset`:
``data/raw/questionnaires/pmm_returns.csv`` and ``truth.json``) and the ``pmm synth`` command.
The outcome data used as anchors are real (:func:`pmm_lib.inputs.data.load_outcomes`); the KPI values
are not.

The model (all draws from one generator seeded by ``seed``)
------------------------------------------------------------
1. **Latent performance** of Member *i*. Three real anchors, each standardised over the Members
   that have it: :math:`a_1` = LPI Customs score 2018, :math:`a_2 = -\log(1 + t)` with *t* the
   Doing Business DB2020 time to import, border compliance (hours), :math:`a_3` = WGI government
   effectiveness 2022. :math:`A_i = \sum_j w_j a_{ij} / \sum_{j\,\mathrm{avail}} w_j` with
   :math:`w = (0.4, 0.3, 0.3)`. A Member with no anchor gets its income group's mean
   :math:`A` plus :math:`N(0, 0.5^2)`. Then
   :math:`\eta_i = \mathrm{std}(A_i + N(0, 0.35^2))` (mean 0, s.d. 1 over the 186 Members).
2. **Participation** (voluntary, stronger administrations more likely): per cycle and region a
   fixed number of Members (:data:`QUOTAS`: 62 in 2022, 110 in 2024) is drawn without replacement
   with probabilities proportional to :math:`\exp(1.2\,\eta_i)` (Gumbel top-k); in 2022 the
   key gets +1.5 for 2024 participants (a panel). Members that joined the WCO after a cycle's
   year are not eligible for it (an unknown accession year, Equatorial Guinea's, counts as 2022).
3. **KPI score** of Member *i*, KPI *k*, cycle *c*:
   :math:`z_{ikc} = \lambda_k s_k (\eta_i + \delta_c) + \sqrt{1 - \lambda_k^2}\,
   (\rho u_{ik} + \sqrt{1-\rho^2}\, e_{ikc})`, with loading :math:`\lambda_k \sim U(0.6, 0.9)`
   for sound KPIs, :math:`s_k` the framework direction, :math:`\delta = (0, 0.15)` (a general
   improvement), :math:`\rho = 0.6` (persistence), :math:`u \sim N(0,1)`, and heavy-tailed
   :math:`e \sim t_5 / \sqrt{5/3}`.
4. **Value** = a monotone bounded transform of *z* into the KPI's unit and bounds: shares
   :math:`L + (U-L)\,\mathrm{expit}(\mathrm{logit}(m_k) + b_k z)`; times, counts and rates
   :math:`\mathrm{clip}(\mathrm{median}_k\, e^{0.6 z}, L, U)` (counts rounded); percentage changes
   :math:`100\,(e^{0.03 + 0.3 z} - 1)`. Per-KPI centres are in :data:`KPI_SHAPES`.
5. **Skips**: only KPIs with ``optional: true``; :math:`P(\mathrm{skip}) = \mathrm{expit}(
   \mathrm{logit}(0.15) - 0.8\,\eta_i)` (weaker administrations skip more).
6. **Disclosure**: the framework default; 15% of Members are *restrictive* and raise each KPI one
   level (public -> wco -> restricted) with probability 0.5; others raise a value with probability 0.03.
7. **Errors**: about 0.6% of values of sound KPIs are gross outliers (:math:`z` pushed 4-6 s.d.
   towards an extreme, still inside the bounds); 6 shares reported as fractions (0.85 for 85) and
   up to 2 rates per million reported x1000 (``unit_slips``), all inside the bounds.

Planted truth (recorded in ``truth.json``)
------------------------------------------
* ``unrelated_kpis`` K28, K33, K37: :math:`\lambda = 0` (pure noise).
* ``misdirected_kpi`` K40 (staff turnover, framework direction -1): generated with
  :math:`s_k = +1`, so after orienting by the framework it correlates *negatively* with performance.
* ``collinear_pair`` (K46, K47), both in dimension OD: :math:`z_{K47} = z_{K46} + N(0, 0.1^2)` and the
  same transform, so |r| > 0.95.
* ``missing_group``: Members that are UN small island developing states (``sids``) never report
  expected outcome O16 (K29, K30).
* Every other KPI is ``sound``.

Sources of the anchors: see ``data/raw/external/SOURCES.md``. The design follows the usual
simulation set-up for composite indicators with a known latent factor (OECD/JRC (2008) *Handbook
on Constructing Composite Indicators*, doi:10.1787/9789264043466-en).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from pmm_lib import paths
from pmm_lib.errors import InputError
from pmm_lib.inputs.data import REGIONS, load_members, load_outcomes, outcome_wide
from pmm_lib.inputs.framework import DISCLOSURE_LEVELS, Framework, load_framework
from pmm_lib.io import write_text_atomic, write_with
from pmm_lib.seed import SeedLike, rng
from pmm_lib.vocab import DEFAULT_SEED

__all__ = [
    "ANCHORS",
    "COLLINEAR_PAIR",
    "DEFAULT_SEED",
    "KPI_SHAPES",
    "MISDIRECTED_KPI",
    "MISSING_GROUP_KPIS",
    "QUOTAS",
    "SyntheticDataset",
    "UNRELATED_KPIS",
    "generate",
    "latent_performance",
    "write_dataset",
]

CYCLES: tuple[int, ...] = (2022, 2024)
#: Participants per cycle and region (62 in 2022, 110 in 2024).
QUOTAS: dict[int, dict[str, int]] = {
    2022: {"AMS": 12, "AP": 11, "ESA": 8, "EUR": 17, "MENA": 6, "WCA": 8},
    2024: {"AMS": 22, "AP": 20, "ESA": 14, "EUR": 30, "MENA": 11, "WCA": 13},
}
#: anchor variable -> (year, sign, weight)
ANCHORS: dict[str, tuple[int, int, float]] = {
    "lpi_customs": (2018, 1, 0.4),
    "db_time_import_border_h": (2020, -1, 0.3),
    "wgi_ge": (2022, 1, 0.3),
}
UNRELATED_KPIS: tuple[str, ...] = ("K28", "K33", "K37")
MISDIRECTED_KPI = "K40"
COLLINEAR_PAIR: tuple[str, str] = ("K46", "K47")
MISSING_GROUP_KPIS: tuple[str, ...] = ("K29", "K30")

ANCHOR_NOISE_SD = 0.35
IMPUTE_NOISE_SD = 0.5
PARTICIPATION_SLOPE = 1.2
PANEL_BONUS = 1.5
CYCLE_SHIFT = {2022: 0.0, 2024: 0.15}
PERSISTENCE = 0.6
T_DF = 5
LOADING_RANGE = (0.6, 0.9)
SKIP_BASE, SKIP_SLOPE = 0.15, 0.8
RESTRICTIVE_SHARE, RESTRICTIVE_RAISE, RANDOM_RAISE = 0.15, 0.5, 0.03
OUTLIER_RATE, N_FRACTION_SLIPS, N_THOUSAND_SLIPS = 0.006, 6, 2
COLLINEAR_NOISE_SD = 0.1

#: KPI -> (kind, centre, slope). kind "share": centre = median as a fraction of the range;
#: "scale": centre = median in the KPI's unit; "change": percentage change. Unlisted KPIs: by unit.
KPI_SHAPES: dict[str, tuple[str, float, float]] = {
    "K01": ("scale", 48.0, 0.6), "K10": ("scale", 30.0, 0.6), "K11": ("scale", 12.0, 0.6),
    "K26": ("scale", 5.0, 0.6), "K29": ("scale", 3.0, 0.6), "K35": ("scale", 4.0, 0.6),
    "K37": ("scale", 45.0, 0.6), "K38": ("scale", 40.0, 0.6), "K41": ("scale", 2.0, 0.6),
    "K50": ("scale", 4.0, 0.6),
    "K09": ("share", 0.2, 0.9), "K12": ("share", 0.2, 0.9), "K14": ("share", 0.05, 0.7),
    "K15": ("share", 0.5, 0.3), "K17": ("share", 0.1, 0.8), "K19": ("share", 0.08, 0.8),
    "K20": ("share", 0.1, 0.8), "K24": ("share", 0.1, 0.8), "K40": ("share", 0.12, 0.6),
    "K44": ("share", 0.8, 0.9), "K45": ("share", 0.1, 0.7), "K48": ("share", 0.62, 0.4),
}
_COUNT_UNITS = {"count"}


@dataclass(frozen=True)
class SyntheticDataset:
    """A generated dataset.

    Attributes
    ----------
    observations : DataFrame
        Tidy: ``member, cycle, kpi, value, disclosure, source, flag`` (source ``"synthetic"``, flag ``""``).
    truth : dict
        The planted truth and the model (what ``truth.json`` holds).
    latent : Series
        Latent performance per Member (index ``member``, all 186 Members).
    anchors : DataFrame
        The real anchors per Member (index ``member``) and the combined anchor ``anchor``.
    """

    observations: pd.DataFrame
    truth: dict[str, Any]
    latent: pd.Series
    anchors: pd.DataFrame = field(repr=False)


def _standardise(x: pd.Series) -> pd.Series:
    return (x - x.mean()) / x.std(ddof=0)


def latent_performance(members: pd.DataFrame, outcomes: pd.DataFrame, seed: SeedLike = DEFAULT_SEED,
                       ) -> tuple[pd.Series, pd.DataFrame]:
    r"""Latent performance per Member, anchored in real outcome data (model step 1).

    Parameters
    ----------
    members : DataFrame
        :func:`pmm_lib.inputs.data.load_members`.
    outcomes : DataFrame
        :func:`pmm_lib.inputs.data.load_outcomes`.
    seed : int, Generator or None
        Random seed.

    Returns
    -------
    latent : Series
        :math:`\eta_i`, mean 0 and s.d. 1 over Members, index ``member``.
    anchors : DataFrame
        Standardised, signed anchors (NaN where missing), ``anchor`` (the weighted mean) and
        ``imputed`` (True where no anchor was available).
    """
    gen = rng(seed)
    ids = members["member"].tolist()
    years = {v: y for v, (y, _, _) in ANCHORS.items()}
    wide = outcome_wide(outcomes, list(ANCHORS), years).reindex(ids)
    wide["db_time_import_border_h"] = np.log1p(wide["db_time_import_border_h"])
    z = pd.DataFrame({v: s * _standardise(wide[v]) for v, (_, s, _) in ANCHORS.items()})
    weights = pd.Series({v: w for v, (_, _, w) in ANCHORS.items()})
    avail = z.notna()
    num = (z.fillna(0.0) * weights).sum(axis=1)
    den = (avail * weights).sum(axis=1)
    anchor = num / den.where(den > 0)
    imputed = anchor.isna()
    income = members.set_index("member")["income_group"].astype(object).reindex(ids)
    group_mean = anchor.groupby(income).mean()
    fill = income.map(group_mean).astype(float).fillna(anchor.mean())
    extra = pd.Series(gen.normal(0.0, IMPUTE_NOISE_SD, len(ids)), index=ids)
    anchor = anchor.where(~imputed, fill + extra)
    noisy = anchor + gen.normal(0.0, ANCHOR_NOISE_SD, len(ids))
    latent = _standardise(noisy).rename("latent")
    latent.index.name = "member"
    out = z.assign(anchor=anchor, imputed=imputed)
    out.index.name = "member"
    return latent, out


def _participants(members: pd.DataFrame, latent: pd.Series, gen: np.random.Generator,
                  ) -> dict[int, list[str]]:
    """Gumbel top-k draws per cycle and region (model step 2)."""
    joined = members["joined"].fillna("").astype(str).str[:4]
    joined_year = pd.to_numeric(joined, errors="coerce").fillna(2022).astype(int).to_numpy()
    region = members["region"].astype(str).to_numpy()
    ids = members["member"].to_numpy()
    eta = latent.reindex(ids).to_numpy()
    chosen: dict[int, list[str]] = {}
    for cycle in sorted(CYCLES, reverse=True):  # 2024 first: 2022 is drawn as a panel of it
        keys = PARTICIPATION_SLOPE * eta + gen.gumbel(size=len(ids))
        if cycle != max(CYCLES):
            later = np.isin(ids, chosen[max(CYCLES)])
            keys = keys + PANEL_BONUS * later
        picked: list[str] = []
        for reg in REGIONS:
            eligible = np.flatnonzero((region == reg) & (joined_year <= cycle))
            quota = QUOTAS[cycle][reg]
            if quota > len(eligible):
                raise InputError(f"region {reg} has {len(eligible)} eligible Members for cycle {cycle}",
                                 column="region", expected=f"at least {quota}")
            order = eligible[np.argsort(-keys[eligible], kind="stable")]
            picked += ids[order[:quota]].tolist()
        chosen[cycle] = sorted(picked)
    return chosen


def _transform(kind: str, centre: float, slope: float, lower: float, upper: float,
               z: np.ndarray, count: bool) -> np.ndarray:
    """Monotone bounded map of a score into a KPI's unit (model step 4)."""
    if kind == "share":
        v = lower + (upper - lower) * expit(logit(centre) + slope * z)
    elif kind == "scale":
        v = np.clip(centre * np.exp(slope * z), lower, upper)
        if count:
            return np.clip(np.round(v), lower, upper)
    else:  # change
        v = np.clip(100.0 * (np.exp(0.03 + 0.3 * z) - 1.0), lower, upper)
    return np.round(v, 2)


def _shape(kpi: Any) -> tuple[str, float, float]:
    if kpi.code in KPI_SHAPES:
        return KPI_SHAPES[kpi.code]
    if kpi.unit == "% change":
        return ("change", 0.0, 0.3)
    if kpi.unit == "%":
        return ("share", 0.6, 0.9)
    return ("scale", (kpi.lower + kpi.upper) / 10.0, 0.6)


def _check_planted(fw: Framework) -> None:
    codes = set(fw.kpi_codes)
    planted = [*UNRELATED_KPIS, MISDIRECTED_KPI, *COLLINEAR_PAIR, *MISSING_GROUP_KPIS]
    for code in planted:
        if code not in codes:
            raise InputError(f"planted KPI {code} is not in the framework", file=fw.path, column="code")
    a, b = (fw.kpi(c) for c in COLLINEAR_PAIR)
    dims = {o.code: o.parent for o in fw.outcomes}
    if dims[a.parent] != dims[b.parent]:
        raise InputError(f"collinear pair {a.code}, {b.code} must share a dimension", file=fw.path)
    for code in MISSING_GROUP_KPIS:
        if not fw.kpi(code).optional:
            raise InputError(f"{code} must be optional to be skipped by a group", file=fw.path)


def generate(seed: SeedLike = DEFAULT_SEED, *, defects: bool = True) -> SyntheticDataset:
    """Generate the synthetic PMM dataset (deterministic for an integer seed).

    Parameters
    ----------
    seed : int, Generator or None
        Random seed (default 20240601, the bundled dataset).
    defects : bool
        ``False`` generates the same design without the planted defects (every KPI sound, no
        misdirection, no collinear pair, no group that skips O16): the null case against which
        the findings must advise no drop. ``truth.json`` then lists no planted KPI.

    Returns
    -------
    SyntheticDataset
        ``observations`` (tidy), ``truth`` (dict), ``latent`` (Series), ``anchors``.

    Examples
    --------
    >>> ds = generate(1)
    >>> ds.observations.groupby("cycle")["member"].nunique().to_dict()
    {2022: 62, 2024: 110}
    >>> ds.truth["misdirected_kpi"]
    'K40'
    """
    seed_value = seed if isinstance(seed, int) else None
    gen = rng(seed)
    fw = load_framework()
    _check_planted(fw)
    members = load_members()
    latent, anchors = latent_performance(members, load_outcomes(), gen)
    chosen = _participants(members, latent, gen)
    kpis = list(fw.kpis)
    n_k = len(kpis)
    ids = members["member"].tolist()
    pos = {m: i for i, m in enumerate(ids)}
    n_m = len(ids)

    loadings = np.zeros(n_k)
    signs = np.array([k.direction for k in kpis], dtype=float)
    drawn = gen.uniform(*LOADING_RANGE, size=n_k)
    for j, k in enumerate(kpis):
        if k.code not in UNRELATED_KPIS or not defects:
            loadings[j] = drawn[j]
        if k.code == MISDIRECTED_KPI and defects:
            signs[j] = -k.direction
    persistent = gen.normal(size=(n_m, n_k))
    eta = latent.reindex(ids).to_numpy()
    sids = members["sids"].to_numpy()
    skip_p = expit(logit(SKIP_BASE) - SKIP_SLOPE * eta)
    optional = np.array([k.optional for k in kpis])
    missing_cols = np.isin([k.code for k in kpis], MISSING_GROUP_KPIS)
    ia, ib = (fw.kpi_codes.index(c) for c in COLLINEAR_PAIR)
    restrictive = np.sort(gen.choice(n_m, size=int(round(RESTRICTIVE_SHARE * n_m)), replace=False))
    restrictive_mask = np.zeros(n_m, bool)
    restrictive_mask[restrictive] = True
    level_index = {lvl: i for i, lvl in enumerate(DISCLOSURE_LEVELS)}
    default_level = np.array([level_index[k.disclosure] for k in kpis])

    frames = []
    outlier_rows: list[dict[str, Any]] = []
    for cycle in CYCLES:
        rows = np.array([pos[m] for m in chosen[cycle]])
        n = len(rows)
        e = gen.standard_t(T_DF, size=(n, n_k)) / np.sqrt(T_DF / (T_DF - 2))
        noise = PERSISTENCE * persistent[rows] + np.sqrt(1 - PERSISTENCE**2) * e
        perf = (eta[rows] + CYCLE_SHIFT[cycle])[:, None]
        z = loadings * signs * perf + np.sqrt(1 - loadings**2) * noise
        twin = z[:, ia] + gen.normal(0.0, COLLINEAR_NOISE_SD, n)
        if defects:
            z[:, ib] = twin
        # gross outliers on sound KPIs (not the planted ones)
        sound_cols = np.array([k.code not in _planted() for k in kpis])
        hit = (gen.random((n, n_k)) < OUTLIER_RATE) & sound_cols
        push = gen.uniform(4.0, 6.0, size=(n, n_k)) * np.where(gen.random((n, n_k)) < 0.5, -1.0, 1.0)
        regular = z.copy()
        z = np.where(hit, z + push, z)
        values = np.empty((n, n_k))
        regular_values = np.empty((n, n_k))
        for j, k in enumerate(kpis):
            kind, centre, slope = _shape(k)
            count = k.unit in _COUNT_UNITS
            values[:, j] = _transform(kind, centre, slope, k.lower, k.upper, z[:, j], count)
            regular_values[:, j] = _transform(kind, centre, slope, k.lower, k.upper, regular[:, j], count)
        skip = optional & (gen.random((n, n_k)) < skip_p[rows][:, None])
        if defects:
            skip |= sids[rows][:, None] & missing_cols
        raise_p = np.where(restrictive_mask[rows], RESTRICTIVE_RAISE, RANDOM_RAISE)[:, None]
        level = np.minimum(default_level + (gen.random((n, n_k)) < raise_p), len(DISCLOSURE_LEVELS) - 1)
        r_idx, c_idx = np.nonzero(~skip)
        member_codes = np.array(ids)[rows]
        frame = pd.DataFrame({
            "member": member_codes[r_idx],
            "cycle": cycle,
            "kpi": np.array(fw.kpi_codes)[c_idx],
            "value": values[r_idx, c_idx],
            "disclosure": np.array(DISCLOSURE_LEVELS)[level[r_idx, c_idx]],
            "source": "synthetic",
            "flag": "",
        })
        frames.append(frame)
        for r, c in zip(*np.nonzero(hit & ~skip), strict=True):
            outlier_rows.append(dict(member=str(member_codes[r]), cycle=cycle, kpi=fw.kpi_codes[c],
                                     value=float(values[r, c]), regular_value=float(regular_values[r, c])))
    obs = pd.concat(frames, ignore_index=True)
    outlier_keys = {(o["member"], o["cycle"], o["kpi"]) for o in outlier_rows}
    obs, slips = _unit_slips(obs, fw, gen, outlier_keys)
    obs = obs.sort_values(["cycle", "member", "kpi"], kind="stable").reset_index(drop=True)
    obs["cycle"] = obs["cycle"].astype(int)

    truth = _truth(seed_value, fw, members, latent, loadings, chosen, slips, outlier_rows,
                   [ids[i] for i in restrictive])
    if not defects:
        truth.update(sound_kpis=list(fw.kpi_codes), unrelated_kpis=[], misdirected_kpi=None,
                     collinear_pair=[], missing_group=None, defects=False)
    return SyntheticDataset(observations=obs, truth=truth, latent=latent, anchors=anchors)


def _planted() -> set[str]:
    return {*UNRELATED_KPIS, MISDIRECTED_KPI, *COLLINEAR_PAIR, *MISSING_GROUP_KPIS}


def _unit_slips(obs: pd.DataFrame, fw: Framework, gen: np.random.Generator,
                exclude: set[tuple[str, int, str]]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Plant unit slips inside the bounds: shares as fractions, rates per million x1000."""
    obs = obs.copy()
    units = {k.code: k.unit for k in fw.kpis if k.lower == 0}  # a fraction stays inside [0, U]
    keys = list(zip(obs["member"], obs["cycle"], obs["kpi"], strict=True))
    clean = np.array([key not in exclude and key[2] not in _planted() for key in keys])
    share = clean & obs["kpi"].map(units).eq("%").to_numpy() & (obs["value"].to_numpy() >= 20)
    rate = clean & (obs["kpi"] == "K29").to_numpy() & (obs["value"].to_numpy() * 1000 <= 5000) \
        & (obs["value"].to_numpy() > 0)
    slips: list[dict[str, Any]] = []
    for mask, count, factor, kind in ((share, N_FRACTION_SLIPS, 0.01, "share reported as a fraction"),
                                      (rate, N_THOUSAND_SLIPS, 1000.0, "rate reported x1000")):
        candidates = np.flatnonzero(mask)
        if len(candidates) == 0:
            continue
        picked = np.sort(gen.choice(candidates, size=min(count, len(candidates)), replace=False))
        for i in picked:
            correct = float(obs.at[i, "value"])  # type: ignore[arg-type]
            reported = round(correct * factor, 4)
            obs.at[i, "value"] = reported
            slips.append(dict(member=str(obs.at[i, "member"]), cycle=int(obs.at[i, "cycle"]),  # type: ignore[arg-type]
                              kpi=str(obs.at[i, "kpi"]), kind=kind, reported=reported, correct=correct))
    return obs, slips


def _truth(seed: int | None, fw: Framework, members: pd.DataFrame, latent: pd.Series,
           loadings: np.ndarray, chosen: dict[int, list[str]], slips: list[dict[str, Any]],
           outliers: list[dict[str, Any]], restrictive: list[str]) -> dict[str, Any]:
    region = members.set_index("member")["region"].astype(str)
    sids = sorted(members.loc[members["sids"], "member"].tolist())
    codes = fw.kpi_codes
    sound = [c for c in codes if c not in {*UNRELATED_KPIS, MISDIRECTED_KPI, *COLLINEAR_PAIR}]
    return {
        "description": "Planted truth of the synthetic PMM returns (pmm_lib.inputs.synthetic). KPI values are "
                       "simulated; the anchors of the latent performance are real public data.",
        "seed": seed,
        "cycles": list(CYCLES),
        "sound_kpis": sound,
        "unrelated_kpis": list(UNRELATED_KPIS),
        "misdirected_kpi": MISDIRECTED_KPI,
        "collinear_pair": list(COLLINEAR_PAIR),
        "missing_group": {
            "rule": "Members that are UN small island developing states (members.sids == True) never "
                    "report expected outcome O16",
            "variable": "sids", "values": [True], "outcome": "O16",
            "kpis": list(MISSING_GROUP_KPIS), "members": sids,
        },
        "unit_slips": slips,
        "outliers": outliers,
        "participation": {
            str(c): {"n": len(chosen[c]),
                     "by_region": {r: int((region.reindex(chosen[c]) == r).sum()) for r in REGIONS},
                     "members": chosen[c]}
            for c in CYCLES
        },
        "restrictive_members": sorted(restrictive),
        "loadings": {c: round(float(v), 6) for c, v in zip(codes, loadings, strict=True)},
        "model": {
            "latent": f"eta = standardise(A + N(0, {ANCHOR_NOISE_SD}^2)); A = weighted mean of available "
                      f"standardised anchors; no anchor -> income-group mean + N(0, {IMPUTE_NOISE_SD}^2)",
            "anchors": {v: {"year": y, "sign": s, "weight": w,
                            "transform": "log1p" if v.startswith("db_") else "none"}
                        for v, (y, s, w) in ANCHORS.items()},
            "participation": f"per cycle and region, quota drawn with P proportional to exp({PARTICIPATION_SLOPE} "
                             f"eta) (Gumbel top-k); 2022 key +{PANEL_BONUS} for 2024 participants; "
                             "Members that joined after the cycle year are not eligible",
            "quotas": {str(c): q for c, q in QUOTAS.items()},
            "kpi_score": "z = loading * sign * (eta + shift[cycle]) + sqrt(1 - loading^2) * "
                         f"({PERSISTENCE} u + sqrt(1 - {PERSISTENCE}^2) e), u ~ N(0,1), e ~ t_{T_DF} scaled to s.d. 1",
            "loading_range_sound": list(LOADING_RANGE),
            "cycle_shift": {str(c): s for c, s in CYCLE_SHIFT.items()},
            "sign": "framework direction, reversed for the misdirected KPI",
            "collinear": f"z[{COLLINEAR_PAIR[1]}] = z[{COLLINEAR_PAIR[0]}] + N(0, {COLLINEAR_NOISE_SD}^2)",
            "transform": "share: L + (U-L) expit(logit(centre) + slope z); scale: clip(centre exp(slope z), L, U); "
                         "change: 100 (exp(0.03 + 0.3 z) - 1)",
            "kpi_shapes": {k.code: list(_shape(k)) for k in fw.kpis},
            "skip": f"optional KPIs only; P = expit(logit({SKIP_BASE}) - {SKIP_SLOPE} eta)",
            "disclosure": f"framework default; {RESTRICTIVE_SHARE:.0%} restrictive Members raise each KPI one "
                          f"level with P {RESTRICTIVE_RAISE}; others with P {RANDOM_RAISE}",
            "outliers": f"rate {OUTLIER_RATE} on sound KPIs, z pushed by U(4, 6) s.d. towards an extreme",
        },
        "latent": {m: round(float(v), 6) for m, v in latent.items()},
    }


def write_dataset(seed: SeedLike = DEFAULT_SEED, out_dir: str | Path | None = None) -> SyntheticDataset:
    """Generate and write ``pmm_returns.csv`` and ``truth.json`` (atomically) into ``out_dir``.

    Parameters
    ----------
    seed : int, Generator or None
        Random seed (default 20240601).
    out_dir : str or Path, optional
        Target folder; default ``data/raw/questionnaires``.

    Returns
    -------
    SyntheticDataset
        What was written.
    """
    out = Path(out_dir) if out_dir is not None else paths.root() / "data" / "raw" / "questionnaires"
    ds = generate(seed)
    write_with(out / "pmm_returns.csv", lambda p: ds.observations.to_csv(p, index=False, float_format="%.6g"))
    write_text_atomic(out / "truth.json", json.dumps(ds.truth, indent=1, ensure_ascii=False) + "\n")
    return ds
