"""Warm kernels: one IPython kernel executes several notebooks of a run, papermill semantics kept.

Starting a kernel and importing the scientific stack costs 3.5–4 s of CPU per notebook; a run of
five notebooks paid it five times, and six regions thirty times. :class:`WarmKernel` starts one
kernel and executes notebook after notebook in it through papermill (the ``parameters`` cell,
the injected-parameters cell, the executed notebook with its outputs and errors). Before each
notebook a silent prelude gives it a clean slate:

* ``%reset -f`` (no variable of the previous notebook is visible), the execution counter back
  to 1 (the executed notebook numbers its cells as a fresh kernel would);
* every matplotlib figure closed and the rc parameters back to those a fresh kernel reads;
* the working directory set to the run folder.

Imported modules stay loaded: that is the saving. A kernel whose notebook timed out, or that
died, is discarded and a new one starts for the next notebook.

Kernels talk over IPC (Unix domain sockets) in a private temporary folder instead of TCP ports
picked at random: kernels started side by side by parallel runs can no longer pick the same
port ("ZMQError: Address already in use", "Kernel died before replying to kernel_info").

Example
-------
>>> from pmm_lib.reporting.kernel import WarmKernel
>>> with WarmKernel() as kernel:                           # doctest: +SKIP
...     kernel.execute("notebooks/01_data_quality.ipynb", "out/01.ipynb",
...                    {"region": "AMS", "cycle": 2024}, cwd="out")
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["KERNEL_ENV", "WarmKernel", "kernel_env", "notebook_imports", "wait_ready"]

#: Environment of every kernel a run starts (headless plots, stable hashing of str keys).
KERNEL_ENV: dict[str, str] = {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}

_ENGINE = "pmm-warm"
_PRELUDE = """\
get_ipython().run_line_magic("reset", "-f")
import os as _pmm_os, sys as _pmm_sys
_pmm_os.chdir({cwd!r})
if "matplotlib.pyplot" in _pmm_sys.modules:
    _pmm_sys.modules["matplotlib.pyplot"].close("all")
if "matplotlib" in _pmm_sys.modules:
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        _pmm_sys.modules["matplotlib"].rc_file_defaults()
del _pmm_os, _pmm_sys
get_ipython().execution_count = 1
"""


_WARM = """\
import importlib as _pmm_il
for _pmm_m in {modules!r}:
    try:
        _pmm_il.import_module(_pmm_m)
    except Exception:  # the notebook's own import will say what is wrong
        pass
if "matplotlib.pyplot" in __import__("sys").modules:  # the font cache, read on the first draw
    import io as _pmm_io
    _pmm_f = __import__("sys").modules["matplotlib.pyplot"].figure()
    _pmm_f.savefig(_pmm_io.BytesIO(), format="png")
    __import__("sys").modules["matplotlib.pyplot"].close(_pmm_f)
    del _pmm_io, _pmm_f
