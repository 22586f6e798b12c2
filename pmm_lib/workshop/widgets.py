"""The participants' app (ipywidgets): join a group, weight, see the ranks move, submit.

This module owns the participants' user interface only. Numbers come from
:mod:`pmm_lib.workshop.exercise` (budgets, AHP, submissions), :mod:`pmm_lib.workshop.live`
(scores and ranks by the method core) and :mod:`pmm_lib.workshop.session` (groups and
devices); every text comes from :mod:`pmm_lib.workshop.i18n`. The same object runs in
JupyterLab (``display(app)``) and in the room's server (:mod:`pmm_lib.workshop.server`),
where 50 participants share one process.

What a group sees
-----------------
* **Join**: pick a registered group or type its join code. A group already open on another
  device is refused with an explanation; taking it over is an explicit choice.
* **Budget**: for each dimension a points box (typing 40, 30, 20, 10 gives exactly that;
  "Remaining: N" shows what is left), a slider beside it (moving it rebalances the unlocked
  others, :func:`pmm_lib.workshop.exercise.rebalance`) and a lock.
* **Pairwise (AHP)**: each pair of dimensions named, on the verbal scale (equal, moderate,
  strong, very strong, extreme), the consistency explained in plain words, a suggested
  fix, and a confirmation before submitting an inconsistent set (CR > 0.10).
* **KPI weights** per dimension, grouped by expected outcome; each dimension's block is
  kept when switching to another.
* **Results**: ranking, largest moves against the framework weights, and how closely the
  ranking follows a trade-cost outcome, updated on every change.
* **Save state**: "unsaved changes" as soon as the weights differ from the last
  submission; Submit is disabled while saving and idempotent (one revision per state); the
  group's last submission is restored when the page is reloaded.

Examples
--------
>>> from pmm_lib.workshop.live import load_live_index          # doctest: +SKIP
>>> live, outcomes = load_live_index("AMS", 2024)              # doctest: +SKIP
>>> WeightingApp(live, session="demo", outcomes=outcomes)      # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

from pmm_lib.errors import InputError, PmmError
from pmm_lib.workshop.exercise import (
    BUDGET,
    SAATY_VERBAL,
    TOP_BLOCK,
    AhpLive,
    SaveRefused,
    ahp_judgements,
    rebalance,
    resolve_session,
    saaty_verbal,
    session_dir,
    slug,
    submit,
)
from pmm_lib.workshop.i18n import LANGUAGES, t
from pmm_lib.workshop.live import LiveIndex
from pmm_lib.workshop.session import SessionConfig, claim_group

__all__ = ["STYLE", "WeightingApp", "ahp_options", "rank_shift_svg", "user_message"]

#: the app's own style sheet (an HTML widget, so it also applies inside JupyterLab)
STYLE = """<style>
.pmm-app .widget-vbox > *, .pmm-app .widget-hbox > * { flex-shrink: 0 !important; }
.pmm-app .widget-html-content { line-height: 1.3; }
.pmm-app .pmm-remaining .widget-html-content { margin-right: 12px; }
.pmm-dashboard table td, .pmm-dashboard table th { padding: 2px 8px; text-align: left; border-bottom: 1px solid #eee; }
.pmm-dashboard .widget-html-content { line-height: 1.3; }
</style>"""


def user_message(exc: BaseException) -> str:
    """An error as participants may see it: the reason only, never a server path."""
    if isinstance(exc, InputError):
        text = exc.reason + (f" ({exc.expected})" if exc.expected else "")
    else:
        text = str(exc)
    return text.replace(str(Path.cwd()), "…")


def ahp_options(a: str, b: str, lang: str = "en", names: Mapping[str, str] | None = None
                ) -> list[tuple[str, float]]:
    """SelectionSlider options for the pair (a, b) on the verbal scale; value = a/b.

    Left end: ``a`` extremely more important (9); middle: equal (1); right end: ``b``
    extremely more important (1/9).

    >>> ahp_options("TF", "RC")[0], ahp_options("TF", "RC")[8]
    (('TF: extremely more (9)', 9.0), ('equally important (1)', 1.0))
    """
    names = names or {}
    na, nb = names.get(a, a), names.get(b, b)
    left = [(t("ahp_more", lang, name=na, verbal=t("v_" + SAATY_VERBAL[k], lang)) + f" ({k})", float(k))
            for k in range(9, 1, -1)]
    right = [(t("ahp_more", lang, name=nb, verbal=t("v_" + SAATY_VERBAL[k], lang)) + f" ({k})", 1 / k)
             for k in range(2, 10)]
    return [*left, (t("ahp_equal", lang) + " (1)", 1.0), *right]


class _Models:
    """Builds widgets with shared Layout and Style models (fewer models per participant).

    ipywidgets gives every widget its own Layout and Style model unless one is passed; each
    is a model the server creates, serialises and sends and the browser renders. Widgets whose
    layout or style never changes share one per kind here; a widget whose layout changes later
    (shown, hidden) is given its own. CSS classes are passed at construction (``add_class``
    afterwards is one more message per widget).
    """

    def __init__(self) -> None:
        self.layout = W.Layout()
        self._styles: dict[type, W.Widget] = {}
        self._layouts: dict[tuple[tuple[str, str], ...], W.Layout] = {}

    def lay(self, **kw: str) -> W.Layout:
        """A Layout shared by every widget asking for the same settings (never to be changed)."""
        key = tuple(sorted(kw.items()))
        if key not in self._layouts:
            self._layouts[key] = W.Layout(**kw)
        return self._layouts[key]

    def __call__(self, cls: Any, *classes: str, layout: W.Layout | None = None, **kw: Any) -> Any:
        traits = cls.class_traits()
        if "style" in traits and "style" not in kw:
            klass = traits["style"].klass
            if klass not in self._styles:
                self._styles[klass] = klass()
            kw["style"] = self._styles[klass]
        if classes:
            kw["_dom_classes"] = classes
        return cls(layout=layout if layout is not None else self.layout, **kw)


class _Budget:
    """One constant-sum block: a points box, a slider and a lock per code; 'remaining: N'."""

    def __init__(self, codes: list[str], labels: Mapping[str, str], values: list[int],
                 on_change: Callable[[], None], *, label_width: str = "300px", lang: str = "en",
                 make: _Models | None = None):
        self.codes = codes
        self.on_change = on_change
        self._busy = False
        make = make or _Models()
        # one Layout model per column, shared by the rows (fewer widgets per participant)
        lab_l, sl_l, box_l, lock_l = (make.lay(width=label_width), make.lay(width="190px"),
                                      make.lay(width="64px"), make.lay(width="80px"))
        self.labels = {c: make(W.HTML, value=html.escape(labels[c]), layout=lab_l) for c in codes}
        self.sliders = {c: make(W.IntSlider, "pmm-slider", value=v, min=0, max=BUDGET, readout=False,
                                continuous_update=False, layout=sl_l)
                        for c, v in zip(codes, values, strict=True)}
        self.boxes = {c: make(W.BoundedIntText, "pmm-points", f"pmm-points-{c}", value=v, min=0, max=BUDGET,
                              layout=box_l)
                      for c, v in zip(codes, values, strict=True)}
        self.locks = {c: make(W.Checkbox, value=False, indent=False, layout=lock_l, description=t("lock", lang))
                      for c in codes}
        for c in codes:
            self.sliders[c].observe(lambda ch, c=c: self._slid(c, ch), names="value")
            self.boxes[c].observe(lambda ch, c=c: self._typed(c, ch), names="value")
        self.remaining = make(W.HTML, "pmm-remaining", value=self.remaining_html(lang))
        self.rows = [make(W.HBox, children=[self.labels[c], self.boxes[c], self.sliders[c], self.locks[c]])
                     for c in codes]

    def values(self) -> dict[str, int]:
        return {c: int(self.boxes[c].value) for c in self.codes}

    def set_values(self, values: Mapping[str, float]) -> None:
        self._busy = True
        try:
            for c in self.codes:
                v = int(round(float(values[c])))
                self.boxes[c].value = v
                self.sliders[c].value = v
        finally:
            self._busy = False

    def total(self) -> int:
        return sum(self.values().values())

    def _slid(self, code: str, change: Mapping[str, Any]) -> None:
        if self._busy:
            return
        cur = self.values()
        cur[code] = int(change["old"])
        locked = [bool(self.locks[c].value) for c in self.codes]
        new = rebalance([cur[c] for c in self.codes], self.codes.index(code), int(change["new"]), locked=locked)
        self.set_values(dict(zip(self.codes, new, strict=True)))
        self.on_change()

    def _typed(self, code: str, change: Mapping[str, Any]) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self.sliders[code].value = int(change["new"])
        finally:
            self._busy = False
        self.on_change()

    def relabel(self, labels: Mapping[str, str], lang: str) -> None:
        for c in self.codes:
            self.labels[c].value = html.escape(labels[c])
            self.locks[c].description = t("lock", lang)

    def remaining_html(self, lang: str) -> str:
        """'Remaining: N points' (or 'over budget') as shown under the block."""
        left = BUDGET - self.total()
        key = "remaining" if left >= 0 else "over_budget"
        colour = "#1a7f37" if left == 0 else "#b35806"
        return f"<b style='color:{colour}'>{html.escape(t(key, lang, n=abs(left)))}</b>"

    def show_remaining(self, lang: str) -> None:
        self.remaining.value = self.remaining_html(lang)


class WeightingApp:
    """The participants' app (see the module docstring).

    Parameters
    ----------
    live : LiveIndex
        The room's data (:func:`pmm_lib.workshop.live.shared_live_index`).
    session : str or SessionConfig
        A registered session (region, cycle, groups), or a session name: then any valid group
        name is accepted (a notebook on one's own).
    outcomes : DataFrame, optional
        Tidy outcomes; choices of :data:`pmm_lib.workshop.live.OUTCOME_CHOICES` with at
        least 3 Members are offered.
    root : path, optional
        Where sessions are kept (default ``$PMM_WORKSHOP_DIR`` or ``outputs/workshop``).
    device : str, optional
        This browser's id (the server passes its session cookie); default a new random id.
    join : str, optional
        A join code (from the group's link) or group name to join at once.
    lang : {"en", "fr", "es"}
    simulated : bool
        Show the simulated-data notice.
    on_join : callable, optional
        Called with the join code after joining (the server puts it in the address bar so a
        reload restores the group).
    top : int
        Rows of the ranking table and bars of the chart.
    on_update : callable, optional
        Called after every change of the weights has been handled (ranks, table, chart and
        status recomputed and sent) with its wall and CPU milliseconds on the server; the room's
        server logs them for the load benchmark.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole app (displaying the object displays it).
    last_update_ms : float
        Wall time of the last refresh (core aggregation + table + chart), milliseconds.
    """

    def __init__(self, live: LiveIndex, *, session: str | SessionConfig = "", outcomes: pd.DataFrame | None = None,
                 root: str | Path | None = None, device: str | None = None, join: str | None = None,
                 lang: str = "en", simulated: bool = False, on_join: Callable[[str], None] | None = None,
                 top: int = 12, on_update: Callable[[float, float], None] | None = None):
        self.live = live
        if isinstance(session, SessionConfig):
            self.config: SessionConfig | None = session
            self.session = session.session
        else:
            self.config, self.session = None, resolve_session(session)
        self.root = root
        self.device = device or uuid.uuid4().hex
        self.lang = lang
        self.top = top
        self.on_join = on_join
        self.on_update = on_update
        self.group_name: str | None = None
        self.last_update_ms = float("nan")
        self.last_path: Path | None = None
        self._saved: tuple[str, str] | None = None   # (method, canonical blocks) of the last submission
        self._saved_rev = 0
        self._saved_time = ""
        self._edit_seq = 0
        self._saving = False
        self._quiet = False
        self._ahp_cache: tuple[tuple[float, ...], AhpLive] | None = None
        self._base_corr: dict[str, float] = {}
        self._names = [str(x) for x in live.names.to_numpy()]
        self._set_names(lang)
        # computed once per room and shared by every participant (LiveIndex keeps it)
        self._outcomes: dict[str, tuple[np.ndarray, np.ndarray, str]] = live.outcome_arrays(outcomes)
        make = self._make = _Models()
        self._simulated = simulated
        self._pending: str | None = None

        # ---------------------------------------------------------- header
        self.title = make(W.HTML, value=self._title_html(lang))
        self.language = make(W.ToggleButtons, "pmm-language", options=[(name, code) for code, name in LANGUAGES.items()],
                             value=lang, style=W.ToggleButtonsStyle(button_width="78px"))
        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.notice = make(W.HTML, "pmm-notice", value=self._notice_html(lang))
        from pmm_lib.workshop.banner import ConnectionBanner

        self.banner = ConnectionBanner(message=t("connection_lost", lang))

        # ---------------------------------------------------------- join (built when needed)
        self.join_box = W.VBox([])

        # ---------------------------------------------------------- action bar
        self.group_label = make(W.HTML, "pmm-group")
        self.submit_button = make(W.Button, "pmm-submit", button_style="success", layout=make.lay(width="140px"),
                                  description=t("submit", lang))
        self.submit_button.on_click(lambda _b: self.submit())
        self.status = make(W.HTML, "pmm-status")
        # the confirmation of an inconsistent AHP set: its buttons are built when first needed
        self.confirm_box = make(W.VBox, "pmm-confirm", layout=W.Layout(display="none", border="2px solid #b35806",
                                                                      padding="4px"))
        self.action_bar = make(W.HBox, children=[self.group_label, self.submit_button, self.status],
                               layout=make.lay(align_items="center", width="100%"))

        # ---------------------------------------------------------- method
        self.mode = make(W.ToggleButtons, "pmm-mode", value="budget", options=self._mode_options(lang))
        self.mode.observe(lambda _ch: self._on_mode(), names="value")
        self.budget_head = make(W.HTML, value=f"<b>{html.escape(t('budget_head', lang))}</b>")
        self.budget = _Budget(live.dims, self._dim_names, list(live.default_dim_points), self._changed, lang=lang,
                              make=make)
        self.reset_button = make(W.Button, layout=make.lay(width="auto"), description=t("reset", lang))
        self.reset_button.on_click(lambda _b: self.reset_weights())
        self.budget_box = W.VBox([self.budget_head, *self.budget.rows,
                                  make(W.HBox, children=[self.budget.remaining, self.reset_button])])
        self.pairs = [(a, b) for i, a in enumerate(live.dims) for b in live.dims[i + 1:]]
        self._ahp_sliders: list[W.SelectionSlider] | None = None   # built when first needed
        self.ahp_box = W.VBox([], layout=W.Layout(display="none"))

        # ---------------------------------------------------------- KPI blocks
        self.kpi_head = make(W.HTML, value=f"<b>{html.escape(t('kpi_head', lang))}</b>")
        self.kpi_use: dict[str, W.Checkbox] = {}
        self.kpi_blocks: dict[str, _Budget] = {}
        self._kpi_views: dict[str, W.VBox] = {}
        self._kpi_outcome_heads: dict[str, list[tuple[str, W.HTML]]] = {}
        self.kpi_dim = make(W.Dropdown, "pmm-kpi-dim", options=self._kpi_dim_options(), value="",
                            layout=make.lay(width="420px"), description=t("kpi_dim", lang))
        self._relabelling = False     # options are being relabelled: the shown block must not flicker
        self.kpi_dim.observe(lambda _ch: None if self._relabelling else self._show_kpi_block(), names="value")
        self.kpi_box = make(W.VBox)

        # ---------------------------------------------------------- results
        labels = list(self._outcomes)
        self.outcome = make(W.Dropdown, options=[(t(k, lang), k) for k in labels] or [(t("no_outcomes", lang), "")],
                            layout=make.lay(width="420px"), disabled=not labels, description=t("outcome", lang))
        self.outcome.observe(lambda _ch: self.refresh(), names="value")
        t0 = time.perf_counter()
        table, corr, chart = self._results_html()
        self.correlation = make(W.HTML, value=corr)
        self.table = make(W.HTML, "pmm-ranking", value=table)
        self.chart = make(W.HTML, value=chart)
        self.last_update_ms = (time.perf_counter() - t0) * 1000

        left = make(W.VBox, children=[self.mode, self.budget_box, self.ahp_box, make(W.HTML, value="<hr style='margin:4px 0'>"),
                                      self.kpi_head, self.kpi_dim, self.kpi_box],
                    layout=make.lay(width="660px", max_height="560px", overflow="auto", padding="0 6px 0 0"))
        right = make(W.VBox, children=[self.outcome, self.correlation, self.table, self.chart],
                     layout=make.lay(width="560px", max_height="560px", overflow="auto"))
        self.work_box = W.VBox([self.action_bar, self.confirm_box, make(W.HBox, children=[left, right])],
                               layout=W.Layout(display="none"))
        self.status.value = self._status_html()
        header = make(W.HBox, children=[self.title, self.language],
                      layout=make.lay(justify_content="space-between", align_items="center", width="100%"))
        self.widget = make(W.VBox, "pmm-app", children=[make(W.HTML, value=STYLE), self.banner, header, self.notice,
                                                        self.join_box, self.work_box],
                           layout=make.lay(width="1260px", padding="0 8px"))
        if join:
            self.join(join)
        if self.group_name is None:
            self._ensure_join_box()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ texts
    def _set_names(self, lang: str) -> None:
        """Dimension, expected-outcome and KPI names in ``lang`` (from the framework file)."""
        fw = self.live.framework
        self._dim_names = {d.code: d.text("name", lang) for d in fw.dimensions}
        self._kpi_names = {k.code: k.text("name", lang) for k in fw.kpis}
        self._out_names = {o.code: o.text("name", lang) for o in fw.outcomes}

    def _title_html(self, lang: str) -> str:
        n = len(self.live.members)
        region = self.config.region if self.config else "—"
        cycle = self.config.cycle if self.config else "—"
        return (f"<h3 style='margin:4px 0'>{html.escape(t('app_title', lang))}</h3>"
                f"<small>{html.escape(t('context', lang, session=self.session, region=region, cycle=cycle, n=n))}"
                "</small>")

    def _notice_html(self, lang: str) -> str:
        notes = []
        if self._simulated:
            notes.append(t("simulated", lang))
        if self.config is not None and self.config.pseudonyms:
            notes.append(t("pseudonyms", lang))
        return "".join(f"<div style='background:#fff3cd;padding:3px 6px;margin:2px 0'>{html.escape(x)}</div>"
                       for x in notes)

    @staticmethod
    def _mode_options(lang: str) -> list[tuple[str, str]]:
        return [(t("method_budget", lang), "budget"), (t("method_ahp", lang), "ahp")]

    def _kpi_dim_options(self) -> list[tuple[str, str]]:
        opts = [(t("kpi_none", self.lang), "")]
        for d in self.live.dims:
            on = d in self.kpi_use and self.kpi_use[d].value
            opts.append((self._dim_names[d] + (f" ({t('kpi_set', self.lang)})" if on else ""), d))
        return opts

    # ------------------------------------------------------------------ language
    def set_language(self, lang: str) -> None:
        """Switch every label to ``lang`` (``en``, ``fr`` or ``es``), KPI and outcome names included."""
        self.lang = lang
        self._set_names(lang)
        if self.language.value != lang:
            self.language.value = lang
        self.title.value = self._title_html(lang)
        self.notice.value = self._notice_html(lang)
        self.banner.set_language(lang)
        if self._join_built:
            self._relabel_join()
        self.submit_button.description = t("submit", lang)
        if self._confirm_built:
            self._relabel_confirm()
        mode, self._quiet = self.mode.value, True
        try:
            self.mode.options = self._mode_options(lang)
            self.mode.value = mode
        finally:
            self._quiet = False
        self.budget_head.value = f"<b>{html.escape(t('budget_head', lang))}</b>"
        self.budget.relabel(self._dim_names, lang)
        self.reset_button.description = t("reset", lang)
        if self._ahp_sliders is not None:
            self._relabel_ahp()
        self.kpi_head.value = f"<b>{html.escape(t('kpi_head', lang))}</b>"
        self.kpi_dim.description = t("kpi_dim", lang)
        for d, cb in self.kpi_use.items():
            cb.description = t("kpi_use", lang)
            self.kpi_blocks[d].relabel(self._kpi_names, lang)
            for o, head in self._kpi_outcome_heads[d]:
                head.value = self._outcome_head_html(o)
        self._relabel_kpi_dims()
        self.outcome.description = t("outcome", lang)
        if self._outcomes:
            v = self.outcome.value
            self.outcome.options = [(t(k, lang), k) for k in self._outcomes]
            self.outcome.value = v
        if self.group_name:
            self.group_label.value = f"<b>{html.escape(t('group_label', lang, group=self.group_name))}</b>&nbsp;"
        self._update_ahp_status()
        self._update_status()
        self.refresh()

    # ------------------------------------------------------------------ lazy parts
    @property
    def _join_built(self) -> bool:
        return bool(self.join_box.children)

    @property
    def _confirm_built(self) -> bool:
        return bool(self.confirm_box.children)

    def _ensure_join_box(self) -> None:
        """The join form (a page opened with its group's link never needs it)."""
        if self._join_built:
            return
        make = self._make
        groups = [g.name for g in self.config.groups] if self.config else []
        self.join_help = make(W.HTML)
        self.group_pick = make(W.Dropdown, "pmm-group-pick", options=groups, value=None, layout=make.lay(width="260px"))
        self.group_text = make(W.Text, "pmm-join-code", layout=make.lay(width="200px"),
                               placeholder="K7QF2M / Caribbean 1")
        self.join_button = make(W.Button, "pmm-join", button_style="primary", layout=make.lay(width="140px"))
        self.join_button.on_click(lambda _b: self._join_clicked())
        self.join_msg = make(W.HTML, "pmm-join-msg")
        self.takeover_button = make(W.Button, "pmm-takeover", button_style="warning",
                                    layout=W.Layout(width="auto", display="none"))
        self.takeover_button.on_click(lambda _b: self.join(self._pending or "", takeover=True))
        self._relabel_join()
        self.join_box.children = [self.join_help,
                                  make(W.HBox, children=[self.group_pick, self.group_text, self.join_button]),
                                  self.join_msg, self.takeover_button]

    def _relabel_join(self) -> None:
        lang = self.lang
        self.join_help.value = html.escape(t("join_help", lang))
        self.group_pick.description = t("choose_group", lang)
        self.group_text.description = t("join_code", lang)
        self.join_button.description = t("join", lang)
        self.takeover_button.description = t("take_over", lang)

    def _ensure_confirm_box(self) -> None:
        """The confirmation asked before submitting an inconsistent AHP set."""
        if self._confirm_built:
            return
        make = self._make
        self.confirm_msg = make(W.HTML)
        self.confirm_yes = make(W.Button, "pmm-confirm-yes", button_style="warning", layout=make.lay(width="auto"))
        self.confirm_fix = make(W.Button, "pmm-confirm-fix", layout=make.lay(width="auto"))
        self.confirm_no = make(W.Button, layout=make.lay(width="auto"))
        self.confirm_yes.on_click(lambda _b: self.submit(confirmed=True))
        self.confirm_fix.on_click(lambda _b: self._apply_fix_and_close())
        self.confirm_no.on_click(lambda _b: self._hide_confirm())
        self._relabel_confirm()
        self.confirm_box.children = [self.confirm_msg,
                                     make(W.HBox, children=[self.confirm_fix, self.confirm_yes, self.confirm_no])]

    def _relabel_confirm(self) -> None:
        lang = self.lang
        self.confirm_yes.description = t("submit_anyway", lang)
        self.confirm_fix.description = t("apply_fix", lang)
        self.confirm_no.description = t("cancel", lang)

    @property
    def ahp_sliders(self) -> list[W.SelectionSlider]:
        """The pairwise-judgement sliders (built on first use: fewer widgets per page load)."""
        self._ensure_ahp()
        assert self._ahp_sliders is not None
        return self._ahp_sliders

    def _ensure_ahp(self) -> None:
        if self._ahp_sliders is not None:
            return
        make = self._make
        lay = make.lay(width="560px")
        self.ahp_head = make(W.HTML)
        sliders = [make(W.SelectionSlider, "pmm-ahp", options=ahp_options(a, b, self.lang, self._dim_names), value=1.0,
                        continuous_update=False, readout=True, layout=lay) for a, b in self.pairs]
        self.ahp_labels = [make(W.HTML) for _ in self.pairs]
        for sl in sliders:
            sl.observe(lambda _ch: self._on_ahp(), names="value")
        self.ahp_status = make(W.HTML, "pmm-cr")
        self.ahp_fix = make(W.Button, layout=W.Layout(width="auto", display="none"))
        self.ahp_fix.on_click(lambda _b: self.apply_suggestion())
        self._ahp_sliders = sliders
        self.ahp_box.children = [self.ahp_head, *[make(W.VBox, children=[lab, sl])
                                                  for lab, sl in zip(self.ahp_labels, sliders, strict=True)],
                                 self.ahp_status, self.ahp_fix]
        self._relabel_ahp()
        self._update_ahp_status()

    def _relabel_ahp(self) -> None:
        lang = self.lang
        self.ahp_head.value = f"<b>{html.escape(t('ahp_head', lang))}</b>"
        self._quiet = True
        try:
            for (a, b), sl, lab in zip(self.pairs, self.ahp_sliders, self.ahp_labels, strict=True):
                v = sl.value
                sl.options = ahp_options(a, b, lang, self._dim_names)
                sl.value = v
                lab.value = (f"<span style='font-size:92%'><b>{html.escape(self._dim_names[a])}</b> — "
                             f"<b>{html.escape(self._dim_names[b])}</b></span>")
        finally:
            self._quiet = False
        self.ahp_fix.description = t("apply_fix", lang)

    def _relabel_kpi_dims(self) -> None:
        v = self.kpi_dim.value
        opts = self._kpi_dim_options()
        if opts != list(self.kpi_dim.options):
            # new options reset the selection to the first one ("none") and back; without the
            # guard the open block is removed and re-created in the browser, and what the
            # participant is typing into it at that moment is lost
            self._relabelling = True
            try:
                self.kpi_dim.options = opts
                self.kpi_dim.value = v
            finally:
                self._relabelling = False

    # ------------------------------------------------------------------ join
    def _join_clicked(self) -> None:
        code = (self.group_text.value or "").strip() or (self.group_pick.value or "")
        self.join(code)

    def join(self, code_or_name: str, *, takeover: bool = False) -> bool:
        """Join a group by join code or name; returns True when this device now holds it."""
        lang = self.lang
        name: str | None = None
        code = ""
        if self.config is not None:
            g = self.config.group_by_code(code_or_name) or self.config.group_by_name(code_or_name)
            if g is None:
                self._ensure_join_box()
                self.join_msg.value = f"<span style='color:#b35806'>{html.escape(t('unknown_code', lang, code=code_or_name))}</span>"
                return False
            name, code = g.name, g.code
        else:
            try:
                slug(code_or_name)
            except InputError as exc:
                self._ensure_join_box()
                self.join_msg.value = f"<span style='color:#b35806'>{html.escape(user_message(exc))}</span>"
                return False
            name = code_or_name.strip()
        try:
            claim = claim_group(self.session, name, self.device, takeover=takeover, root=self.root)
        except PmmError as exc:
            self._ensure_join_box()
            self.join_msg.value = f"<span style='color:#b35806'>{html.escape(t('error', lang, reason=user_message(exc)))}</span>"
            return False
        if claim.status == "held_elsewhere":
            since = claim.since[11:19] if len(claim.since) >= 19 else claim.since
            self._ensure_join_box()
            self.join_msg.value = (f"<span style='color:#b35806'>{html.escape(t('held_elsewhere', lang, group=name, since=since))}"
                                   "</span>")
            self._pending = code or name
            self.takeover_button.layout.display = None
            return False
        self._pending = None
        if self._join_built:
            self.takeover_button.layout.display = "none"
            self.join_msg.value = ""
        self.group_name = name
        self.group_label.value = f"<b>{html.escape(t('group_label', lang, group=name))}</b>&nbsp;"
        self.join_box.layout.display = "none"
        self.work_box.layout.display = None
        self.restore()
        if self.on_join is not None and code:
            self.on_join(code)
        return True

    # ------------------------------------------------------------------ state
    @property
    def method(self) -> str:
        """``"budget"`` or ``"ahp"``."""
        return str(self.mode.value)

    def dimension_points(self) -> dict[str, float]:
        """Current dimension points (integers for budgets; eigenvector × 100 for AHP)."""
        if self.method == "ahp":
            return {str(c): float(w) * BUDGET for c, w in self.ahp_result().weights.items()}
        return {c: int(v) for c, v in self.budget.values().items()}

    def judgements(self) -> dict[str, float]:
        """The AHP judgements shown, ``{"A/B": value}``."""
        if self._ahp_sliders is None:
            return {f"{a}/{b}": 1.0 for a, b in self.pairs}
        return {f"{a}/{b}": float(s.value) for (a, b), s in zip(self.pairs, self._ahp_sliders, strict=True)}

    def ahp_result(self) -> AhpLive:
        """Priorities and consistency of the current pairwise judgements (cached per judgement set)."""
        key = tuple(self.judgements().values())
        if self._ahp_cache is None or self._ahp_cache[0] != key:
            self._ahp_cache = (key, ahp_judgements(self.live.dims, self.judgements()))
        return self._ahp_cache[1]

    def blocks(self) -> dict[str, dict[str, float]]:
        """The weight-point blocks the app currently shows: ``PMM`` and every KPI block in use."""
        out: dict[str, dict[str, float]] = {TOP_BLOCK: self.dimension_points()}
        for d, cb in self.kpi_use.items():
            if cb.value:
                out[d] = {k: float(v) for k, v in self.kpi_blocks[d].values().items()}
        return out

    def _canonical(self) -> tuple[str, str]:
        b = self.blocks()
        extra = self.judgements() if self.method == "ahp" else {}
        return self.method, json.dumps({"b": {k: {c: round(v, 6) for c, v in sorted(p.items())}
                                              for k, p in sorted(b.items())}, "j": extra}, sort_keys=True)

    @property
    def dirty(self) -> bool:
        """Whether the weights differ from the group's last submission (or it never submitted)."""
        return self._saved is None or self._canonical() != self._saved

    # ------------------------------------------------------------------ events
    def _changed(self) -> None:
        if self._quiet:
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        self._edit_seq += 1
        self._hide_confirm()
        self._relabel_kpi_dims()
        self._update_status()
        self.refresh()
        if self.on_update is not None:
            self.on_update((time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000)

    def _on_ahp(self) -> None:
        if self._quiet:
            return
        self._update_ahp_status()
        self._changed()

    def _on_mode_display(self) -> None:
        ahp = self.method == "ahp"
        if ahp:
            self._ensure_ahp()
        self.budget_box.layout.display = "none" if ahp else None
        self.ahp_box.layout.display = None if ahp else "none"

    def _on_mode(self) -> None:
        self._on_mode_display()
        self._changed()

    def _kpi_view(self, dim: str) -> W.VBox:
        if dim not in self._kpi_views:
            make = self._make
            codes = self.live.kpis_of[dim]
            block = _Budget(codes, self._kpi_names, list(self.live.default_kpi_points[dim]), self._changed,
                            label_width="300px", lang=self.lang, make=make)
            use = make(W.Checkbox, "pmm-kpi-use", value=False, indent=False, description=t("kpi_use", self.lang))
            use.observe(lambda _ch: self._changed(), names="value")
            rows: list[W.Widget] = [use]
            heads = []
            by_code = dict(zip(codes, block.rows, strict=True))
            for o in self.live.outcomes_of[dim]:
                heads.append((o, make(W.HTML, value=self._outcome_head_html(o))))
                rows.append(heads[-1][1])
                rows += [by_code[k.code] for k in self.live.framework.kpis if k.parent == o and k.code in by_code]
            rows.append(block.remaining)
            self.kpi_use[dim], self.kpi_blocks[dim], self._kpi_outcome_heads[dim] = use, block, heads
            self._kpi_views[dim] = make(W.VBox, f"pmm-kpi-block-{dim}", children=rows)
        return self._kpi_views[dim]

    def _outcome_head_html(self, outcome: str) -> str:
        return f"<i>{html.escape(t('outcome_head', self.lang, name=self._out_names[outcome]))}</i>"

    def _show_kpi_block(self) -> None:
        dim = self.kpi_dim.value
        if not dim:
            self.kpi_box.children = []
            return
        self.kpi_box.children = [self._kpi_view(dim)]
        self.kpi_blocks[dim].show_remaining(self.lang)

    def reset_weights(self) -> None:
        """Back to the framework's points and 'equal' judgements; KPI blocks unset."""
        self.budget.set_values(dict(zip(self.live.dims, self.live.default_dim_points, strict=True)))
        self._quiet = True
        try:
            for s in self._ahp_sliders or []:
                s.value = 1.0
            for d, block in self.kpi_blocks.items():
                block.set_values(dict(zip(self.live.kpis_of[d], self.live.default_kpi_points[d], strict=True)))
                self.kpi_use[d].value = False
        finally:
            self._quiet = False
        self._update_ahp_status()
        self._changed()

    def apply_suggestion(self) -> None:
        """Set the least consistent judgement to the value the other judgements imply."""
        r = self.ahp_result()
        if r.worst is None or r.consistent:
            return
        i = self.pairs.index(r.worst) if r.worst in self.pairs else self.pairs.index((r.worst[1], r.worst[0]))
        value = r.suggestion if r.worst in self.pairs else 1 / r.suggestion
        opts = [v for _, v in self.ahp_sliders[i].options]
        self.ahp_sliders[i].value = min(opts, key=lambda o: abs(np.log(o) - np.log(value)))

    # ------------------------------------------------------------------ restore
    def restore(self) -> bool:
        """Load the group's last submission into the widgets; True when there was one."""
        if not self.group_name:
            return False
        path = session_dir(self.session, self.root) / f"{slug(self.group_name)}.json"
        if not path.exists():
            self._saved = None
            self._update_status()
            return False
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            last = doc["history"][-1]
        except (OSError, ValueError, KeyError, IndexError):
            return False
        points = last.get("points", {})
        self._quiet = True
        try:
            self._restore_entry(last, points)
        finally:
            self._quiet = False
        self._on_mode_display()
        self._saved = self._canonical()
        self._saved_rev = int(last.get("revision", 0))
        self._saved_time = str(last.get("submitted_at", ""))[11:19]
        self._update_ahp_status()
        self._show_kpi_block()
        self._relabel_kpi_dims()
        self._update_status()
        self.status.value += (f"<br><small>{html.escape(t('restored', self.lang, time=self._saved_time, rev=self._saved_rev))}"
                              "</small>")
        self.refresh()
        return True

    def _restore_entry(self, last: Mapping[str, Any], points: Mapping[str, Any]) -> None:
        self.mode.value = last.get("method", "budget")
        if last.get("method") == "ahp" and isinstance(last.get("ahp"), Mapping):
            j = last["ahp"].get("judgements", {})
            for (a, b), s in zip(self.pairs, self.ahp_sliders, strict=True):
                v = j.get(f"{a}/{b}")
                if v is not None:
                    opts = [o for _, o in s.options]
                    s.value = min(opts, key=lambda o: abs(np.log(o) - np.log(float(v))))
        elif TOP_BLOCK in points:
            self.budget.set_values(points[TOP_BLOCK])
        for d in self.live.dims:
            if d in points:
                self._kpi_view(d)
                self.kpi_blocks[d].set_values(points[d])
            if d in self.kpi_use:
                self.kpi_use[d].value = d in points

    # ------------------------------------------------------------------ views
    def _update_ahp_status(self) -> None:
        if self._ahp_sliders is None:
            return
        r = self.ahp_result()
        lang = self.lang
        if r.consistent or r.worst is None:
            text, colour = t("cr_ok", lang, cr=f"{r.cr:.2f}"), "#1a7f37"
            self.ahp_fix.layout.display = "none"
        else:
            text = t("cr_bad", lang, cr=f"{r.cr:.2f}", a=self._dim_names[r.worst[0]], b=self._dim_names[r.worst[1]],
                     suggest=self._verbal_pair(r.worst, r.suggestion))
            colour = "#b35806"
            self.ahp_fix.layout.display = None
        weights = ", ".join(f"{self._dim_names[str(c)]} {w * BUDGET:.0f}" for c, w in r.weights.items())
        self.ahp_status.value = (f"<div style='color:{colour}'>{html.escape(text)}</div>"
                                 f"<div>{html.escape(t('weights_of', lang, weights=weights))}</div>")

    def _verbal_pair(self, pair: tuple[str, str], value: float) -> str:
        k, verbal = saaty_verbal(value)
        if k == 1:
            return t("ahp_equal", self.lang)
        who = pair[0] if value >= 1 else pair[1]
        return t("ahp_more", self.lang, name=self._dim_names[who], verbal=t("v_" + verbal, self.lang))

    def _update_status(self) -> None:
        self.status.value = self._status_html()
        if self._saving:
            return
        for block in [self.budget, *self.kpi_blocks.values()]:
            block.show_remaining(self.lang)

    def _status_html(self) -> str:
        lang = self.lang
        if self._saving:
            return f"<span style='color:#555'>{html.escape(t('saving', lang))}</span>"
        if self._saved is None:
            text, colour = t("not_submitted", lang), "#555"
            if self._edit_seq:
                text, colour = t("unsaved", lang), "#b35806"
        elif self.dirty:
            text, colour = t("unsaved", lang), "#b35806"
        else:
            text, colour = t("saved", lang, time=self._saved_time, rev=self._saved_rev), "#1a7f37"
        return f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def refresh(self) -> None:
        """Recompute ranks (method core), table, chart and correlation for the current weights."""
        t0 = time.perf_counter()
        table, corr, chart = self._results_html()
        # an unchanged value is not sent again (traitlets compares): a move that changes no rank
        # shown costs no message
        self.table.value = table
        self.correlation.value = corr
        self.chart.value = chart
        self.last_update_ms = (time.perf_counter() - t0) * 1000

    def _results_html(self) -> tuple[str, str, str]:
        """The ranking table, the outcome correlation and the rank-shift chart of the current weights."""
        live = self.live
        blocks = self.blocks()
        try:
            score = live.score_array(blocks)
        except PmmError:
            score = np.full(len(live.members), np.nan)
        rank = live.rank_array(score)
        shift = live.default_rank_array - rank
        self._blocks = blocks
        return (_ranking_html(self._names, score, rank, live.default_rank_array, shift, self.top, self.lang),
                self._correlation_html(score), _rank_shift_svg(self._names, shift, self.top, lang=self.lang))

    @property
    def ranking(self) -> pd.DataFrame:
        """The ranking shown (:meth:`pmm_lib.workshop.live.LiveIndex.ranking` of the current weights)."""
        return self.live.ranking(self._blocks)

    def _correlation_html(self, score: np.ndarray) -> str:
        label = self.outcome.value
        if label not in self._outcomes:
            return ""
        pos, values, better = self._outcomes[label]
        rho, n = self.live.spearman(score[pos], values)
        if label not in self._base_corr:
            self._base_corr[label] = self.live.spearman(self.live.default_score_array[pos], values)[0]
        expect = t("expect_pos" if better == "higher" else "expect_neg", self.lang)
        return "<span class='pmm-corr'>" + html.escape(t("corr", self.lang, outcome=t(label, self.lang),
                                                         rho=f"{rho:+.2f}", n=n,
                                                         base=f"{self._base_corr[label]:+.2f}",
                                                         expect=expect)) + "</span>"

    # ------------------------------------------------------------------ submission
    def _apply_fix_and_close(self) -> None:
        self.apply_suggestion()
        self._hide_confirm()

    def _hide_confirm(self) -> None:
        self.confirm_box.layout.display = "none"

    def submit(self, *, confirmed: bool = False) -> Path | None:
        """Save the group's current weights (idempotent); report in ``status``."""
        lang = self.lang
        if self._saving or not self.group_name:
            return None
        if not self.dirty:
            self._update_status()
            self.status.value += f" <span style='color:#555'>{html.escape(t('nothing_new', lang))}</span>"
            return self.last_path
        blocks = self.blocks()
        for block in [self.budget] + [self.kpi_blocks[d] for d in blocks if d != TOP_BLOCK]:
            if self.method == "ahp" and block is self.budget:
                continue
            left = BUDGET - block.total()
            if left != 0:
                self.status.value = (f"<span style='color:#b35806'>"
                                     f"{html.escape(t('not_saved', lang, reason=t('must_allocate', lang, n=left)))}</span>")
                return None
        ahp = None
        if self.method == "ahp":
            r = self.ahp_result()
            if not r.consistent and not confirmed and r.worst is not None:
                self._ensure_confirm_box()
                self.confirm_msg.value = html.escape(t("confirm_cr", lang, cr=f"{r.cr:.2f}",
                                                       a=self._dim_names[r.worst[0]], b=self._dim_names[r.worst[1]],
                                                       suggest=self._verbal_pair(r.worst, r.suggestion)))
                self.confirm_box.layout.display = None
                return None
            ahp = {"judgements": self.judgements(), "cr": round(float(r.cr), 6)}
        self._hide_confirm()
        self._saving = True
        self.submit_button.disabled = True
        self._update_status()
        state = self._canonical()
        try:
            path = submit(self.session, self.group_name, blocks, method=self.method,  # type: ignore[arg-type]
                          ahp=ahp, root=self.root, framework=self.live.framework, device=self.device,
                          token=f"{self.device}:{self._edit_seq}:{hash(state)}")
            doc = json.loads(path.read_text(encoding="utf-8"))
        except SaveRefused:
            self._saving = False
            self.submit_button.disabled = False
            self.status.value = (f"<span style='color:#b35806'>"
                                 f"{html.escape(t('not_saved', lang, reason=t('lost_group', lang)))}</span>")
            return None
        except (PmmError, OSError) as exc:
            self._saving = False
            self.submit_button.disabled = False
            self.status.value = (f"<span style='color:#b35806'>"
                                 f"{html.escape(t('not_saved', lang, reason=user_message(exc)))}</span>")
            return None
        last = doc["history"][-1]
        self._saved = state
        self._saved_rev = int(last["revision"])
        self._saved_time = str(last["submitted_at"])[11:19]
        self.last_path = path
        self._saving = False
        self.submit_button.disabled = False
        self._update_status()
        return path


def _ranking_html(names: list[str], score: np.ndarray, rank: np.ndarray, default_rank: np.ndarray,
                  shift: np.ndarray, top: int, lang: str = "en") -> str:
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
    head = ("<style>.pmm-rk td,.pmm-rk th{padding:1px 8px;text-align:left}</style>"
            "<table class='pmm-rk' style='border-collapse:collapse;font-size:90%'>"
            f"<thead><tr><th>{t('rank', lang)}</th><th>{t('member', lang)}</th><th>{t('score', lang)}</th>"
            f"<th>{t('framework_rank', lang)}</th><th>{t('change', lang)}</th></tr></thead>")
    return (head + "<tbody>" + "".join(rows) + "</tbody></table><small>"
            + html.escape(t("top_of", lang, top=min(top, len(names)), n=len(names))) + "</small>")


# seaborn's "colorblind" palette (Okabe-Ito based): green = up, vermilion = down
_UP, _DOWN = "#029e73", "#d55e00"


def rank_shift_svg(ranking: pd.DataFrame, *, top: int = 15, width: int = 520, lang: str = "en") -> str:
    """The live rank-shift chart as inline SVG (the app's fast view of ``plot_rank_shift``).

    Horizontal bars of the ``top`` largest absolute rank shifts (``default_rank - rank``,
    > 0 = moves up; ties in row order), sorted, with Member names and values.

    Parameters
    ----------
    ranking : DataFrame
        With columns ``name`` and ``rank_shift`` (e.g. :meth:`LiveIndex.ranking`).
    top : int
        Most bars shown.
    width : int
        Width in pixels.
    lang : str
        Language of the title.
    """
    return _rank_shift_svg([str(x) for x in ranking["name"]], ranking["rank_shift"].to_numpy(dtype=float),
                           top, width, lang=lang)


def _rank_shift_svg(names: list[str], shift: np.ndarray, top: int, width: int = 520, *, lang: str = "en") -> str:
    mag = np.where(np.isfinite(shift), np.abs(shift), 0.0)
    pick = [int(i) for i in np.argsort(-mag, kind="stable")[:top] if mag[i] > 0]
    if not pick:
        return f"<div class='pmm-rankshift'><i>{html.escape(t('no_shift', lang))}</i></div>"
    pick.sort(key=lambda i: -shift[i])
    row, label_w, pad = 16, 170, 40
    plot_w = width - label_w - pad
    height = row * len(pick) + 30
    lim = max(1.0, float(mag[pick].max()))
    zero = label_w + plot_w / 2
    scale = (plot_w / 2 - 30) / lim
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='pmm-rankshift' width='{width}' height='{height}' "
             f"font-family='sans-serif' font-size='11' role='img' aria-label='rank shifts'>",
             f"<text x='{width / 2:.0f}' y='13' text-anchor='middle' font-size='12'>"
             f"{html.escape(t('shift_title', lang))}</text>"]
    for k, i in enumerate(pick):
        y = 18 + k * row
        v = float(shift[i])
        w = abs(v) * scale
        x0 = zero if v >= 0 else zero - w
        colour = _UP if v > 0 else _DOWN
        parts.append(f"<text x='{label_w - 6}' y='{y + 11}' text-anchor='end'>{html.escape(names[i][:26])}</text>"
                     f"<rect x='{x0:.1f}' y='{y + 2}' width='{max(w, 1):.1f}' height='{row - 4}' fill='{colour}'/>"
                     f"<text x='{(zero + w + 3) if v >= 0 else (zero - w - 3):.1f}' y='{y + 11}' "
                     f"text-anchor='{'start' if v >= 0 else 'end'}' fill='#333'>{int(v):+d}</text>")
    base = 18 + row * len(pick)
    parts.append(f"<line x1='{zero:.1f}' x2='{zero:.1f}' y1='16' y2='{base}' stroke='#444'/></svg>")
    return "".join(parts)
