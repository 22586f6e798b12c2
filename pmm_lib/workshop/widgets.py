"""The participants' weighting app for PMM workshops (ipywidgets; served with Voila).

This module owns the user interface only; every number it shows comes from
:mod:`pmm_lib.workshop.exercise` (budget rebalancing, AHP priorities and consistency, the live index,
submissions). A group names itself, then either

* distributes 100 weight points across the four dimensions with sliders that keep the
  budget at exactly 100 (moving one slider rebalances the others proportionally, integer-exact
  and deterministic: :func:`pmm_lib.workshop.exercise.rebalance`), or
* makes AHP pairwise judgements between the dimensions on Saaty's 1/9..9 scale, with the
  consistency ratio shown live and, when CR > 0.10, the most inconsistent judgement named;

optionally also distributing 100 points across the KPIs of one dimension. The ranking table,
a rank-shift chart against the default (framework) weights and the Spearman correlation with a
chosen trade-cost outcome update on every change; "Submit" appends the group's weights to
``<session dir>/<group>.json`` (:func:`pmm_lib.workshop.exercise.submit`).

Latency: only weighted sums are recomputed per change (:class:`pmm_lib.workshop.exercise.LiveIndex`);
``benchmarks/widgets.py`` measures the full update (computation, table, chart).

Examples
--------
>>> from pmm_lib.workshop.exercise import load_live_index          # doctest: +SKIP
>>> live, outcomes = load_live_index("AMS", 2024)          # doctest: +SKIP
>>> WeightingApp(live, session="demo", outcomes=outcomes)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

from pmm_lib.errors import PmmError
from pmm_lib.workshop.exercise import (
    BUDGET,
    OUTCOME_CHOICES,
    TOP_BLOCK,
    AhpLive,
    LiveIndex,
    ahp_judgements,
    outcome_series,
    rebalance,
    resolve_session,
    saaty_label,
    submit,
)

__all__ = ["WeightingApp", "ahp_options", "rank_shift_svg"]

_LABEL_STYLE = {"description_width": "150px"}
_SLIDER_LAYOUT = {"width": "360px", "flex": "0 0 auto"}


def ahp_options(a: str, b: str) -> list[tuple[str, float]]:
    """SelectionSlider options for the pair (a, b), left = a more important, value = a/b.

    >>> ahp_options("TF", "RC")[0], ahp_options("TF", "RC")[8]
    (('TF 9×', 9.0), ('equal', 1.0))
    """
    left = [(f"{a} {k}×", float(k)) for k in range(9, 1, -1)]
    right = [(f"{b} {k}×", 1 / k) for k in range(2, 10)]
    return [*left, ("equal", 1.0), *right]


class WeightingApp:
    """The participants' app: weight points or AHP judgements, live ranks, submission.

    Parameters
    ----------
    live : LiveIndex
        Precomputed normalised data (:func:`pmm_lib.workshop.exercise.load_live_index`).
    session : str
        Session name; empty = ``$PMM_WORKSHOP_SESSION`` or ``"demo"``.
    outcomes : DataFrame, optional
        Tidy outcomes (``member, year, variable, value``); the choices of
        :data:`pmm_lib.workshop.exercise.OUTCOME_CHOICES` with at least 3 Members are offered.
    root : path, optional
        Where sessions are kept (default ``$PMM_WORKSHOP_DIR`` or ``outputs/workshop``).
    top : int
        Rows of the ranking table and bars of the rank-shift chart.
    chart : bool
        Draw the live rank-shift chart (inline SVG, see :func:`rank_shift_svg`).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole app (displaying the object displays it).
    last_update_ms : float
        Wall time of the last refresh (computation + table + chart), milliseconds.
    """

    def __init__(self, live: LiveIndex, *, session: str = "", outcomes: pd.DataFrame | None = None,
                 root: str | Path | None = None, top: int = 15, chart: bool = True):
        self.live = live
        self.session = resolve_session(session)
        self.root = root
        self.top = top
        self.last_update_ms = float("nan")
        self.last_path: Path | None = None
        self._busy = False
        self._ahp_cache: tuple[tuple[float, ...], AhpLive] | None = None
        fw = live.framework
        self._dim_names = {d.code: d.name for d in fw.dimensions}
        self._kpi_names = {k.code: k.name for k in fw.kpis}

        # -- outcomes offered
        self._outcomes: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # label: (member positions, values)
        if outcomes is not None and not outcomes.empty:
            for choice in OUTCOME_CHOICES:
                s = outcome_series(outcomes, choice).reindex(live.members)
                pos = np.flatnonzero(s.notna().to_numpy())
                if pos.size >= 3:
                    self._outcomes[choice.label] = (pos, s.to_numpy(dtype=float)[pos])
        self._names = [str(x) for x in live.names.to_numpy()]
        self._better = {c.label: c.better for c in OUTCOME_CHOICES}

        # -- header
        self.group = W.Text(description="Group name", placeholder="e.g. Caribbean 1", style=_LABEL_STYLE,
                            layout=W.Layout(width="430px"))
        self.mode = W.ToggleButtons(options=[("Budget points", "budget"), ("AHP pairwise", "ahp")],
                                    value="budget", description="Method", style=_LABEL_STYLE)

        # -- budget over dimensions
        self.dim_sliders = [
            W.IntSlider(value=v, min=0, max=BUDGET, step=1, description=code, continuous_update=False,
                        style=_LABEL_STYLE, layout=W.Layout(**_SLIDER_LAYOUT))
            for code, v in zip(live.dims, live.default_dim_points, strict=True)]
        for i, s in enumerate(self.dim_sliders):
            s.observe(lambda ch, i=i: self._on_dim(i, ch), names="value")
        self.dim_total = W.HTML()
        self.reset = W.Button(description="Reset to default weights", icon="undo",
                              layout=W.Layout(width="220px"))
        self.reset.on_click(lambda _b: self.reset_weights())
        budget_rows = [W.HBox([s, W.HTML(f"<span style='font-size:90%'>{html.escape(self._dim_names[s.description])}</span>")])
                       for s in self.dim_sliders]
        self.budget_box = W.VBox([W.HTML("<b>Distribute 100 points across the four dimensions</b>"),
                                  *budget_rows, self.dim_total])

        # -- AHP over dimensions
        self.pairs = [(a, b) for i, a in enumerate(live.dims) for b in live.dims[i + 1:]]
        self.ahp_sliders = [W.SelectionSlider(options=ahp_options(a, b), value=1.0, description=f"{a} vs {b}",
                                              continuous_update=False, style=_LABEL_STYLE, layout=W.Layout(**_SLIDER_LAYOUT))
                            for a, b in self.pairs]
        for s in self.ahp_sliders:
            s.observe(lambda _ch: self._on_ahp(), names="value")
        self.ahp_status = W.HTML()
        self.ahp_box = W.VBox([W.HTML("<b>Pairwise judgements (Saaty 1/9..9): which dimension matters more, "
                                      "and how many times?</b>"), *self.ahp_sliders, self.ahp_status],
                              layout=W.Layout(display="none"))
        self.mode.observe(lambda _ch: self._on_mode(), names="value")

        # -- optional KPI budget within one dimension
        self.kpi_dim = W.Dropdown(options=[("— dimension weights only —", "")] +
                                  [(f"{c}: {self._dim_names[c]}", c) for c in live.dims],
                                  value="", description="KPI weights in", style=_LABEL_STYLE,
                                  layout=W.Layout(width="560px"))
        self.kpi_dim.observe(lambda _ch: self._on_kpi_dim(), names="value")
        self.kpi_sliders: dict[str, list[W.IntSlider]] = {}
        self.kpi_total = W.HTML()
        self.kpi_box = W.VBox([])

        # -- results
        self.outcome = W.Dropdown(options=list(self._outcomes) or ["(no outcome data)"],
                                  description="Trade-cost outcome", style=_LABEL_STYLE,
                                  layout=W.Layout(width="560px"), disabled=not self._outcomes)
        self.outcome.observe(lambda _ch: self.refresh(), names="value")
        self.correlation = W.HTML()
        self.table = W.HTML()
        self.chart = W.HTML() if chart else None
        self._base_corr: dict[str, float] = {}
        self.submit_button = W.Button(description="Submit", button_style="primary", icon="paper-plane",
                                      tooltip="Save your group's weights for the facilitator")
        self.submit_button.on_click(lambda _b: self.submit())
        self.status = W.HTML()

        left = W.VBox([self.group, self.mode, self.budget_box, self.ahp_box, self.reset,
                       W.HTML("<hr><b>Optional: distribute 100 points across the KPIs of one dimension</b>"),
                       self.kpi_dim, self.kpi_box, W.HTML("<hr>"),
                       W.HBox([self.submit_button, self.status])],
                      layout=W.Layout(width="600px"))
        right = W.VBox([self.outcome, self.correlation, self.table] + ([self.chart] if self.chart else []),
                       layout=W.Layout(width="560px"))
        title = W.HTML(f"<h3>PMM weighting exercise — session <code>{html.escape(self.session)}</code></h3>"
                       f"<p>{len(live.members)} Members. Ranks use the default normalisation; only the "
                       "weights change. Scores 0–100, higher is better.</p>")
        self.widget = W.VBox([title, W.HBox([left, right])])
        self._update_ahp_status()
        self.refresh()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ state
    @property
    def method(self) -> str:
        """``"budget"`` or ``"ahp"``."""
        return str(self.mode.value)

    def dimension_points(self) -> dict[str, float]:
        """Current dimension points (integers for budgets; eigenvector × 100 for AHP)."""
        if self.method == "ahp":
            return {c: float(w) * BUDGET for c, w in self.ahp_result().weights.items()}
        return {s.description: int(s.value) for s in self.dim_sliders}

    def ahp_result(self) -> AhpLive:
        """Priorities and consistency of the current pairwise judgements (cached per judgement set)."""
        key = tuple(float(s.value) for s in self.ahp_sliders)
        if self._ahp_cache is None or self._ahp_cache[0] != key:
            res = ahp_judgements(self.live.dims, {f"{a}/{b}": v for (a, b), v in zip(self.pairs, key, strict=True)})
            self._ahp_cache = (key, res)
        return self._ahp_cache[1]

    def blocks(self) -> dict[str, dict[str, float]]:
        """The weight-point blocks the app currently shows (see :mod:`pmm_lib.workshop.exercise`)."""
        out: dict[str, dict[str, float]] = {TOP_BLOCK: self.dimension_points()}
        dim = self.kpi_dim.value
        if dim:
            out[dim] = {s.description: int(s.value) for s in self.kpi_sliders[dim]}
        return out

    # ------------------------------------------------------------------ events
    def _rebalance(self, sliders: list[W.IntSlider], i: int, change: Mapping[str, Any]) -> None:
        if self._busy:
            return
        current = [int(s.value) for s in sliders]
        current[i] = int(change["old"])
        new = rebalance(current, i, int(change["new"]))
        self._busy = True
        try:
            for s, v in zip(sliders, new, strict=True):
                if s.value != v:
                    s.value = v
        finally:
            self._busy = False
        self.refresh()

    def _on_dim(self, i: int, change: Mapping[str, Any]) -> None:
        self._rebalance(self.dim_sliders, i, change)

    def _on_kpi(self, dim: str, i: int, change: Mapping[str, Any]) -> None:
        self._rebalance(self.kpi_sliders[dim], i, change)

    def _on_ahp(self) -> None:
        if self._busy:
            return
        self._update_ahp_status()
        self.refresh()

    def _on_mode(self) -> None:
        ahp = self.method == "ahp"
        self.budget_box.layout.display = "none" if ahp else None
        self.ahp_box.layout.display = None if ahp else "none"
        self.refresh()

    def _on_kpi_dim(self) -> None:
        dim = self.kpi_dim.value
        if dim and dim not in self.kpi_sliders:
            sliders = [W.IntSlider(value=v, min=0, max=BUDGET, description=k, continuous_update=False,
                                   style={"description_width": "50px"},
                                   layout=W.Layout(width="300px", flex="0 0 auto"))
                       for k, v in zip(self.live.kpis_of[dim], self.live.default_kpi_points[dim], strict=True)]
            for i, s in enumerate(sliders):
                s.observe(lambda ch, dim=dim, i=i: self._on_kpi(dim, i, ch), names="value")
            self.kpi_sliders[dim] = sliders
        if dim:
            rows = [W.HBox([s, W.HTML(f"<span style='font-size:85%'>{html.escape(self._kpi_names[s.description])}</span>")])
                    for s in self.kpi_sliders[dim]]
            self.kpi_box.children = [*rows, self.kpi_total]
        else:
            self.kpi_box.children = []
        self.refresh()

    def reset_weights(self) -> None:
        """Back to the framework's default points and 'equal' judgements."""
        self._busy = True
        try:
            for s, v in zip(self.dim_sliders, self.live.default_dim_points, strict=True):
                s.value = v
            for s in self.ahp_sliders:
                s.value = 1.0
            for dim, sliders in self.kpi_sliders.items():
                for s, v in zip(sliders, self.live.default_kpi_points[dim], strict=True):
                    s.value = v
        finally:
            self._busy = False
        self._update_ahp_status()
        self.refresh()

    # ------------------------------------------------------------------ views
    def _update_ahp_status(self) -> None:
        r = self.ahp_result()
        colour = "#1a7f37" if r.consistent else "#b35806"
        weights = ", ".join(f"{c} {w * BUDGET:.1f}" for c, w in r.weights.items())
        self.ahp_status.value = (f"<div style='color:{colour}'>{html.escape(r.explain())}</div>"
                                 f"<div>Weights (of 100): {weights}</div>")

    def refresh(self) -> None:
        """Recompute ranks, table, chart and correlation for the current weights (NumPy only)."""
        t0 = time.perf_counter()
        blocks = self.blocks()
        live = self.live
        score = live.score_array(blocks)
        rank = live.rank_array(score)
        shift = live.default_rank_array - rank
        self._blocks = blocks
        self.dim_total.value = _total_html("Budget", sum(blocks[TOP_BLOCK].values()))
        if self.kpi_dim.value:
            self.kpi_total.value = _total_html(f"KPI budget in {self.kpi_dim.value}",
                                               sum(blocks[self.kpi_dim.value].values()))
        self.table.value = _ranking_html(self._names, score, rank, live.default_rank_array, shift, self.top)
        self.correlation.value = self._correlation_html(score)
        if self.chart is not None:
            self.chart.value = _rank_shift_svg(self._names, shift, self.top)
        self.last_update_ms = (time.perf_counter() - t0) * 1000

    @property
    def ranking(self) -> pd.DataFrame:
        """The ranking shown (:meth:`pmm_lib.workshop.exercise.LiveIndex.ranking` of the current weights)."""
        return self.live.ranking(self._blocks)

    def _correlation_html(self, score: np.ndarray) -> str:
        label = self.outcome.value
        if label not in self._outcomes:
            return "<i>No outcome data loaded.</i>"
        pos, values = self._outcomes[label]
        rho, n = self.live.spearman(score[pos], values)
        if label not in self._base_corr:
            self._base_corr[label] = self.live.spearman(self.live.default_score_array[pos], values)[0]
        expect = "positive" if self._better.get(label, "higher") == "higher" else "negative"
        return (f"Spearman ρ between the index and <i>{html.escape(label)}</i>: "
                f"<b>{rho:+.3f}</b> (n = {n}; default weights {self._base_corr[label]:+.3f}). "
                f"<span style='color:#555'>Expected sign if the index tracks trade costs: {expect}.</span>")

    # ------------------------------------------------------------------ submission
    def submit(self) -> Path | None:
        """Save the group's current weights (appending to its history); report in ``status``."""
        try:
            ahp = None
            if self.method == "ahp":
                r = self.ahp_result()
                ahp = {"judgements": {f"{a}/{b}": float(s.value)
                                      for (a, b), s in zip(self.pairs, self.ahp_sliders, strict=True)},
                       "cr": round(float(r.cr), 6),
                       "labels": {f"{a}/{b}": saaty_label(float(s.value))
                                  for (a, b), s in zip(self.pairs, self.ahp_sliders, strict=True)}}
            path = submit(self.session, self.group.value, self.blocks(), method=self.method,  # type: ignore[arg-type]
                          ahp=ahp, root=self.root, framework=self.live.framework)
        except PmmError as exc:
            self.status.value = f"<span style='color:#b35806'>Not submitted: {html.escape(str(exc))}</span>"
            return None
        self.last_path = path
        self.status.value = (f"<span style='color:#1a7f37'>Submitted for group "
                             f"<b>{html.escape(self.group.value.strip())}</b> at {time.strftime('%H:%M:%S')} "
                             f"— saved.</span>")
        return path


