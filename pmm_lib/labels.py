"""One catalogue of human labels: variables, codes, units, table columns, dimension colours.

Tables, figures, findings and the paper name things through this module only, so a variable is
called the same everywhere ("LPI Customs score (1-5)", never ``lpi_customs``) and a dimension
has one colour in every figure.

* :data:`VARIABLES` — external outcome and control variables: label, unit, kind
  (``trade``, ``governance``, ``income``, ``other``) and the expected sign of their relation with
  a better Customs administration (+1 higher is better, -1 lower is better);
* :func:`variable_label` — the label of any variable name, including the ``log_`` (ln(1 + x))
  versions the notebooks use and year suffixes (``lpi_customs_2018``);
* :data:`DIMENSION_COLOURS` and :func:`dimension_colour` — the palette (Okabe-Ito, colour-blind
  safe) of the four PMM dimensions and the index;
* :data:`COLUMNS` and :func:`column_label` / :func:`column_kind` — table headers in words and the
  kind of number each column holds (which fixes its decimals in the paper: see
  :data:`DECIMALS`).

Examples
--------
>>> variable_label("log_db_time_export_border_h")
'DB border time to export, ln(1 + hours)'
>>> column_label("ci_low"), column_kind("p_value")
('CI low', 'p')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "COLUMNS",
    "DECIMALS",
    "DIMENSION_COLOURS",
    "REGION_NAMES",
    "VARIABLES",
    "Variable",
    "column_kind",
    "column_label",
    "dimension_colour",
    "variable_label",
    "variable_meta",
]


@dataclass(frozen=True)
class Variable:
    """A labelled external variable.

    Attributes
    ----------
    label : str
        Words for tables and axes.
    unit : str
        Unit as printed ("" when the label already says it).
    kind : {"trade", "governance", "income", "other"}
        What the variable measures, used by the external-validity findings.
    direction : int
        +1 when higher values mean better trade/governance outcomes, -1 when lower do.
    """

    label: str
    unit: str
    kind: str
    direction: int


VARIABLES: dict[str, Variable] = {
    "lpi_overall": Variable("LPI overall score", "1-5", "trade", 1),
    "lpi_customs": Variable("LPI Customs score", "1-5", "trade", 1),
    "db_time_export_border_h": Variable("DB border time to export", "hours", "trade", -1),
    "db_time_export_doc_h": Variable("DB documentary time to export", "hours", "trade", -1),
    "db_time_import_border_h": Variable("DB border time to import", "hours", "trade", -1),
    "db_time_import_doc_h": Variable("DB documentary time to import", "hours", "trade", -1),
    "db_cost_export_border_usd": Variable("DB border cost to export", "USD", "trade", -1),
    "db_cost_export_doc_usd": Variable("DB documentary cost to export", "USD", "trade", -1),
    "db_cost_import_border_usd": Variable("DB border cost to import", "USD", "trade", -1),
    "db_cost_import_doc_usd": Variable("DB documentary cost to import", "USD", "trade", -1),
    "db_tab_score": Variable("DB trading-across-borders score", "0-100", "trade", 1),
    "wgi_ge": Variable("WGI government effectiveness", "z", "governance", 1),
    "wgi_cc": Variable("WGI control of corruption", "z", "governance", 1),
    "wgi_rq": Variable("WGI regulatory quality", "z", "governance", 1),
    "gdp_pc_ppp": Variable("GDP per capita, PPP", "USD", "income", 1),
    "trade_gs_pct_gdp": Variable("Trade in goods and services", "% of GDP", "other", 1),
    "customs_duties_pct_tax": Variable("Customs duties", "% of tax revenue", "other", 1),
    "population": Variable("Population", "persons", "other", 1),
    "landlocked": Variable("Landlocked", "", "other", 1),
    "region": Variable("WCO region", "", "other", 1),
    "income_group": Variable("World Bank income group", "", "income", 1),
    "sids": Variable("Small island developing state", "", "other", 1),
}

#: WCO regions as the paper names them.
REGION_NAMES: dict[str, str] = {
    "AMS": "Americas and Caribbean",
    "AP": "Asia/Pacific",
    "ESA": "East and Southern Africa",
    "EUR": "Europe",
    "MENA": "North of Africa, Near and Middle East",
    "WCA": "West and Central Africa",
    "ALL": "all WCO regions",
}

#: One colour per dimension (Okabe-Ito), the same in every figure; ``PMM`` is the index.
DIMENSION_COLOURS: dict[str, str] = {
    "TF": "#0072B2",  # blue
    "RC": "#E69F00",  # orange
    "ES": "#009E73",  # bluish green
    "OD": "#CC79A7",  # reddish purple
    "PMM": "#000000",
}
_EXTRA_COLOURS = ("#56B4E9", "#D55E00", "#F0E442", "#999999")

_YEAR = re.compile(r"^(?P<base>.+?)_(?P<year>(19|20)\d\d)$")


def variable_meta(name: str) -> Variable | None:
    """The :class:`Variable` behind ``name`` (``log_`` prefix and ``_YYYY`` suffix allowed), or None."""
    base = str(name)
    m = _YEAR.match(base)
    if m:
        base = m.group("base")
    if base.startswith("log_"):
        base = base[4:]
    return VARIABLES.get(base)


def variable_label(name: str, *, unit: bool = True) -> str:
    """Human label of a variable name; unknown names are returned unchanged.

    ``log_x`` is ln(1 + x) (the notebooks' transform of Doing Business times and costs) and
    ``log_gdp_pc_ppp`` ln(GDP per capita); a ``_YYYY`` suffix adds the year.

    Examples
    --------
    >>> variable_label("lpi_customs_2018")
    'LPI Customs score (1-5), 2018'
    >>> variable_label("log_gdp_pc_ppp")
    'GDP per capita, PPP, ln(USD)'
    """
    name = str(name)
    year = ""
    m = _YEAR.match(name)
    if m:
        name, year = m.group("base"), m.group("year")
    log = name.startswith("log_")
    meta = VARIABLES.get(name[4:] if log else name)
    if meta is None:
        return str(name) + (f", {year}" if year else "")
    text = meta.label
    if unit and meta.unit:
        if log and meta.kind == "income":
            text += f", ln({meta.unit})"
        elif log:
            text += f", ln(1 + {meta.unit})"
        else:
            text += f" ({meta.unit})"
    elif log:
        text += " (log)"
    return text + (f", {year}" if year else "")


def dimension_colour(code: str, *, others: tuple[str, ...] = ()) -> str:
    """Colour of a dimension code (or the index ``PMM``); other codes get a stable extra colour."""
    if code in DIMENSION_COLOURS:
        return DIMENSION_COLOURS[code]
    pos = others.index(code) if code in others else sum(map(ord, code))
    return _EXTRA_COLOURS[pos % len(_EXTRA_COLOURS)]


#: Table column → (header in words, kind of number). Kinds fix the decimals (:data:`DECIMALS`).
COLUMNS: dict[str, tuple[str, str]] = {
    "code": ("Code", "text"), "kpi": ("KPI", "text"), "name": ("Name", "text"),
    "member": ("Member", "text"), "unit": ("Member", "text"), "dimension": ("Dimension", "text"),
    "parent": ("Parent", "text"), "outcome": ("Outcome", "text"), "variable": ("Outcome", "text"),
    "level": ("Level", "count"), "n": ("n", "count"), "k": ("k", "count"),
    "n_members": ("Members", "count"), "n_missing": ("Missing", "count"),
    "coverage": ("Coverage", "share"), "explained": ("Share explained", "share"),
    "cumulative": ("Cumulative share", "share"), "share": ("Share", "share"),
    "estimate": ("Estimate", "coef"), "ci_low": ("CI low", "coef"), "ci_high": ("CI high", "coef"),
    "std_error": ("SE", "coef"), "p_value": ("p", "p"), "trend_p_value": ("Trend p", "p"),
    "bartlett_p": ("Bartlett p", "p"), "alpha": ("Alpha", "coef"), "kmo": ("KMO", "coef"),
    "alpha_if_deleted": ("Alpha if deleted", "coef"), "alpha_change": ("Alpha change", "coef"),
    "item_rest_r": ("Item-rest r", "coef"), "index_r": ("Index r", "coef"), "parent_r": ("Parent r", "coef"),
    "r_max": ("Largest |r|", "coef"), "r_max_with": ("With", "text"), "outcome_r": ("Outcome r", "coef"),
    "eigenvalue": ("Eigenvalue", "coef"), "threshold": ("Parallel threshold", "coef"),
    "nominal": ("Nominal weight", "share"), "effective": ("Effective weight", "share"),
    "pearson": ("r with parent", "coef"), "ratio": ("Effective / nominal", "coef"),
    "score": ("Score", "score"), "rank": ("Rank", "rank"), "rank_q50": ("Median rank", "rank"),
    "rank_low": ("Rank 5 %", "rank"), "rank_high": ("Rank 95 %", "rank"),
    "mean_abs_rank_shift": ("Mean |rank shift|", "score"), "verdict": ("Verdict", "text"),
    "reasons": ("Reasons", "text"), "reason": ("Reason", "text"), "action": ("What the index does", "text"),
    "statistic": ("Statistic", "score"), "stable": ("Stable", "text"), "item_rest": ("Item-rest r", "coef"), "change": ("Change", "score"),
    "change_q50": ("Median change", "score"), "change_low": ("Change 5 %", "score"),
    "change_high": ("Change 95 %", "score"), "median_change": ("Median change", "score"),
    "median_pct_change": ("Median % change", "score"), "share_improving": ("Share improving", "share"),
    "n_boot": ("Resamples", "count"), "n_prev": ("n, earlier", "count"), "r_squared": ("R²", "coef"), "withheld": ("Withheld", "text"),
    "median_shift": ("Median |rank shift|", "rank"), "max_shift": ("Largest |rank shift|", "rank"),
    "scheme": ("Weighting", "text"), "components": ("Components kept", "count"),
    "pc1_share": ("First-component share", "share"), "framework": ("Framework", "score"),
    "advised": ("Advised", "score"), "rank_framework": ("Rank (framework)", "rank"),
    "rank_advised": ("Rank (advised)", "rank"), "shift": ("Rank shift", "rank"),
    "severity": ("Severity", "text"), "statement": ("Finding", "text"), "file": ("File", "text"),
    "sha256": ("SHA-256 (first 12)", "text"), "within": ("Within ±3", "text"),
    "interval": ("90 % rank interval", "text"), "partial": ("Partial r (GDP)", "coef"),
    "partial_gov": ("Partial r (governance)", "coef"),
}

#: Decimals shown for each kind of number.
DECIMALS: dict[str, int] = {"count": 0, "rank": 0, "share": 2, "coef": 2, "score": 1, "p": 3, "number": 2}


#: Column-name suffixes of paired tables (two cycles, before/after a change) and their words.
_SUFFIXES = {"_prev": "earlier", "_before": "before", "_after": "after", "_change": "change"}


def _split_suffix(name: str) -> tuple[str, str]:
    for suf, word in _SUFFIXES.items():
        if name.endswith(suf) and name[: -len(suf)]:
            return name[: -len(suf)], word
    return name, ""


def column_label(name: str) -> str:
    """Header in words of a table column (snake_case spelled out when it is not catalogued).

    Paired columns keep their base label: ``coverage_prev`` → "Coverage, earlier",
    ``item_rest_change`` → "Item-rest r, change".
    """
    if name in COLUMNS:
        return COLUMNS[name][0]
    base, word = _split_suffix(name)
    if word:
        base = {"item_rest": "item_rest_r"}.get(base, base)
        return f"{column_label(base)}, {word}"
    if name.startswith("missing_share_"):
        return f"Missing share {name.removeprefix('missing_share_')}"
    meta = variable_meta(name)
    if meta is not None:
        return variable_label(name)
    text = str(name).replace("_", " ")
    return text[:1].upper() + text[1:]


def column_kind(name: str) -> str:
    """Kind of number a column holds (``count, rank, share, coef, score, p, number, text``)."""
    if name in COLUMNS:
        return COLUMNS[name][1]
    base, word = _split_suffix(name)
    if word:
        return column_kind({"item_rest": "item_rest_r"}.get(base, base))
    if name.startswith(("missing_share_", "share_")):
        return "share"
    if name.endswith(("_p", "p_value")):
        return "p"
    return "number"
