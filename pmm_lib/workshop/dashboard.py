"""The facilitator's live dashboard (ipywidgets): who submitted, the consensus and its effect.

This module owns the projectable view of a session. It reads the session's submission
files (so it sees submissions made from any process), polls them about once a second
(:meth:`FacilitatorDashboard.start_polling`) and redraws when a file changed, so a
submission shows within 2 s. Every number comes from :mod:`pmm_lib.workshop.consensus`
(AHP groups by the geometric mean of their judgements, KPI blocks set by fewer than 3
groups left out, the effect on ranks with the range across groups) and
:mod:`pmm_lib.workshop.exercise` (exports); texts from :mod:`pmm_lib.workshop.i18n`.

Examples
--------
>>> from pmm_lib.workshop.live import load_live_index                  # doctest: +SKIP
>>> live, _ = load_live_index("AMS", 2024)                             # doctest: +SKIP
>>> FacilitatorDashboard(live, session="demo").widget                  # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import ipywidgets as W
import numpy as np
import pandas as pd

from pmm_lib.errors import PmmError
from pmm_lib.io import write_text_atomic
from pmm_lib.workshop.consensus import (
    MIN_GROUPS,
    group_flags,
    rank_effect,
    room_consensus,
    top_changes,
)
from pmm_lib.workshop.exercise import (
    TOP_BLOCK,
    export_weight_sets,
    load_ahp,
    load_submissions,
    resolve_session,
    scenario_dict,
    session_dir,
    weights_table,
)
from pmm_lib.workshop.i18n import LANGUAGES, t
from pmm_lib.workshop.live import LiveIndex
from pmm_lib.workshop.session import SessionConfig

__all__ = ["FacilitatorDashboard", "folder_signature"]


def folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """``(name, mtime_ns, size)`` of every group file in ``folder``: changes on any submission."""
    if not folder.is_dir():
        return ()
    out = []
    for p in sorted(folder.glob("*.json")):
        if p.name in ("session.json", "claims.json"):
            continue
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<table class='{cls}' style='border-collapse:collapse;font-size:95%'>"
            f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def _fmt(x: float, nd: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


class FacilitatorDashboard:
    """The facilitator's live view of a session (see the module docstring).

    Parameters
    ----------
    live : LiveIndex
        The room's data (the same object the participants use).
    session : str or SessionConfig
        The registered session (its groups are listed even before they submit).
    root : path, optional
        Where sessions are kept.
    lang : {"en", "fr", "es"}
    min_groups : int
        KPI blocks set by fewer groups stay out of the consensus.

    Attributes
    ----------
    widget : ipywidgets.VBox
    last_refresh : float
        ``time.time()`` of the last redraw.
    """

    def __init__(self, live: LiveIndex, *, session: str | SessionConfig = "", root: str | Path | None = None,
                 lang: str = "en", min_groups: int = MIN_GROUPS):
        self.live = live
        if isinstance(session, SessionConfig):
            self.config: SessionConfig | None = session
            self.session = session.session
        else:
            self.config, self.session = None, resolve_session(session)
        self.root = root
        self.lang = lang
        self.min_groups = min_groups
        self.folder = session_dir(self.session, root)
        self._sig: tuple[Any, ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_refresh = 0.0
        self._dim_names = {d.code: d.name for d in live.framework.dimensions}
        self.title = W.HTML()
        self.language = W.ToggleButtons(options=[(n, c) for c, n in LANGUAGES.items()], value=lang,
                                        style={"button_width": "78px"})
        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.summary = W.HTML()
        self.summary.add_class("pmm-dash-summary")
        self.groups = W.HTML()
        self.groups.add_class("pmm-dash-groups")
        self.consensus = W.HTML()
        self.consensus.add_class("pmm-dash-consensus")
        self.weights = W.HTML()
        self.effect = W.HTML()
        self.effect.add_class("pmm-dash-effect")
        self.statistic = W.ToggleButtons(options=[("mean", "mean"), ("median", "median")], value="mean")
        self.export_button = W.Button(button_style="primary", layout=W.Layout(width="auto"))
        self.export_button.add_class("pmm-export")
        self.export_button.on_click(lambda _b: self.export())
        self.export_msg = W.HTML()
        left = W.VBox([self.groups, self.weights], layout=W.Layout(width="600px"))
        right = W.VBox([self.consensus, self.effect, W.HBox([self.statistic, self.export_button]), self.export_msg],
                       layout=W.Layout(width="640px"))
        from pmm_lib.workshop.banner import ConnectionBanner
        from pmm_lib.workshop.widgets import STYLE

        self.banner = ConnectionBanner()
        self.widget = W.VBox([W.HTML(STYLE), self.banner, W.HBox([self.title, self.language], layout=W.Layout(
            justify_content="space-between", width="100%")), self.summary, W.HBox([left, right])],
            layout=W.Layout(width="1260px", padding="0 8px"))
        self.widget.add_class("pmm-dashboard")
        self.set_language(lang)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def set_language(self, lang: str) -> None:
        """Switch every label to ``lang`` and redraw."""
        self.lang = lang
        if self.language.value != lang:
            self.language.value = lang
        if hasattr(self, "banner"):
            self.banner.set_language(lang)
        self.title.value = (f"<h3 style='margin:4px 0'>{html.escape(t('dash_title', lang))} — "
                            f"{html.escape(self.session)}</h3>")
        self.export_button.description = t("dash_export", lang)
        v = self.statistic.value
        self.statistic.options = [(t("dash_mean", lang), "mean"), (t("dash_median", lang), "median")]
        self.statistic.value = v
        self.statistic.description = t("dash_statistic", lang)
        self.refresh(force=True)

    # ------------------------------------------------------------------ polling
    def refresh_if_changed(self) -> bool:
        """Redraw when a submission file changed since the last redraw; True when it redrew."""
        sig = folder_signature(self.folder)
        if sig == self._sig:
            return False
        self.refresh(force=True)
        return True

    def start_polling(self, interval: float = 1.0, *, wrap: Callable[[Callable[[], object]], None] | None = None
                      ) -> None:
        """Poll the session folder every ``interval`` seconds in a daemon thread.

        ``wrap(fn)`` runs ``fn`` in the right context (the server passes one that enters the
        participant's virtual kernel); default: call it directly.
        """
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    if wrap is None:
                        self.refresh_if_changed()
                    else:
                        wrap(self.refresh_if_changed)
                except Exception:  # noqa: BLE001 - a failed redraw must not kill the poller
                    continue

        self._thread = threading.Thread(target=loop, name=f"pmm-dashboard-{self.session}", daemon=True)
        self._thread.start()

    def stop_polling(self) -> None:
        """Stop the polling thread (the server calls this when the page closes)."""
        self._stop.set()

    # ------------------------------------------------------------------ views
    def refresh(self, *, force: bool = False) -> None:
        """Read the submissions and redraw every section."""
        lang = self.lang
        self._sig = folder_signature(self.folder)
        self.last_refresh = time.time()
        now = time.strftime("%H:%M:%S")
        try:
            subs = load_submissions(self.session, root=self.root, framework=self.live.framework)
            ahp = load_ahp(self.session, root=self.root)
        except PmmError as exc:
            self.summary.value = f"<span style='color:#b35806'>{html.escape(str(exc))}</span>"
            return
        registered = [g.name for g in self.config.groups] if self.config else []
        submitted = sorted(set(subs["group"])) if not subs.empty else []
        n_all = len(set(registered) | set(submitted))
        # data-updated: the redraw's Unix time, so a test can time the server's update apart from the browser's
        self.summary.value = (f"<b class='pmm-dash-count' data-updated='{self.last_refresh:.3f}'>"
                              f"{html.escape(t('dash_submitted', lang, k=len(submitted), n=n_all, time=now))}</b>")
        self._draw_groups(subs, ahp, registered)
        if subs.empty:
            self.consensus.value = f"<i>{html.escape(t('dash_none', lang))}</i>"
            self.weights.value = ""
            self.effect.value = ""
            self._room = None
            return
        room = room_consensus(subs, ahp, min_groups=self.min_groups)
        self._room = room
        self._subs = subs
        self._draw_weights(subs)
        self._draw_consensus(room, subs)
        self._draw_effect(room, subs)

    def _draw_groups(self, subs: pd.DataFrame, ahp: dict[str, dict[str, float]], registered: list[str]) -> None:
        lang = self.lang
        flags = group_flags(subs, ahp, codes=self.live.dims, min_groups=self.min_groups).set_index("group") \
            if not subs.empty else pd.DataFrame()
        last = subs.drop_duplicates("group", keep="last").set_index("group") if not subs.empty else pd.DataFrame()
        rows = []
        for g in list(dict.fromkeys(registered + sorted(flags.index.tolist() if len(flags) else []))):
            if len(last) and g in last.index:
                status = html.escape(t("dash_at", lang, time=str(last.loc[g, "submitted_at"])[11:19],
                                       rev=int(last.loc[g, "revision"])))
                f = flags.loc[g]
                method = html.escape(t("method_ahp" if f["method"] == "ahp" else "method_budget", lang))
                notes = []
                if bool(f["inconsistent"]):
                    notes.append(t("flag_cr", lang, cr=f"{f['cr']:.2f}"))
                if f["excluded_blocks"]:
                    notes.append(t("flag_block", lang, blocks=f["excluded_blocks"], k=self.min_groups))
                flag = "<br>".join(f"<span style='color:#b35806'>⚑ {html.escape(x)}</span>" for x in notes)
                rows.append([html.escape(g), f"<span style='color:#1a7f37'>✔ {status}</span>", method, flag])
            else:
                rows.append([html.escape(g), f"<span style='color:#777'>… {html.escape(t('dash_waiting', lang))}</span>",
                             "", ""])
        self.groups.value = (f"<h4>{html.escape(t('dash_groups', lang))}</h4>"
                             + _table([t("dash_group", lang), t("dash_status", lang), t("dash_method", lang),
                                       t("dash_flags", lang)], rows, "pmm-dash-groups-table"))

    def _draw_weights(self, subs: pd.DataFrame) -> None:
        tab = weights_table(subs, TOP_BLOCK).reindex(columns=self.live.dims)
        rows = [[html.escape(str(g))] + [_fmt(float(v), 0) for v in r] for g, r in tab.iterrows()]
        self.weights.value = (f"<h4>{html.escape(t('dash_weights', self.lang))}</h4>"
                              + _table([t("dash_group", self.lang), *self.live.dims], rows, "pmm-dash-weights"))

    def _draw_consensus(self, room: Any, subs: pd.DataFrame) -> None:
        lang = self.lang
        top = room.table.loc[room.table["block"] == TOP_BLOCK]
        rows = [[html.escape(f"{r.code} {self._dim_names.get(r.code, '')}"[:48]), _fmt(r.weight_mean),
                 _fmt(r.weight_median), _fmt(r.sd), f"{_fmt(r.min, 0)}–{_fmt(r.max, 0)}", str(int(r.n))]
                for r in top.itertuples()]
        parts = [f"<h4>{html.escape(t('dash_consensus', lang))}</h4>",
                 _table([t("dash_dimension", lang), t("dash_mean", lang), t("dash_median", lang), t("dash_sd", lang),
                         t("dash_range", lang), "n"], rows, "pmm-dash-consensus-table")]
        if room.ahp is not None:
            parts.append(f"<div class='pmm-dash-ahp'>{html.escape(t('dash_ahp_note', lang, k=room.n_ahp, cr=f'{room.ahp.cr:.2f}'))}</div>")
        for block, g in room.table.loc[room.table["block"] != TOP_BLOCK].groupby("block", sort=False):
            k = int(subs.loc[subs["block"] == block, "group"].nunique())
            state = t("dash_in", lang) if bool(g["included"].iloc[0]) else t("dash_out", lang, k=self.min_groups)
            parts.append(f"<div class='pmm-dash-block'>{html.escape(t('dash_blocks', lang, dim=block, k=k, state=state))}</div>")
        self.consensus.value = "".join(parts)

    def _draw_effect(self, room: Any, subs: pd.DataFrame, top: int = 12) -> None:
        lang = self.lang
        eff = rank_effect(self.live, subs, room)
        summ = top_changes(eff, top=10, places=5)
        rows = []
        for r in eff.head(top).itertuples():
            rf, rm, rd, lo, hi = (float(v) for v in (r.rank_framework, r.rank_mean, r.rank_median, r.rank_low,
                                                     r.rank_high))
            rows.append([html.escape(str(r.name)), _fmt(rf, 0), f"<b>{_fmt(rm, 0)}</b>", _fmt(rd, 0),
                         f"{_fmt(lo, 0)}–{_fmt(hi, 0)}"])
        self.effect.value = (f"<h4>{html.escape(t('dash_effect', lang))}</h4>"
                             f"<div>{html.escape(t('dash_effect_sum', lang, moved=summ['moved'], places=5, diff=summ['top_differs'], top=10))}</div>"
                             + _table([t("member", lang), t("framework_rank", lang), t("dash_mean", lang),
                                       t("dash_median", lang), t("dash_rank_range", lang)], rows, "pmm-dash-effect-table"))
        self.effect_table = eff

    # ------------------------------------------------------------------ export
    def export(self) -> list[Path]:
        """Write the consensus scenario (chosen statistic) and the groups' weight sets."""
        import yaml

        room = getattr(self, "_room", None)
        if room is None:
            self.export_msg.value = html.escape(t("dash_none", self.lang))
            return []
        stat: Literal["mean", "median"] = "median" if self.statistic.value == "median" else "mean"
        blocks = room.blocks(stat)
        cons = pd.DataFrame([dict(block=b, code=c, weight_mean=v, weight_median=v)
                             for b, pts in blocks.items() for c, v in pts.items()])
        spec = scenario_dict(cons, statistic=stat, framework=self.live.framework)
        head = f"# PMM workshop consensus ({stat}; AHP groups by the geometric mean of judgements), session {self.session}\n"
        scen = write_text_atomic(self.folder / f"consensus_{stat}.yaml", head + yaml.safe_dump(spec, sort_keys=False))
        sets = export_weight_sets(self._subs, self.folder / "weight_sets.yaml", session=self.session,
                                  framework=self.live.framework)
        self.export_msg.value = html.escape(t("dash_exported", self.lang, files=f"{scen.name}, {sets.name}"))
        return [scen, sets]