def _total_html(what: str, total: float) -> str:
    ok = abs(total - BUDGET) < 1e-6
    colour = "#1a7f37" if ok else "#b35806"
    return f"<span class='pmm-total' style='color:{colour}'>{what}: <b>{total:.0f}</b> / {BUDGET}</span>"


def _ranking_html(names: list[str], score: np.ndarray, rank: np.ndarray, default_rank: np.ndarray,
                  shift: np.ndarray, top: int) -> str:
    order = np.lexsort((np.arange(len(names)), np.where(np.isnan(rank), np.inf, rank)))[:top]
    rows = []
    for i in order:
        sh = shift[i]
        if not np.isfinite(sh) or sh == 0:
            arrow = "="
        elif sh > 0:
            arrow = f"<span style='color:#1a7f37'>▲{int(sh)}</span>"
        else:
            arrow = f"<span style='color:#b35806'>▼{int(-sh)}</span>"
        rk = "–" if not np.isfinite(rank[i]) else str(int(rank[i]))
        sc = "–" if not np.isfinite(score[i]) else f"{score[i]:.1f}"
        dr = "–" if not np.isfinite(default_rank[i]) else str(int(default_rank[i]))
        rows.append(f"<tr><td>{rk}</td><td>{html.escape(names[i])}</td><td>{sc}</td><td>{dr}</td><td>{arrow}</td></tr>")
    head = ("<style>.pmm-ranking td,.pmm-ranking th{padding:1px 8px;text-align:left}</style>"
            "<table class='pmm-ranking' style='border-collapse:collapse;font-size:90%'>"
            "<thead><tr><th>rank</th><th>Member</th><th>score</th><th>default rank</th><th>shift</th></tr></thead>")
    return head + "<tbody>" + "".join(rows) + f"</tbody></table><small>Top {top} of {len(names)}.</small>"


