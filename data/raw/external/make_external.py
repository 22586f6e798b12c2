"""Rebuild the bundled external files in this folder from the shared source snapshot.

This is a one-off provenance script, not part of the product: the workbench never reads
``/work/shared/data`` at run time. Run it only to refresh the bundled copies:

    python data/raw/external/make_external.py [SOURCE_DIR]

It writes ``wco_members.csv`` (the 186 WCO Members, see SOURCES.md for every decision) and
slimmed copies of the LPI, Doing Business, WGI, WDI and country-metadata files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
READ = dict(keep_default_na=False, na_values=[""])

#: Members admitted after the ~2018 snapshot, or replacing an entry of it.
#: (iso3, name, region, member_type, joined, evidence)
ADDITIONS = [
    ("CUW", "Curaçao", "AMS", "customs territory", "2010-10-10",
     "successor of the Netherlands Antilles (ANT, member since 1988-07-11) on its dissolution"),
    ("GNQ", "Equatorial Guinea", "WCA", "sovereign state", "",
     "instrument of ratification deposited in Brussels (Embassy of Equatorial Guinea news); "
     "WCO count 183 (Annual Report 2019-20) -> 184 (Council, June 2022)"),
    ("SLB", "Solomon Islands", "AP", "sovereign state", "2023-01-26", "WCO 185th Member"),
    ("PLW", "Palau", "AP", "sovereign state", "2024-02-02", "WCO 186th Member"),
]
#: Entries of the ~2018 snapshot that are not Members now.
DROPPED = {"EUU": "European Union: status akin to membership, not a Member; not counted in the 186",
           "ANT": "Netherlands Antilles: dissolved 2010-10-10; replaced by Curaçao (CUW)"}
INCOME = {"Low income": "L", "Lower middle income": "LM", "Upper middle income": "UM", "High income": "H"}


def _flag(series: pd.Series) -> pd.Series:
    return series.fillna(0).astype(float).astype(int).astype(bool)


def build_members(src: Path) -> pd.DataFrame:
    """The 186 WCO Members with region, income group and grouping flags."""
    wco = pd.read_csv(src / "wco_members_regions.csv", **READ)
    meta = pd.read_csv(src / "country_metadata.csv", **READ).set_index("iso3")
    wco = wco[~wco["iso3"].isin(DROPPED)]
    rows = [dict(member=r.iso3, name=r.wco_member_name, region=r.wco_region_code,
                 member_type=r.member_type, joined=r.membership_date, note="")
            for r in wco.itertuples()]
    rows += [dict(member=c, name=n, region=g, member_type=t, joined=j, note=e)
             for c, n, g, t, j, e in ADDITIONS]
    out = pd.DataFrame(rows)
    m = meta.reindex(out["member"])
    out["income_group"] = m["wb_income_group_fy2023"].map(INCOME).to_numpy()
    out["landlocked"] = _flag(m["landlocked"]).to_numpy()
    out["sids"] = _flag(m["un_sids"]).to_numpy()
    out["ldc"] = _flag(m["un_ldc"]).to_numpy()
    out["lldc"] = _flag(m["un_lldc"]).to_numpy()
    out["wb_region"] = m["wb_region"].to_numpy()
    out["iso2"] = m["iso2"].to_numpy()
    out.loc[out["member"] == "VEN", "note"] = "no World Bank income group in FY2023 (unclassified)"
    cols = ["member", "iso2", "name", "region", "income_group", "landlocked", "sids", "ldc", "lldc",
            "wb_region", "member_type", "joined", "note"]
    return out[cols].sort_values("member").reset_index(drop=True)


def main(src: Path) -> None:
    members = build_members(src)
    if len(members) != 186 or members["member"].duplicated().any():
        raise SystemExit(f"expected 186 unique Members, got {len(members)}")
    members.to_csv(HERE / "wco_members.csv", index=False)
    # LPI, Doing Business Trading across Borders, country metadata: copied whole (small).
    for name in ("lpi_scores_2007_2023.csv", "doing_business_trading_across_borders_db2015_2020.csv",
                 "country_metadata.csv"):
        (HERE / name).write_bytes((src / name).read_bytes())
    # WGI: only ge, cc and rq, and only the columns used, to keep the repository small.
    wgi = pd.read_csv(src / "wgi_worldwide_governance_indicators_1996_2023.csv", dtype=str, **READ)
    wgi = wgi[wgi["indicator"].isin(["ge", "cc", "rq"])]
    wgi[["iso3", "countryname", "year", "indicator", "estimate", "stddev", "nsource"]].to_csv(
        HERE / "wgi_ge_cc_rq_1996_2023.csv", index=False)
    # WDI: the columns the outcomes table uses, years 2000 onwards.
    wdi = pd.read_csv(src / "wdi_country_panel_1990_2025.csv", dtype=str, **READ)
    wdi = wdi[wdi["year"].astype(int) >= 2000]
    wdi[["iso3", "country", "year", "gdp_pc_ppp_current_intl", "population", "trade_gs_pct_gdp",
         "customs_import_duties_pct_tax_rev", "tax_revenue_pct_gdp"]].to_csv(
        HERE / "wdi_extract_2000_2025.csv", index=False)
    print(members["region"].value_counts().to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/external"))
