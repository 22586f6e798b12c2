"""The room's server: one Solara process serving the participants' app and the dashboard.

``pmm workshop serve --session S`` runs ``solara run pmm_lib.workshop.server`` (see
:func:`serve_command`): every browser tab is a light virtual kernel inside one Python process,
sharing one copy of the data (:func:`pmm_lib.workshop.live.shared_live_index`), instead of
one ~270 MB Jupyter kernel per tab. Routes:

``/``            the participants' app (:class:`pmm_lib.workshop.widgets.WeightingApp`);
                 ``?join=CODE`` opens a group directly (the link the facilitator hands out),
                 ``?lang=fr`` chooses the language.
``/dashboard``   the facilitator's live dashboard (:class:`pmm_lib.workshop.dashboard.FacilitatorDashboard`),
                 only with ``?key=KEY``, the session's facilitator key
                 (:meth:`pmm_lib.workshop.session.SessionConfig.dashboard_link`); without it, or
                 with another, the page says it is for the facilitator and shows no data.

The browser's Solara session cookie identifies the device (a reload keeps it, another
laptop has another one). Every asset is served locally (:mod:`pmm_lib.workshop.assets`);
telemetry is switched off. When the connection drops, Solara covers the page with a
"Server disconnected" banner, so nobody keeps moving sliders that save nothing.

The server reads its session from ``$PMM_WORKSHOP_SESSION`` and ``$PMM_WORKSHOP_DIR``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from pmm_lib.errors import PmmError
from pmm_lib.workshop.exercise import ENV_DIR, ENV_SESSION

__all__ = ["ENV_TIMING", "SOLARA_ENV", "Layout", "routes", "serve_command", "serve_env"]

#: when set, the server appends JSON lines to this file: one per participant page built (the join
#: code, when the page's app began to be built, ``t_start``, Unix time, after the page's websocket
#: connected and its kernel started; how long building it took on the server, ``build_s``, wall;
#: the CPU the building thread used, ``build_cpu_s``) and one per change of weights handled
#: (``update_ms`` wall and ``update_cpu_ms``); the load benchmark reads it to separate the
#: server's share of a page's wait from the browser's
ENV_TIMING = "PMM_WORKSHOP_TIMING_LOG"


def _log_timing(line: dict[str, Any]) -> None:
    log = os.environ.get(ENV_TIMING)
    if log:
        with open(log, "a", encoding="utf-8") as fh:   # one short write per line: lines do not interleave
            fh.write(json.dumps(line) + "\n")

#: Solara settings the room needs: no telemetry, local assets only, closed tabs culled soon; the
#: plain loader (Solara's animated one kept the browser's compositor busy, ~0.3 s of CPU per page
#: load measured) and no Font Awesome (the app shows no icons: one stylesheet and font less per page)
SOLARA_ENV: dict[str, str] = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_KERNEL_CULL_TIMEOUT": "120s",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_LOADER": "plain",
    "SOLARA_ASSETS_FONTAWESOME_ENABLED": "False",
}


def serve_command(port: int, *, ip: str = "127.0.0.1") -> list[str]:
    """The command line ``pmm workshop serve`` runs (one process for the whole room)."""
    return [sys.executable, "-m", "solara", "run", "pmm_lib.workshop.server", "--production",
            "--host", ip, "--port", str(port), "--no-open"]


def serve_env(session: str, root: str | Path | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the server process: the session, where it lives, Solara's settings."""
    env = dict(os.environ if base is None else base)
    env.update(SOLARA_ENV)
    env[ENV_SESSION] = session
    if root:
        env[ENV_DIR] = str(Path(root).resolve())
    return env


# --------------------------------------------------------------------------- the Solara app
# Everything below runs inside the server (imported by ``solara run``); solara is imported here
# only, so the rest of the package works without it.

import solara  # noqa: E402

_CSS = ".v-application .solara-autorouting-content { padding: 0 !important; }"


def _room() -> tuple[Any, Any, Any, bool]:
    """The registered session and its shared data (built once per process)."""
    from pmm_lib.workshop.exercise import resolve_session
    from pmm_lib.workshop.live import shared_live_index
    from pmm_lib.workshop.session import load_session, simulated_data

    cfg = load_session(resolve_session(os.environ.get(ENV_SESSION, "")), os.environ.get(ENV_DIR) or None)
    live, outcomes = shared_live_index(cfg.region, cfg.cycle, cfg.audience)
    return cfg, live, outcomes, simulated_data()