# seaborn's "colorblind" palette (Okabe-Ito based): green = up, vermilion = down
_UP, _DOWN = "#029e73", "#d55e00"


def rank_shift_svg(ranking: pd.DataFrame, *, top: int = 15, width: int = 520) -> str:
    """The live rank-shift chart as inline SVG (the app's fast view of ``plot_rank_shift``).

    Horizontal bars of the ``top`` largest absolute rank shifts (``default_rank - rank``,
    > 0 = moves up; ties in row order), sorted, with Member names and values. Built as text in
    about a millisecond, so the app stays within its latency budget on a busy machine; the
    matplotlib version (:func:`pmm_lib.workshop.exercise.plot_rank_shift`) is for notebooks and papers.

    Parameters
    ----------
    ranking : DataFrame
        With columns ``name`` and ``rank_shift`` (e.g. :meth:`LiveIndex.ranking`).
    top : int
        Most bars shown.
    width : int
        Width in pixels.
    """
    return _rank_shift_svg([str(x) for x in ranking["name"]], ranking["rank_shift"].to_numpy(dtype=float),
                           top, width)


def _rank_shift_svg(names: list[str], shift: np.ndarray, top: int, width: int = 520) -> str:
    mag = np.where(np.isfinite(shift), np.abs(shift), 0.0)
    pick = [int(i) for i in np.argsort(-mag, kind="stable")[:top] if mag[i] > 0]
    if not pick:
        return ("<div class='pmm-rankshift'><i>No rank shifts: these weights give the same ranks as "
                "the default weights.</i></div>")
    pick.sort(key=lambda i: -shift[i])
    row, label_w, pad = 18, 170, 40
    plot_w = width - label_w - pad
    height = row * len(pick) + 48
    lim = max(1.0, float(mag[pick].max()))
    zero = label_w + plot_w / 2
    scale = (plot_w / 2 - 30) / lim
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='pmm-rankshift' width='{width}' height='{height}' "
             f"font-family='sans-serif' font-size='11' role='img' aria-label='rank shifts'>",
             f"<text x='{width / 2:.0f}' y='13' text-anchor='middle' font-size='13'>Largest rank shifts "
             "vs default weights</text>"]
    for k, i in enumerate(pick):
        y = 22 + k * row
        v = float(shift[i])
        w = abs(v) * scale
        x0 = zero if v >= 0 else zero - w
        colour = _UP if v > 0 else _DOWN
        parts.append(f"<text x='{label_w - 6}' y='{y + 12}' text-anchor='end'>{html.escape(names[i][:26])}</text>"
                     f"<rect x='{x0:.1f}' y='{y + 2}' width='{max(w, 1):.1f}' height='{row - 5}' fill='{colour}'/>"
                     f"<text x='{(zero + w + 3) if v >= 0 else (zero - w - 3):.1f}' y='{y + 12}' "
                     f"text-anchor='{'start' if v >= 0 else 'end'}' fill='#333'>{int(v):+d}</text>")
    base = 22 + row * len(pick)
    parts.append(f"<line x1='{zero:.1f}' x2='{zero:.1f}' y1='20' y2='{base}' stroke='#444'/>"
                 f"<text x='{zero:.1f}' y='{base + 16}' text-anchor='middle' fill='#333'>rank shift "
                 "(places; &gt; 0 = moves up)</text></svg>")
    return "".join(parts)
