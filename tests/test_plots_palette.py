"""One colour per dimension in every figure, and human labels on the axes (pmm_lib.labels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from pmm_lib import labels
from pmm_lib.plots import quality as pq
from pmm_lib.plots import validity as pv

DIMS = ["TF", "RC", "ES", "OD"]


def _colours(ax) -> set[str]:
    out = {to_hex(p.get_facecolor()) for p in ax.patches}
    for line in ax.lines:
        out.add(to_hex(line.get_color()))
    for coll in ax.collections:
        out.update(to_hex(c) for c in coll.get_facecolor())
        out.update(to_hex(c) for c in coll.get_edgecolor())
    return {c.lower() for c in out}


def test_dimension_colours_are_the_catalogue_ones_everywhere():
    want = {labels.DIMENSION_COLOURS[d].lower() for d in DIMS}
    cov = pd.DataFrame({"kpi": [f"K{i:02d}" for i in range(8)], "dimension": DIMS * 2, "coverage": np.linspace(0.5, 1, 8)})
    a1 = pq.plot_coverage_kpi(cov)
    alpha = pd.DataFrame({"code": DIMS + ["O01"], "level": [3, 3, 3, 3, 2], "alpha": [0.9, 0.8, 0.7, 0.6, 0.5],
                          "ci_low": [0.8, 0.7, 0.6, 0.5, 0.4], "ci_high": [0.95, 0.9, 0.8, 0.7, 0.6]})
    a2 = pv.plot_alpha(alpha)
    scree = pd.DataFrame({"code": np.repeat(DIMS, 3), "component": ["PC1", "PC2", "PC3"] * 4,
                          "eigenvalue": np.tile([3.0, 1.0, 0.5], 4), "threshold": np.tile([1.5, 1.2, 1.0], 4)})
    a3 = pv.plot_scree(scree)
    cors = pd.DataFrame({"code": ["PMM", *DIMS], "variable": "lpi_customs", "estimate": [0.8, 0.7, 0.6, 0.5, 0.4],
                         "ci_low": 0.2, "ci_high": 0.9})
    a4 = pv.plot_coefficients(cors, y="variable", hue="code")
    for ax in (a1, a2, a3, a4):
        assert want <= _colours(ax), ax.get_title()
    # no dimension colour is reused for a non-dimension in the alpha chart: the outcome is grey
    assert to_hex(a2.patches[4].get_facecolor()).lower() not in want
    assert a4.get_yticklabels()[0].get_text() == "LPI Customs score (1-5)"
    plt.close("all")


def test_variable_labels_cover_every_outcome_name():
    for name in ("lpi_overall", "log_db_time_import_border_h", "log_db_cost_export_doc_usd", "wgi_cc",
                 "log_gdp_pc_ppp", "lpi_customs_2018"):
        assert "_" not in labels.variable_label(name), name
    assert labels.variable_meta("log_db_time_export_border_h").direction == -1
    assert labels.column_label("missing_share_LM") == "Missing share LM"
