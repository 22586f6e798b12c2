"""Load benchmark of the room's server: N participants arriving at once, in real browsers.

Registers a fresh session with N groups, starts ``pmm workshop serve``'s server (one Solara
process, :func:`pmm_lib.workshop.server.serve_command`) on a free loopback port, and drives
Debian's Chromium through Playwright: every participant is a page in one of a few browser
processes (by default the pages of one browser share a context, hence its HTTP and code cache:
the browsers run on the server's own 2 cores, which in a room the participants' laptops would
not; ``--context-per-page`` gives each page its own context, cookie and cold cache). Host names
other than the loopback do not resolve, so nothing can come from the internet. All pages open
their group's join link at the same moment; each then moves dimension sliders with the keyboard
``--moves`` times (with a short think time) and submits once.

Measured:

* ``time_to_interactive_max_s``: from the common start to the Submit button being visible,
  the slowest participant;
* ``update_p95_ms``: from a slider key press to the ranking table changing in the page
  (95th percentile over all moves of all participants, under the whole room's load);
* ``server_rss_mb``: peak resident memory of the server process (sampled every 0.25 s);
* ``server_cpu_s``: CPU seconds the server process used over the whole run, of which
  ``server_cpu_startup_s`` before the first page was opened (imports, the room's data);
  ``server_cpu_arrival_s``: from the first page opened to the last page interactive (the arrival
  of the room), and ``server_cpu_per_participant_s`` = that / N;
* ``server_build_ms_median`` / ``_max`` and ``server_build_cpu_ms_median``: on the server, the wall
  time and the CPU time of building one participant's app (written by the server to
  ``$PMM_WORKSHOP_TIMING_LOG``, :data:`pmm_lib.workshop.server.ENV_TIMING`);
  ``ws_to_server_start_s_median`` / ``_max``: from a page opening its websocket to the server
  starting to build its app (the server's queue); ``server_built_to_interactive_s_median`` /
  ``_max``: from the server having built a page's app to Submit being visible in that page
  (transfer and the browser's rendering); ``server_update_ms_median`` / ``_p95`` and
  ``server_update_cpu_ms_median``: on the server, the wall and CPU time of handling one change of
  weights (ranks, table, chart and status recomputed and sent), to set beside ``update_p95_ms``;
* ``client_cpu_s``: CPU seconds of all Chromium processes (the co-located browsers) over the run;
  ``client_cpu_arrival_s`` up to the last page interactive and ``client_cpu_per_participant_s``
  = that / N: in a room these seconds are spent on the participants' own laptops, not on the
  server's cores;
* ``submitted``: pages whose Submit reported "Saved"; ``lost_submissions``: of those, groups whose
  file is missing or does not hold the points the page showed; ``merged_submissions``: files
  holding revisions from more than one device.

With ``--browser-nice 19`` the browsers run at the lowest priority, so the server is served
first: its figures then approach those of a room whose browsers are on the participants' own
laptops (the pages still wait for the browsers' own CPU).

Usage: ``python benchmarks/workshop_load.py --participants 50`` (last printed line: JSON).
Targets (issue 17): 50 participants on 2 cores, all interactive within 15 s, p95 ≤ 300 ms,
RSS ≤ 2 GB, no lost or merged submission.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]
#: every host name but the loopback fails to resolve: nothing can be fetched from outside, without
#: routing each request through the test driver (which would also disable the HTTP cache)
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
DIMS = ["TF", "RC", "ES", "OD"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(session: str, root: Path, port: int, log: Path) -> subprocess.Popen:
    """Start the room's server and wait until it answers (returns the process)."""
    from pmm_lib.workshop.server import serve_command, serve_env

    env = serve_env(session, root)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    fh = open(log, "w")  # noqa: SIM115 - the server outlives this function
    proc = subprocess.Popen(serve_command(port), env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=root,
                            start_new_session=True)
    end = time.monotonic() + 120
    import urllib.request

    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early (code {proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return proc
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("server did not answer within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server's process group (SIGTERM, then SIGKILL)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def chromium_cpu_s() -> float:
    """CPU seconds (user + system) of the live Chromium processes under this process (the
    Playwright browsers); a process that has exited no longer counts, so sample while they run."""
    import psutil

    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            if "chrom" in p.name():
                ct = p.cpu_times()
                total += ct.user + ct.system
        except psutil.Error:
            pass
    return total


class RssSampler(threading.Thread):
    """Peak RSS (MB) of a process and its children, sampled in the background."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.every = every
        self.peak = 0.0
        self.cpu_s = 0.0
        self.client_cpu_s = 0.0
        self.arrival: tuple[float, float] | None = None    # (server, client) CPU s when the room had arrived
        ct = self.proc.cpu_times()
        self.startup_cpu_s = ct.user + ct.system          # the server's start (imports, the room's data)
        self._stop_evt = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._stop_evt.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs) / 2**20
                self.peak = max(self.peak, rss)
                ct = self.proc.cpu_times()
                self.cpu_s = ct.user + ct.system
            except psutil.Error:
                pass
            self.client_cpu_s = max(self.client_cpu_s, chromium_cpu_s())
            self._stop_evt.wait(self.every)

    def mark_arrival(self) -> None:
        """Keep the CPU seconds used so far (called when the last page became interactive)."""
        import psutil

        try:
            ct = self.proc.cpu_times()
            self.cpu_s = ct.user + ct.system
        except psutil.Error:
            pass
        self.client_cpu_s = max(self.client_cpu_s, chromium_cpu_s())
        self.arrival = (self.cpu_s, self.client_cpu_s)

    def stop(self) -> float:
        self._stop_evt.set()
        self.join(timeout=2)
        return self.peak


async def _participant(ctx: Any, url: str, code: str, start: float, moves: int, rng: random.Random,
                       on_interactive: Any = None) -> dict[str, Any]:
    external: list[str] = []
    page = await ctx.new_page()
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
            else external.append(r.url))
    out: dict[str, Any] = {"code": code, "tti": math.nan, "updates": [], "submitted": None, "external": external,
                           "error": ""}
    page.on("websocket", lambda _ws: out.setdefault("ws_open", time.time()))
    try:
        await page.goto(f"{url}?join={code}", timeout=300_000, wait_until="commit")
        await page.wait_for_selector(".pmm-submit", state="visible", timeout=300_000)
        out["tti"] = time.perf_counter() - start
        out["interactive_at"] = time.time()
        if on_interactive is not None:
            on_interactive()
        for k in range(moves):
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            dim = DIMS[k % len(DIMS)]
            handle = page.locator(".pmm-slider .noUi-handle").nth(DIMS.index(dim))
            old = await page.inner_html(".pmm-ranking")
            await handle.focus()
            t0 = time.perf_counter()
            await page.keyboard.press("PageUp" if k % 2 == 0 else "PageDown")
            try:
                await page.wait_for_function("old => document.querySelector('.pmm-ranking').innerHTML !== old",
                                             arg=old, timeout=10_000, polling="raf")
                out["updates"].append((time.perf_counter() - t0) * 1000)
            except Exception:  # noqa: BLE001 - a move that changed no rank shown is not a sample
                pass
        pts = [int(await page.input_value(f".pmm-points-{d} input")) for d in DIMS]
        await page.click(".pmm-submit")
        await page.wait_for_selector(".pmm-status:has-text('Saved at')", timeout=60_000)
        out["submitted"] = dict(zip(DIMS, pts, strict=True))
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, counted as not interactive / lost
        out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        await page.close()
    return out


def renice_chromium(nice: int) -> int:
    """Lower the scheduling priority of the Chromium processes under this process; returns how many."""
    import psutil

    n = 0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name():
                proc.nice(nice)
                n += 1
        except psutil.Error:
            pass
    return n


async def _drive(url: str, codes: list[str], moves: int, n_browsers: int, seed: int, shared: bool,
                 marks: Any = None, browser_nice: int = 0) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browsers = [await p.chromium.launch(executable_path=CHROMIUM, args=ARGS + OFFLINE) for _ in range(n_browsers)]
        if browser_nice:
            renice_chromium(browser_nice)   # before any page: the renderers forked later inherit it
        shared_ctx = [await b.new_context(viewport={"width": 1366, "height": 768}) for b in browsers] if shared else []
        contexts = [shared_ctx[i % n_browsers] if shared else
                    await browsers[i % n_browsers].new_context(viewport={"width": 1366, "height": 768})
                    for i in range(len(codes))]
        rng = random.Random(seed)
        left = [len(codes)]

        def arrived() -> None:          # the last page interactive: what the room cost until then
            left[0] -= 1
            if left[0] == 0 and marks is not None:
                marks()

        start = time.perf_counter()
        tasks = [_participant(contexts[i], url, c, start, moves, random.Random(rng.random()), arrived)
                 for i, c in enumerate(codes)]
        results = await asyncio.gather(*tasks)
        for b in browsers:
            await b.close()
    return list(results)


def server_split(timing: Path, results: list[dict]) -> dict[str, float | None]:
    """Split each page's wait: the server's queue, its build of the app, and the rest (the browser).

    ``timing`` holds the server's lines (:data:`pmm_lib.workshop.server.ENV_TIMING`), matched to
    the pages by join code; times are Unix times of the same machine.
    """
    import numpy as np

    every = [json.loads(x) for x in timing.read_text().splitlines() if x.strip()] if timing.exists() else []
    lines = [x for x in every if "t_start" in x]
    upd = [x["update_ms"] for x in every if "update_ms" in x]
    upd_cpu = [x["update_cpu_ms"] for x in every if "update_cpu_ms" in x]
    first = {}
    for x in lines:                       # a page re-rendered (reconnect) counts from its first build
        first.setdefault(x["join"], x)
    by_page = [(r, first.get(r["code"])) for r in results]
    build = [x["build_s"] * 1000 for _, x in by_page if x]
    build_cpu = [x["build_cpu_s"] * 1000 for _, x in by_page if x]
    queue = [x["t_start"] - r["ws_open"] for r, x in by_page if x and "ws_open" in r]
    after = [r["interactive_at"] - x["t_start"] - x["build_s"] for r, x in by_page if x and "interactive_at" in r]

    def q(v: list[float], f: Any, nd: int) -> float | None:
        return round(float(f(v)), nd) if v else None

    return {"server_build_ms_median": q(build, np.median, 1), "server_build_ms_max": q(build, np.max, 1),
            "server_build_cpu_ms_median": q(build_cpu, np.median, 1),
            "ws_to_server_start_s_median": q(queue, np.median, 2), "ws_to_server_start_s_max": q(queue, np.max, 2),
            "server_built_to_interactive_s_median": q(after, np.median, 2),
            "server_built_to_interactive_s_max": q(after, np.max, 2),
            "server_update_ms_median": q(upd, np.median, 1), "server_update_ms_p95": q(upd, lambda v: np.percentile(v, 95), 1),
            "server_update_cpu_ms_median": q(upd_cpu, np.median, 1)}


def check_submissions(root: Path, session: str, cfg: Any, results: list[dict]) -> tuple[int, int]:
    """``(lost, merged)``: a submission the page reported saved that its file does not hold; a file
    with revisions from more than one device."""
    from pmm_lib.workshop.exercise import session_dir

    folder = session_dir(session, root)
    by_code = {g.code: g for g in cfg.groups}
    lost = merged = 0
    for r in results:
        g = by_code[r["code"]]
        path = folder / f"{g.slug}.json"
        if r["submitted"] is None:          # never got to submit: counted as not interactive, not lost
            continue
        if not path.exists():
            lost += 1
            continue
        doc = json.loads(path.read_text())
        if doc["history"][-1]["points"]["PMM"] != r["submitted"]:
            lost += 1
        if len({h.get("device") for h in doc["history"]}) > 1:
            merged += 1
    return lost, merged


def run(participants: int, *, moves: int = 5, browsers: int | None = None, seed: int = 1,
        shared_context: bool = True, region: str = "AMS", cycle: int = 2024, browser_nice: int = 0
        ) -> dict[str, Any]:
    """Run the benchmark once; returns the figures (see the module docstring)."""
    import numpy as np

    from pmm_lib.workshop.server import ENV_TIMING
    from pmm_lib.workshop.session import register_session

    tmp = Path(tempfile.mkdtemp(prefix="pmm-load-"))
    session = f"load-{participants}"
    cfg = register_session(session, [f"Group {i + 1}" for i in range(participants)], region=region,
                           cycle=cycle, root=tmp, seed=seed)
    port = _free_port()
    log = tmp / "server.log"
    timing = tmp / "timing.jsonl"
    os.environ[ENV_TIMING] = str(timing)
    try:
        proc = start_server(session, tmp, port, log)
    finally:
        del os.environ[ENV_TIMING]
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        n_b = browsers or max(1, math.ceil(participants / 25))
        results = asyncio.run(_drive(f"http://127.0.0.1:{port}/", [g.code for g in cfg.groups], moves, n_b, seed,
                                     shared_context, marks=sampler.mark_arrival, browser_nice=browser_nice))
    finally:
        rss = sampler.stop()
        stop_server(proc)
    lost, merged = check_submissions(tmp, session, cfg, results)
    tti = [r["tti"] for r in results if np.isfinite(r["tti"])]
    ups = [u for r in results for u in r["updates"]]
    cdn = "Could not load URL" in log.read_text(errors="replace")
    split = server_split(timing, results)
    arrival = sampler.arrival or (sampler.cpu_s, sampler.client_cpu_s)
    arrival = (arrival[0] - sampler.startup_cpu_s, arrival[1])
    return {"participants": participants, "interactive": len(tti), "browsers": n_b, "browser_nice": browser_nice,
            "contexts": n_b if shared_context else participants,
            "time_to_interactive_max_s": round(max(tti), 2) if tti else None,
            "time_to_interactive_median_s": round(float(np.median(tti)), 2) if tti else None,
            "update_p95_ms": round(float(np.percentile(ups, 95)), 1) if ups else None,
            "update_median_ms": round(float(np.median(ups)), 1) if ups else None, "updates": len(ups),
            "submitted": sum(r["submitted"] is not None for r in results),
            "server_rss_mb": round(rss, 1), "lost_submissions": lost, "merged_submissions": merged,
            "external_requests": sum(len(r["external"]) for r in results), "server_fetched_cdn": cdn,
            "server_cpu_s": round(sampler.cpu_s, 1), "server_cpu_startup_s": round(sampler.startup_cpu_s, 1),
            "server_cpu_arrival_s": round(arrival[0], 1),
            "server_cpu_per_participant_s": round(arrival[0] / participants, 3),
            "client_cpu_s": round(sampler.client_cpu_s, 1), "client_cpu_arrival_s": round(arrival[1], 1),
            "client_cpu_per_participant_s": round(arrival[1] / participants, 2), **split,
            "load_average_1min": round(os.getloadavg()[0], 1),
            "errors": [r["error"] for r in results if r["error"]][:3], "cpu_count": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=10)
    ap.add_argument("--moves", type=int, default=5, help="slider moves per participant")
    ap.add_argument("--browsers", type=int, default=0, help="browser processes (default: one per 25 pages)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="run the browsers at this nice value (e.g. 19): the server then gets the CPU it asks "
                         "for first, as it would with the browsers on the participants' laptops")
    ap.add_argument("--context-per-page", action="store_true",
                    help="one browser context per page (own cookie and cache) instead of one per browser")
    args = ap.parse_args(argv)
    res = run(args.participants, moves=args.moves, browsers=args.browsers or None, seed=args.seed,
              shared_context=not args.context_per_page, browser_nice=args.browser_nice)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