def _error_widget(exc: BaseException) -> Any:
    """What a participant sees when the room cannot start: the reason, no server paths."""
    import html

    import ipywidgets as W

    from pmm_lib.workshop.widgets import user_message

    return W.HTML(f"<div style='color:#b35806;padding:12px'>The workshop cannot start: "
                  f"{html.escape(user_message(exc))}. Please tell the facilitator.</div>")


def _refused_widget(lang: str) -> Any:
    """What the dashboard route shows without the facilitator key: no data, how to get in."""
    import html

    import ipywidgets as W

    from pmm_lib.workshop.i18n import t

    return W.HTML(f"<div class='pmm-dash-refused' style='color:#b35806;padding:12px'>"
                  f"{html.escape(t('dashboard_refused', lang))}</div>")


def _query(router: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(router.search or "").items() if v}


@solara.component
def Participant() -> None:
    """The participants' page."""
    from pmm_lib.workshop.widgets import WeightingApp

    router = solara.use_router()
    q = _query(router)
    device = solara.get_session_id()

    def make() -> Any:
        t_start, cpu0 = time.time(), time.thread_time()
        widget = _make()
        _log_timing({"join": q.get("join", ""), "t_start": t_start, "build_s": time.time() - t_start,
                     "build_cpu_s": time.thread_time() - cpu0})
        return widget

    def _make() -> Any:
        try:
            cfg, live, outcomes, simulated = _room()
        except PmmError as exc:
            return _error_widget(exc)
        lang = q.get("lang", "en") if q.get("lang", "en") in ("en", "fr", "es") else "en"

        def on_join(code: str) -> None:
            if q.get("join") != code:
                router.push(f"{router.root_path}/?join={code}" + (f"&lang={lang}" if lang != "en" else ""))

        def on_update(wall_ms: float, cpu_ms: float) -> None:
            _log_timing({"join": q.get("join", ""), "update_ms": wall_ms, "update_cpu_ms": cpu_ms})

        app = WeightingApp(live, session=cfg, outcomes=outcomes, root=os.environ.get(ENV_DIR) or None,
                           device=device, join=q.get("join") or None, lang=lang, simulated=simulated,
                           on_join=on_join, on_update=on_update if os.environ.get(ENV_TIMING) else None)
        return app.widget

    widget = solara.use_memo(make, dependencies=[])
    solara.Style(_CSS)
    solara.display(widget)


@solara.component
def Dashboard() -> None:
    """The facilitator's page: polls the session folder and redraws within about a second."""
    from pmm_lib.workshop.dashboard import FacilitatorDashboard

    router = solara.use_router()
    q = _query(router)

    def make() -> Any:
        from solara.server import kernel_context

        try:
            cfg, live, _outcomes, _sim = _room()
        except PmmError as exc:
            return _error_widget(exc)
        lang = q.get("lang", "en") if q.get("lang", "en") in ("en", "fr", "es") else "en"
        if not cfg.facilitator_allowed(q.get("key")):
            return _refused_widget(lang)
        dash = FacilitatorDashboard(live, session=cfg, root=os.environ.get(ENV_DIR) or None, lang=lang)
        ctx = kernel_context.get_current_context()

        def wrap(fn: Any) -> None:
            with ctx:
                fn()

        dash.start_polling(1.0, wrap=wrap)
        ctx.on_close(dash.stop_polling)
        return dash.widget

    widget = solara.use_memo(make, dependencies=[])
    solara.Style(_CSS)
    solara.display(widget)


@solara.component
def Layout(children: list[Any] | None = None) -> None:
    """A bare layout (no app bar): the app fits a 1366 × 768 screen."""
    solara.Column(children=children or [], style={"padding": "4px"})


routes = [solara.Route(path="/", component=Participant, label="participants", layout=Layout),
          solara.Route(path="dashboard", component=Dashboard, label="dashboard")]


def _warm() -> None:
    """Build the room's data when the server starts, not when the first participant arrives."""
    if os.environ.get(ENV_SESSION):
        try:
            _room()
        except Exception as exc:  # noqa: BLE001 - reported on the page when a participant arrives
            print(f"pmm workshop: could not prepare the session: {exc}", file=sys.stderr)


_warm()