del _pmm_il, _pmm_m
# what is loaded now lives as long as the kernel: the collector need not scan it again (each
# notebook's clean slate, %reset, runs a full collection: 0.17 s each over the whole stack)
__import__("gc").freeze()
"""


def notebook_imports(sources: list[str]) -> list[str]:
    """The modules a set of notebooks imports at the top level of their cells, in order, once each.

    ``import a.b`` gives ``a.b``; ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (``c`` may be a
    submodule; a name that is not one fails quietly when pre-imported). Lines IPython would
    transform (magics, shell escapes) are skipped; a cell that is not valid Python is ignored.

    Examples
    --------
    >>> notebook_imports(["import numpy as np\\nfrom pmm_lib.core import build\\n%matplotlib inline",
    ...                   "x = 1\\nimport numpy"])
    ['numpy', 'pmm_lib.core', 'pmm_lib.core.build']
    """
    import ast

    found: dict[str, None] = {}
    for src in sources:
        code = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name, None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.setdefault(node.module, None)
                for alias in node.names:
                    if alias.name != "*":
                        found.setdefault(f"{node.module}.{alias.name}", None)
    return list(found)


def _sync(fn: Any) -> Any:
    """Call an asynchronous jupyter_client method from synchronous code (a plain one as is)."""
    import inspect

    from jupyter_core.utils import run_sync

    return run_sync(fn) if inspect.iscoroutinefunction(fn) else fn


async def wait_ready(kc: Any, timeout: float) -> None:
    """Wait until the kernel answers ``kernel_info`` on shell and its iopub messages reach ``kc``.

    jupyter_client's ``wait_for_ready`` ends by waiting until iopub has been quiet for 0.2 s:
    an idle pause paid by every notebook of a warm kernel (papermill opens a client per
    notebook), 1.2 s of a six-notebook run. Here the wait ends on the kernel's own ``idle``
    status for the request, which it publishes after the reply: once it is read, iopub is
    connected and nothing of the request is left queued. A request whose status was published
    before the subscription connected is simply asked again.

    Raises
    ------
    RuntimeError
        When the kernel died, or did not answer within ``timeout`` seconds (jupyter_client's
        messages).
    """
    from queue import Empty

    from jupyter_core.utils import ensure_async

    deadline = time.monotonic() + timeout
    while True:
        msg_id = kc.kernel_info()
        replied = False
        while time.monotonic() < deadline:
            if not replied:
                try:
                    msg = await ensure_async(kc.shell_channel.get_msg(timeout=1))
                except Empty:
                    break  # ask again (as jupyter_client does every second)
                if (msg.get("parent_header", {}).get("msg_id") == msg_id
                        and msg.get("msg_type") == "kernel_info_reply"):
                    kc._handle_kernel_info_reply(msg)
                    replied = True
                continue
            try:
                msg = await ensure_async(kc.iopub_channel.get_msg(timeout=0.5))
            except Empty:
                break  # iopub joined after the status went out: ask again
            if (msg.get("parent_header", {}).get("msg_id") == msg_id and msg.get("msg_type") == "status"
                    and msg.get("content", {}).get("execution_state") == "idle"):
                return
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() >= deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


def _remove_dead_socket_dirs() -> None:
    """Remove ``pmm-kernel-<pid>-*`` socket folders left by runners that no longer exist."""
    base = Path(tempfile.gettempdir())
    for folder in base.glob("pmm-kernel-*-*"):
        pid = folder.name.split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def kernel_env() -> dict[str, str]:
    """The environment a run's kernels start with: this process's plus :data:`KERNEL_ENV`."""
    return {**os.environ, **KERNEL_ENV}


def _register_engine() -> None:
    """Register the papermill engine that executes in a given (warm) kernel manager, once."""
    from nbclient.util import run_hook
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    if _ENGINE in papermill_engines._engines:
        return

    class _WarmClient(PapermillNotebookClient):
        prelude = ""

        async def async_start_new_kernel_client(self) -> Any:
            # nbclient's, with :func:`wait_ready` in place of the 0.2 s quiet-iopub wait
            try:
                self.kc = self.km.client()
                self.kc.start_channels()
                await wait_ready(self.kc, self.startup_timeout)
            except Exception as exc:
                self.log.error(f"Error occurred while starting new kernel client: {exc}")
                await self._async_cleanup_kernel()
                raise
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        # nbclient's synchronous setup_kernel calls this name, bound to its own coroutine
        start_new_kernel_client = _sync(async_start_new_kernel_client)

        def papermill_execute_cells(self) -> None:
            if self.prelude:  # silent: no output, no history, no execution count
                msg_id = self.kc.execute(self.prelude, silent=True, store_history=False)
                reply = self.wait_for_reply(msg_id)
                if reply is None or reply["content"].get("status") != "ok":
                    content = (reply or {}).get("content", {})
                    raise RuntimeError("the kernel's clean-up before the notebook failed: "
                                       f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}")
            super().papermill_execute_cells()

    class _WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     stdout_file: Any = None, stderr_file: Any = None,
                                     start_timeout: float = 60, execution_timeout: float | None = None,
                                     **kwargs: Any) -> Any:
            km = kwargs.pop("km")
            prelude = kwargs.pop("prelude", "")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log=logger, log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            client = _WarmClient(nb_man, km=km, **final)
            client.prelude = prelude
            try:
                return client.execute()
            finally:  # the kernel stays; this notebook's client channels go
                if getattr(client, "kc", None) is not None:
                    client.kc.stop_channels()

    papermill_engines.register(_ENGINE, _WarmEngine)


class WarmKernel:
    """One reusable IPython kernel (IPC transport, private socket folder).

    Parameters
    ----------
    kernel_name : str
        Kernel spec (default ``python3``).
    startup_timeout : float
        Seconds to wait for the kernel to answer ``kernel_info``.
    extra_arguments : sequence of str
        Passed to the kernel process (the runner silences the kernel's own log).

    Attributes
    ----------
    pid : int or None
        The kernel's process id while it runs (recorded in the run manifest).
    starts : int
        How many kernel processes this object started (1 when every notebook reused it).
    """

    def __init__(self, kernel_name: str = "python3", *, startup_timeout: float = 60.0,
                 extra_arguments: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",
                                                     # no shared ~/.ipython history database: kernels
                                                     # of parallel runs would contend for its lock
                                                     "--HistoryManager.hist_file=:memory:")) -> None:
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.extra_arguments = list(extra_arguments)
        self.starts = 0
        self._km: Any = None
        self._dir: str | None = None
        self._env_key: tuple[tuple[str, str], ...] = ()

    # -- life cycle ------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        """True while the kernel process runs."""
        return self._km is not None and bool(_sync(self._km.is_alive)())

    @property
    def pid(self) -> int | None:
        """The kernel's process id, or None."""
        prov = getattr(self._km, "provisioner", None) if self._km is not None else None
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)

    def start(self, cwd: str | Path) -> None:
        """Start the kernel (if not running) in ``cwd`` with :func:`kernel_env`."""
        env = kernel_env()
        key = tuple(sorted((k, v) for k, v in env.items() if k.startswith(("PMM", "PYTHON"))
                           or k in KERNEL_ENV))
        if self.alive and key == self._env_key:
            return
        self.shutdown()
        # nbclient drives the kernel manager from its event loop (it polls is_alive while a cell
        # runs, which is how a dead kernel is noticed): it must be the asynchronous one
        from jupyter_client.manager import AsyncKernelManager

        # a short private folder: Unix socket paths are limited to ~107 bytes; its name carries
        # our pid so that the folder of a runner killed outright is removed by the next one
        _remove_dead_socket_dirs()
        self._dir = tempfile.mkdtemp(prefix=f"pmm-kernel-{os.getpid()}-")
        km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc", ip=os.path.join(self._dir, "k"))
        km.connection_file = os.path.join(self._dir, "kernel.json")
        try:
            _sync(km.start_kernel)(cwd=str(cwd), env=env, extra_arguments=self.extra_arguments)
            kc = km.client()
            kc.start_channels()
            try:
                _sync(wait_ready)(kc, self.startup_timeout)
            finally:
                kc.stop_channels()
        except BaseException:
            with contextlib.suppress(Exception):
                _sync(km.shutdown_kernel)(now=True)
            self._cleanup_dir()
            raise
        self._km, self._env_key = km, key
        self.starts += 1

    def warm(self, cwd: str | Path, modules: list[str]) -> None:
        """Start the kernel and import ``modules`` in it (silently), so the notebooks need not.

        Called in a thread while the runner prepares the run: the kernel's start and the
        scientific stack's import (2–4 s of CPU) then overlap the runner's own work instead of
        delaying the first notebook. Imports change no result: every notebook still starts
        from :data:`_PRELUDE`'s clean slate. A failure here is left for :meth:`execute` to meet
        (a kernel that did not start is started again there).
        """
        try:
            self.start(cwd)
            kc = self._km.client()
            kc.start_channels()
            try:
                msg_id = kc.execute(_WARM.format(modules=list(modules)), silent=True, store_history=False)
                deadline = time.monotonic() + self.startup_timeout
                while time.monotonic() < deadline:
                    msg = _sync(kc.get_shell_msg)(timeout=max(0.1, deadline - time.monotonic()))
                    if msg.get("parent_header", {}).get("msg_id") == msg_id:
                        break
            finally:
                kc.stop_channels()
        except Exception:  # noqa: BLE001 - the notebook's execution reports real failures
            return

    def shutdown(self) -> None:
        """Stop the kernel process and remove its socket folder (safe to call twice)."""
        km, self._km = self._km, None
        if km is not None:
            with contextlib.suppress(Exception):
                _sync(km.shutdown_kernel)(now=True)
            with contextlib.suppress(Exception):
                _sync(km.cleanup_resources)()
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> WarmKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- execution -------------------------------------------------------------------------
    def execute(self, src: str | Path | Any, dst: str | Path, parameters: Mapping[str, Any], *,
                cwd: str | Path, timeout: float | None = None) -> Any:
        """Execute one notebook with papermill in this kernel and save it to ``dst``.

        Parameters
        ----------
        src : path or NotebookNode
            The notebook (its cell tagged ``parameters`` gets papermill's injected cell after it).
        dst : path
            Where the executed notebook is written (also when a cell raised: the error is in it).
        parameters : mapping
            Papermill parameters.
        cwd : path
            Working directory of the notebook's code.
        timeout : float, optional
            Per-cell timeout in seconds.

        Returns
        -------
        NotebookNode
            The executed notebook. Raises papermill's ``PapermillExecutionError`` when a cell
            raised, and whatever nbclient raises when the kernel died or a cell timed out (the
            kernel is then discarded, the next call starts a fresh one).
        """
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        _register_engine()
        self.start(cwd)
        if isinstance(src, Path):
            src = str(src)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                nb = pm.execute_notebook(src, str(dst), parameters=dict(parameters), engine_name=_ENGINE,
                                         kernel_name=self.kernel_name, language="python", progress_bar=False,
                                         log_output=False, request_save_on_cell_execute=False,
                                         execution_timeout=timeout, start_timeout=self.startup_timeout,
                                         km=self._km, prelude=_PRELUDE.format(cwd=str(cwd)))
        except PapermillExecutionError:
            if not self.alive:
                self.shutdown()
            raise
        except BaseException:  # timeout, dead kernel, interrupted: never reuse that kernel
            self.shutdown()
            raise
        self.last_seconds = time.perf_counter() - t0
        return nb
