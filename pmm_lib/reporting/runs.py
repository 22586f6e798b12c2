"""Runs: execute the methodology notebooks for a region and cycle, keep everything, render the paper.

This module owns the run folder ``outputs/<region>/<cycle>/<run-id>/`` and its life cycle:

1. a unique run id (UTC timestamp + short hash of the parameters) and folder are created, the
   scenario file (if any) is copied in as ``scenario.yaml`` and ``manifest.json`` is written with
   status ``running``: parameters, seed, SHA-256 of every input (data/raw, data/processed,
   methodology, the notebooks run), package versions, Python version, git commit;
2. each notebook ``NN_*.ipynb`` of the notebooks folder runs in order through papermill with the
   parameters ``region, cycle, seed, spec_path, audience, out_dir`` (+ small-size knobs) and is kept
   executed under ``notebooks/``; a notebook that raises stops the run (its executed copy shows the
   error), the manifest is marked ``failed`` and ``latest`` is left alone;
3. the paper is written and rendered (:mod:`pmm_lib.reporting.paper`), the manifest gets the renderer,
   timings, output hashes and status ``success``, and only then the ``latest`` symlink beside the
   run is replaced atomically (temporary symlink + ``os.replace``). A run without the paper
   (``render=False``, ``--no-paper``) never moves ``latest``.

Several runs (regions × scenarios) go through a process pool or, given a scheduler address, a
Dask distributed cluster (optional extra ``dask``). :func:`rerun` repeats a run from its manifest
and :func:`compare_runs` explains how two runs differ. The CLI subcommands ``run``, ``rerun`` and
``compare`` are defined here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
import yaml

from pmm_lib.errors import (
    EXIT_RUN,
    EXIT_STORAGE,
    IntegrityError,
    RunError,
    SpecError,
    exit_code_for,
    is_storage_failure,
)
from pmm_lib.io import load_yaml, write_text_atomic
from pmm_lib.paths import (
    METHODOLOGY_DIR,
    NOTEBOOKS_DIR,
    OUTPUTS_DIR,
    PROCESSED_DIR,
    RAW_DIR,
    ROOT,
)
from pmm_lib.provenance import package_versions, sha256_file
from pmm_lib.reporting import runstate
from pmm_lib.reporting.kernel import WarmKernel, notebook_imports
from pmm_lib.reporting.nbpair import read_notebook
from pmm_lib.reporting.params import RUN_PARAMETERS, RunParams
from pmm_lib.vocab import DEFAULT_SEED, REGIONS, Audience

__all__ = [
    "DEFAULT_SEED",
    "REGIONS",
    "RunComparison",
    "RunRequest",
    "RunResult",
    "compare_runs",
    "discover_notebooks",
    "execute_run",
    "hash_inputs",
    "notebook_files",
    "stable_path",
    "load_manifest",
    "notebook_parameters",
    "point_latest",
    "rerun",
    "trusted_notebooks",
    "run_many",
    "write_comparison",
]

_PACKAGES = ("pmm-workbench", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "matplotlib",
             "seaborn", "SALib", "papermill", "nbclient", "ipykernel", "pypandoc-binary", "typst",
             "jinja2", "pyyaml", "pyarrow")


# ----------------------------------------------------------------------------------------------
# Requests and results
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunRequest:
    """One run: what to compute and where.

    Attributes
    ----------
    region : str
        A WCO region code (``AMS AP ESA EUR MENA WCA``) or ``ALL`` (every participating Member).
    cycle : int
        PMM cycle (year).
    scenario : Path or None
        Scenario/spec YAML (docs/CONTRACTS.md); copied into the run folder.
    audience : {"public", "wco", "internal"}
    seed : int
    notebooks : tuple of str or None
        Two-digit prefixes to run (``("01", "02")``); None = every ``NN_*.ipynb``.
    notebooks_dir, outputs_dir, template_dir : Path
        Where the notebooks, the run folders and the paper template live.
    parameters : mapping
        Extra notebook parameters (small-size knobs such as ``n_samples``); passed only to
        notebooks whose parameters cell declares them.
    render : bool
        Render the paper (HTML and PDF).
    renderer : {"auto", "quarto", "pandoc"}
    timeout : float or None
        Per-cell execution timeout in seconds.
    notebook_jobs : int
        Notebooks of this run executed at the same time (each in its own kernel). The notebooks
        are independent of each other, so on an otherwise idle machine ``notebook_jobs = 2``
        halves a single run's wall time on 2 cores; parallel runs keep 1.
    framework : Path or None
        A framework or candidate file (:mod:`pmm_lib.inputs.candidates`) to run instead of the
        project's framework; passed to the notebooks as ``framework_path`` and recorded in the
        manifest with its hashes. Checked (loaded) when the request is built.
    """

    region: str
    cycle: int
    scenario: Path | None = None
    audience: Audience = "wco"
    seed: int = DEFAULT_SEED
    notebooks: tuple[str, ...] | None = None
    notebooks_dir: Path = NOTEBOOKS_DIR
    outputs_dir: Path = OUTPUTS_DIR
    template_dir: Path = METHODOLOGY_DIR
    parameters: Mapping[str, Any] = field(default_factory=dict)
    render: bool = True
    renderer: Literal["auto", "quarto", "pandoc"] = "auto"
    timeout: float | None = None
    notebook_jobs: int = 1
    framework: Path | None = None

    def __post_init__(self) -> None:
        region = str(self.region).upper()
        if region not in (*REGIONS, "ALL"):
            raise SpecError(f"region {self.region!r} is not one of {', '.join((*REGIONS, 'ALL'))}")
        object.__setattr__(self, "region", region)
        if isinstance(self.cycle, bool) or not isinstance(self.cycle, int):
            raise SpecError(f"cycle must be a year (int), got {self.cycle!r}")
        if self.audience not in get_args(Audience):
            raise SpecError(f"audience {self.audience!r} is not one of {', '.join(get_args(Audience))}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise SpecError(f"seed must be an int, got {self.seed!r}")
        if isinstance(self.notebook_jobs, bool) or not isinstance(self.notebook_jobs, int) or self.notebook_jobs < 1:
            raise SpecError(f"notebook_jobs must be a positive int, got {self.notebook_jobs!r}")
        if self.renderer not in ("auto", "quarto", "pandoc"):
            raise SpecError(f"renderer {self.renderer!r} is not one of auto, quarto, pandoc")
        for name in ("notebooks_dir", "outputs_dir", "template_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        if self.scenario is not None:
            object.__setattr__(self, "scenario", Path(self.scenario))
        if self.framework is not None:
            from pmm_lib.inputs.candidates import load_design

            object.__setattr__(self, "framework", Path(self.framework).resolve())  # notebooks run elsewhere
            load_design(self.framework)  # a bad framework or candidate stops here, naming file and change
        reserved = (set(RUN_PARAMETERS) | {"framework_path"}) & set(self.parameters)
        if reserved:
            raise SpecError(f"parameters {', '.join(sorted(reserved))} are set by the runner; "
                            "use the RunRequest fields (or CLI options) instead")
        object.__setattr__(self, "parameters", dict(self.parameters))


@dataclass(frozen=True)
class RunResult:
    """What one run produced.

    Attributes
    ----------
    run_dir : Path
    status : {"success", "failed"}
    error : str
        Empty on success; otherwise which notebook (or stage) failed and why.
    renderer : str
        ``quarto``, ``pandoc+typst`` or ``""`` (not rendered).
    seconds : float
        Wall time.
    exit_code : int
        0 on success; otherwise the documented exit code of the failure's class
        (:data:`pmm_lib.errors.EXIT_CODES`: 1 storage, 2 invalid input, 3 notebook/kernel,
        4 external tool, 5 integrity).
    """

    run_dir: Path
    status: Literal["success", "failed"]
    error: str = ""
    renderer: str = ""
    seconds: float = 0.0
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.status == "success"

    def raise_for_status(self) -> RunResult:
        """Raise :class:`RunError` with the error message if the run failed."""
        if not self.ok:
            raise RunError(f"run {self.run_dir} failed: {self.error}", exit_code=self.exit_code or EXIT_RUN)
        return self


# ----------------------------------------------------------------------------------------------
# Helpers: notebooks, hashes, versions, manifest
# ----------------------------------------------------------------------------------------------

def discover_notebooks(notebooks_dir: str | Path = NOTEBOOKS_DIR,
                       select: Sequence[str] | None = None) -> list[Path]:
    """The notebooks a run executes: ``NN_*.ipynb`` in ``notebooks_dir``, sorted by name.

    ``select`` keeps only the given two-digit prefixes (``["01", "03"]``, or ``["1", "3"]``);
    a prefix with no notebook raises :class:`SpecError` listing the available ones.
    """
    notebooks_dir = Path(notebooks_dir)
    found = sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb") if p.is_file())
    if not found:
        raise RunError(f"no notebooks matching NN_*.ipynb in {notebooks_dir}")
    if select is None:
        return found
    wanted = [str(s).strip().zfill(2) for s in select if str(s).strip()]
    available = {p.name[:2]: p for p in found}
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise SpecError(f"--notebooks: no notebook {', '.join(unknown)} in {notebooks_dir}; "
                        f"available: {', '.join(sorted(available))}")
    return [available[s] for s in sorted(set(wanted))]


def stable_path(path: str | Path) -> str:
    """``path`` as a manifest records it: relative to the project root, symlinks *not* resolved.

    ``data/processed/observations.parquet`` stays that (it is a link into a hidden, per-ingest
    folder; resolving it would make every re-ingest look like a data change). Paths outside the
    project are recorded absolute (again without resolving links).

    >>> from pmm_lib.paths import ROOT
    >>> stable_path(ROOT / "data" / "processed" / "observations.parquet")
    'data/processed/observations.parquet'
    """
    absolute = Path(os.path.abspath(path))
    for root in (Path(os.path.abspath(ROOT)), ROOT.resolve()):
        try:
            return absolute.relative_to(root).as_posix()
        except ValueError:
            continue
    return absolute.as_posix()


def notebook_files(notebooks: Sequence[Path]) -> list[Path]:
    """The files a run executes: each ``NN_*.ipynb`` and, if present, its paired jupytext ``.py``."""
    out: list[Path] = []
    for nb in notebooks:
        out.append(Path(nb))
        py = Path(nb).with_suffix(".py")
        if py.is_file():
            out.append(py)
    return out


def hash_inputs(extra: Sequence[Path] = (), *, notebooks: Sequence[Path] = (),
                roots: Sequence[Path] = (RAW_DIR, PROCESSED_DIR, METHODOLOGY_DIR)) -> dict[str, str]:
    """SHA-256 of every input file of a run, keyed by a stable path (:func:`stable_path`).

    Covers every file under ``roots`` (raw data, processed data, the methodology folder with the
    framework and the paper template), the ``notebooks`` run (keyed ``notebooks/<name>``
    wherever their folder is, with their paired ``.py`` sources) and ``extra`` files. Hidden
    files and folders (``.gitkeep``, an ingest's private ``.ingest-*`` folder) are skipped;
    symbolic links are hashed through but keyed by their own path.
    """
    out: dict[str, str] = {}
    for base in roots:
        base = Path(base)
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(base).parts):
                out[stable_path(path)] = sha256_file(path)
    for path in notebook_files(notebooks):
        out[f"notebooks/{path.name}"] = sha256_file(path)
    for path in extra:
        if Path(path).is_file():
            out[stable_path(Path(path))] = sha256_file(Path(path))
    return dict(sorted(out.items()))


def _git_commit() -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def load_manifest(run_dir: str | Path) -> dict[str, Any]:
    """Read ``<run_dir>/manifest.json`` (RunError naming the file if absent or unreadable)."""
    path = Path(run_dir) / "_internal" / "manifest.json"  # the full one of a sealed run
    path = path if path.is_file() else Path(run_dir) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: no manifest (is {run_dir} a run folder?)") from None
    except ValueError as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None


def _write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    write_text_atomic(run_dir / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")


def _param_hash(req: RunRequest, scenario_text: str | None, notebooks: Sequence[Path]) -> str:
    key = {"region": req.region, "cycle": req.cycle, "seed": req.seed, "audience": req.audience,
           "scenario": hashlib.sha256(scenario_text.encode()).hexdigest() if scenario_text else None,
           "notebooks": [p.name for p in notebooks], "parameters": req.parameters,
           **({"framework": sha256_file(req.framework)} if req.framework is not None else {})}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _make_run_dir(req: RunRequest, phash: str) -> Path:
    parent = req.outputs_dir / req.region / str(req.cycle)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for i in range(1, 1000):
        run_dir = parent / (f"{stamp}-{phash}" + (f"-{i}" if i > 1 else ""))
        try:
            run_dir.mkdir()  # exclusive: two processes never get the same folder
        except FileExistsError:
            continue
        return run_dir
    raise RunError(f"could not create a unique run folder in {parent}")  # pragma: no cover


def _read_scenario(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"--scenario {path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"--scenario {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SpecError(f"--scenario {path}: expected a mapping of spec keys, got {type(data).__name__}")
    from pmm_lib.reporting.safety import check_free_text

    check_free_text(data, where=f"--scenario {path}")  # no markup can reach the paper
    try:
        from pmm_lib.core.spec import Spec
    except ImportError:  # pragma: no cover - spec module is part of the core
        return text, data
    try:
        Spec.from_dict(data)
    except SpecError as exc:
        raise SpecError(f"--scenario {path}: {exc}") from None
    return text, data


def point_latest(run_dir: Path) -> Path:
    """Point ``<run_dir>/../latest`` at ``run_dir`` atomically (temporary symlink + ``os.replace``).

    The temporary link is named ``.latest.<host>.<pid>.<hex>`` so that a run killed between the
    two steps leaves a link the next run recognises as its debris (:func:`runstate.sweep`);
    the switch holds the folder's lock, so a concurrent sweep never removes a live one.
    """
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:12]}"
    with runstate.folder_lock(run_dir.parent):
        os.symlink(run_dir.name, tmp, target_is_directory=True)
        try:
            os.replace(tmp, link)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
    return link


def _notebook_error(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return f"{ename}: {evalue}".strip()


def notebook_parameters(src: Path) -> set[str]:
    """Names assigned at top level in the notebook's cell tagged ``parameters`` (empty if none)."""
    import ast

    nb = read_notebook(src)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                return set()
            names: set[str] = set()
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
            return names
    return set()


#: warm kernels kept by a worker process of :func:`run_many` between its runs (see _pool_init)
_POOL_KERNELS: list[WarmKernel] = []
_REUSE_KERNELS = False


def _execute_notebook(kernel: WarmKernel, src: Path, dst: Path, params: dict[str, Any], run_dir: Path,
                      timeout: float | None) -> str | None:
    """Run one notebook in ``kernel`` into ``dst``; return None on success, else the error text."""
    from papermill.exceptions import PapermillExecutionError

    declared = notebook_parameters(src)
    passed = {k: v for k, v in params.items() if k in declared or k in RUN_PARAMETERS}
    error: str | None = None
    tmp = dst.with_name(f".{dst.stem}.{uuid.uuid4().hex[:8]}.ipynb")
    try:
        kernel.execute(read_notebook(src), tmp, passed, cwd=run_dir, timeout=timeout)
    except PapermillExecutionError as exc:
        error = _notebook_error(exc)
    except Exception as exc:  # kernel died, timeout, bad notebook JSON...
        error = _notebook_error(exc)
        if "DeadKernel" in type(exc).__name__ or "died" in str(exc).lower():
            error = f"the kernel died while executing the notebook ({error})"
    if tmp.exists():
        try:  # keep the executed notebook either way (its error visible), but never a truncated file
            import nbformat

            nbformat.read(str(tmp), as_version=4)
        except Exception as exc:  # half-written (disk full, killed kernel): not a notebook
            tmp.unlink(missing_ok=True)
            error = (error + "; " if error else "") + f"the executed notebook could not be saved ({exc})"
        else:
            os.replace(tmp, dst)
    return error


def _kernels(n: int) -> list[WarmKernel]:
    """``n`` kernels for one run: the worker's warm ones when it keeps them, else new ones."""
    if not _REUSE_KERNELS:
        return [WarmKernel() for _ in range(n)]
    while len(_POOL_KERNELS) < n:
        _POOL_KERNELS.append(WarmKernel())
    return _POOL_KERNELS[:n]


def _pool_init() -> None:
    """Initializer of :func:`run_many`'s worker processes: keep kernels warm between runs."""
    import multiprocessing.util

    global _REUSE_KERNELS
    _REUSE_KERNELS = True
    multiprocessing.util.Finalize(None, _shutdown_pool_kernels, exitpriority=10)


def _shutdown_pool_kernels() -> None:
    for kernel in _POOL_KERNELS:
        kernel.shutdown()
    _POOL_KERNELS.clear()


def _labels(run_dir: Path) -> list[str]:
    """Labels of the figures and tables saved so far in a run folder."""
    return sorted({p.stem for sub, ext in (("figures", "png"), ("tables", "csv"))
                   for p in (run_dir / sub).glob(f"*.{ext}") if (run_dir / sub).is_dir()})


def _hash_outputs(run_dir: Path) -> dict[str, str]:
    out = {}
    for sub in ("figures", "tables"):
        folder = run_dir / sub
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    out[f"{sub}/{path.name}"] = sha256_file(path)
    return out


def _writers(notebooks: Sequence[Path]) -> dict[str, str]:
    """Label -> the notebook whose source names it (``"fig-..."``/``"tbl-..."`` string literals)."""
    import re

    found: dict[str, str] = {}
    for nb in notebooks:
        source = "\n".join(c.source for c in read_notebook(nb).cells if c.cell_type == "code")
        # string literals ("tbl-x") and figure cells' options ("#| label: fig-x")
        for quoted, option in re.findall(r"[\"']((?:fig|tbl)-[A-Za-z0-9_-]+)[\"']|^#\|\s*label:\s*((?:fig|tbl)-[A-Za-z0-9_-]+)",
                                         source, flags=re.M):
            found.setdefault(quoted or option, nb.name)
    return found


def _warm_kernels(kernels: Sequence[WarmKernel], cwd: Path, modules: list[str]) -> list[Any]:
    """Start and warm every kernel in its own thread (:meth:`WarmKernel.warm`); return the threads."""
    import threading

    cwd.mkdir(parents=True, exist_ok=True)
    threads = [threading.Thread(target=k.warm, args=(cwd, modules), name=f"pmm-warm-{i}", daemon=True)
               for i, k in enumerate(kernels)]
    for t in threads:
        t.start()
    return threads


def _run_notebooks(notebooks: Sequence[Path], request: RunRequest, params: dict[str, Any], run_dir: Path,
                   manifest: _Manifest, bar: Any, say: Callable[[str], None],
                   kernels: Sequence[WarmKernel] | None = None, warming: Sequence[Any] = (),
                   mark: Callable[[str], None] | None = None) -> str | None:
    """Execute the notebooks in ``request.notebook_jobs`` warm kernels; return the first failure or None.

    Each kernel executes notebook after notebook (:class:`~pmm_lib.reporting.kernel.WarmKernel`:
    the scientific stack is imported once per kernel, not once per notebook). After a failure
    no further notebook starts; notebooks already running finish. The manifest lists every
    notebook that ran, in name order, with its time and status.
    """
    import queue
    import threading

    writers = _writers(notebooks)
    errors: dict[str, str] = {}
    todo: queue.Queue[Path] = queue.Queue()
    for nb in notebooks:
        todo.put(nb)
    n_kernels = max(1, min(request.notebook_jobs, len(notebooks)))
    kernels = list(kernels) if kernels is not None else _kernels(n_kernels)
    n_kernels = len(kernels)

    def record(nb: Path, error: str | None, seconds: float) -> None:
        with manifest.lock:
            m = manifest.data
            m["notebooks"] = sorted([*m["notebooks"], {"name": nb.name, "seconds": seconds,
                                    "status": "failed" if error else "success"}], key=lambda n: n["name"])
            for label in _labels(run_dir):  # which notebook wrote each artefact
                m["artefacts"].setdefault(label, writers.get(label, nb.name))
            m["artefacts"] = dict(sorted(m["artefacts"].items()))
            m["owner"]["kernel_pids"] = sorted({k.pid for k in kernels if k.pid is not None})
            manifest.write()
            if error:
                # where the executed notebook is once the run is sealed (bundle.seal_run)
                where = run_dir / ("notebooks" if request.audience == "internal" else "_internal/notebooks")
                errors[nb.name] = f"notebook {nb.name} raised {error} (see {where / nb.name})"
            else:
                say(f"{nb.name}: ok ({seconds:.1f} s)")
            if bar is not None:
                bar.update()

    def worker(kernel: WarmKernel, warm: Any = None, index: int = 0) -> None:
        if warm is not None:  # this kernel's start and imports (:func:`_warm_kernels`), not the others'
            warm.join()
            if mark is not None:
                mark(f"kernel_{index}_warm")
        while not errors:
            try:
                nb = todo.get_nowait()
            except queue.Empty:
                return
            if bar is not None:
                bar.set_postfix_str(nb.name)
            t_nb = time.perf_counter()
            error = _execute_notebook(kernel, nb, run_dir / "notebooks" / nb.name, params, run_dir,
                                      request.timeout)
            record(nb, error, round(time.perf_counter() - t_nb, 3))

    try:
        warms = list(warming) + [None] * (n_kernels - len(warming))
        if n_kernels == 1:
            worker(kernels[0], warms[0])
        else:
            threads = [threading.Thread(target=worker, args=(k, w, i), name=f"pmm-kernel-{i}", daemon=True)
                       for i, (k, w) in enumerate(zip(kernels, warms, strict=True))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        if not _REUSE_KERNELS:
            for kernel in kernels:
                kernel.shutdown()
    return errors[min(errors)] if errors else None


class _Manifest:
    """The run's manifest: the dict, a lock (the heartbeat thread writes too) and its atomic write."""

    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        import threading

        self.run_dir, self.data, self.lock = run_dir, data, threading.RLock()

    def write(self) -> None:
        with self.lock:
            _write_manifest(self.run_dir, self.data)

    def beat(self) -> None:
        with self.lock:
            if self.data.get("status") == "running":
                self.data["heartbeat"] = runstate.utc_now()
                self.write()


# ----------------------------------------------------------------------------------------------
# One run
# ----------------------------------------------------------------------------------------------

def _failure_code(exc: BaseException | None, message: str) -> int:
    """The documented exit code of a failed run (errors.EXIT_CODES)."""
    if exc is not None and not isinstance(exc, OSError) and not is_storage_failure(message):
        return exit_code_for(exc)
    if exc is not None and isinstance(exc, OSError):
        return EXIT_STORAGE
    return EXIT_STORAGE if is_storage_failure(message) else EXIT_RUN


def _sweep(request: RunRequest) -> list[dict[str, Any]]:
    """Clean-up on start: abandoned runs and kill debris in this region's and cycle's folder."""
    parent = request.outputs_dir / request.region / str(request.cycle)
    if not parent.is_dir():
        return []
    with runstate.folder_lock(parent):
        return runstate.sweep(parent, write_manifest=_write_manifest)


def execute_run(request: RunRequest, *, progress: bool = False,
                on_event: Callable[[str], None] | None = None,
                provenance: Mapping[str, Any] | None = None) -> RunResult:
    """Execute one run; see the module docstring for the steps.

    Parameters
    ----------
    request : RunRequest
    progress : bool
        Show a tqdm bar over the notebooks.
    on_event : callable, optional
        Called with one-line status messages (``"01_data_quality.ipynb: ok (3.2 s)"``).
    provenance : mapping, optional
        Extra manifest entries written from the start (:func:`rerun`: ``rerun_of``,
        ``notebooks_source``, ``notebooks_dir``).

    Returns
    -------
    RunResult
        ``status == "failed"`` when a notebook raised or rendering failed; the manifest carries
        the error, ``latest`` is unchanged and ``exit_code`` gives the failure's class. Before
        anything else, runs of the same region and cycle that died (their process is gone, or
        their heartbeat stopped) are marked ``abandoned`` and the debris of kills is removed
        (:func:`pmm_lib.reporting.runstate.sweep`). The processed data are then brought up to
        date with the questionnaires (:func:`pmm_lib.inputs.ingest.ensure_processed`, under a lock
        so parallel runs never ingest at once). Errors in the request itself (an invalid
        questionnaire, unknown notebook, bad scenario) raise :class:`SpecError` before any
        folder is created. While the run lives, its manifest records the owner (pid, host,
        boot id, kernel pids) and a heartbeat refreshed every few seconds.
    """
    t0 = time.perf_counter()
    say = on_event or (lambda msg: None)
    notebooks = discover_notebooks(request.notebooks_dir, request.notebooks)
    sources: list[str] = []
    for nb in notebooks:  # a .py/.ipynb pair that disagrees stops the run before any folder exists
        sources += [c.source for c in read_notebook(nb).cells if c.cell_type == "code"]
    scenario_text, scenario = (_read_scenario(request.scenario) if request.scenario is not None
                               else (None, None))
    from pmm_lib.reporting.bundle import require_key

    require_key(request.audience, outputs_dir=request.outputs_dir)  # public/wco: the pseudonym key exists
    from pmm_lib.reporting.safety import check_free_text

    check_free_text(dict(request.parameters), where="parameter")
    # the kernels start and import what the notebooks import while this process prepares the run
    kernels = _kernels(max(1, min(request.notebook_jobs, len(notebooks))))
    warming = _warm_kernels(kernels, request.outputs_dir, notebook_imports(sources))
    try:
        return _prepared_run(request, notebooks, scenario_text, scenario, kernels, warming, say=say,
                             progress=progress, provenance=provenance, t0=t0)
    finally:  # a run that failed before its notebooks still stops the kernels it started
        for thread in warming:
            thread.join()
        if not _REUSE_KERNELS:
            for kernel in kernels:
                kernel.shutdown()


def _import_paper() -> None:
    """Import the paper step's modules (run in a thread while the notebooks execute)."""
    import importlib

    for name in ("pmm_lib.reporting.paper", "pypandoc", "typst"):
        with contextlib.suppress(Exception):  # the paper step itself reports a missing tool
            importlib.import_module(name)


def _prepared_run(request: RunRequest, notebooks: Sequence[Path], scenario_text: str | None,
                  scenario: Any, kernels: Sequence[WarmKernel], warming: Sequence[Any], *,
                  say: Callable[[str], None], progress: bool, provenance: Mapping[str, Any] | None,
                  t0: float) -> RunResult:
    """:func:`execute_run` once the request is checked and the kernels are warming."""
    from pmm_lib.reporting.bundle import seal_run

    for gone in _sweep(request):
        say(f"run {gone['run_id']} marked abandoned ({gone['reason']})")
    processed = _ensure_processed()
    if processed["action"] == "ingested":
        say(f"data/processed refreshed by ingest ({processed['reason']})")
    run_dir = _make_run_dir(request, _param_hash(request, scenario_text, notebooks))
    spec_path = ""
    if scenario_text is not None:
        spec_path = str(write_text_atomic(run_dir / "scenario.yaml", scenario_text))
    (run_dir / "notebooks").mkdir()
    params: dict[str, Any] = {  # the notebooks' RunParams, checked here once more
        **RunParams(region=request.region, cycle=request.cycle, seed=request.seed, spec_path=spec_path,
                    audience=request.audience, out_dir=str(run_dir)).as_dict(),
        **request.parameters,
        **({"framework_path": str(request.framework)} if request.framework is not None else {}),
    }
    from pmm_lib.inputs.candidates import framework_record
    from pmm_lib.paths import FRAMEWORK_PATH

    started = runstate.utc_now()
    manifest = _Manifest(run_dir, {
        "run_id": run_dir.name,
        "status": "running",
        "started": started,
        "finished": None,
        "owner": runstate.owner_record(),
        "heartbeat": started,
        "parameters": {k: params[k] for k in ("region", "cycle", "seed", "audience")}
                      | {"notebooks": [p.name[:2] for p in notebooks], "knobs": dict(request.parameters)},
        "seed": request.seed,
        "scenario": scenario,
        "scenario_file": stable_path(request.scenario) if request.scenario is not None else None,
        "notebooks_dir": stable_path(request.notebooks_dir),
        "notebook_hashes": {p.name: sha256_file(p) for p in notebook_files(notebooks)},
        "framework_path": stable_path(request.framework or FRAMEWORK_PATH),
        "framework": framework_record(request.framework or FRAMEWORK_PATH),
        "processed": processed,
        "inputs": hash_inputs([request.framework] if request.framework else [], notebooks=notebooks),
        "packages": package_versions(_PACKAGES),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "notebooks": [],
        "artefacts": {},
        "renderer": None,
        "paper": {},
        "outputs": {},
        "error": None,
    })
    if scenario_text is not None:  # the copy in the run folder is what the notebooks read
        manifest.data["inputs"]["scenario.yaml"] = hashlib.sha256(scenario_text.encode("utf-8")).hexdigest()
    manifest.data.update(provenance or {})
    manifest.write()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(notebooks) + int(request.render), desc=f"{request.region} {request.cycle}",
                   unit="step", leave=True)

    def fail(message: str, exc: BaseException | None = None) -> RunResult:
        if bar is not None:  # close first: the messages below must start on their own line
            bar.close()
        with manifest.lock:
            manifest.data.update(status="failed", error=message, finished=runstate.utc_now(),
                                 outputs=_hash_outputs(run_dir), seconds=round(time.perf_counter() - t0, 3))
            manifest.write()
        try:  # a failed public or wco run keeps its workings out of the edition too
            seal_run(run_dir, request.audience)
        except (RunError, OSError) as seal_error:  # the run's own failure stays what is reported
            say(f"the failed run could not be sealed ({seal_error})")
        say(f"FAILED: {message}")
        return RunResult(run_dir, "failed", message, "", time.perf_counter() - t0,
                         exit_code=_failure_code(exc, message))

    def mark(step: str) -> None:  # where the run's seconds went (seconds since the run started)
        with manifest.lock:
            manifest.data.setdefault("timeline", {})[step] = round(time.perf_counter() - t0, 3)

    if request.render:  # the paper's code loads while the kernels compute (0.2 s off the paper step)
        import threading

        threading.Thread(target=_import_paper, name="pmm-import-paper", daemon=True).start()
    with runstate.Heartbeat(manifest.beat):
        try:
            mark("prepared")
            failure = _run_notebooks(notebooks, request, params, run_dir, manifest, bar, say, kernels, warming,
                                     mark)
            mark("notebooks_done")
            if failure:
                return fail(failure)
            with manifest.lock:
                manifest.data["outputs"] = _hash_outputs(run_dir)
            if request.render:
                from pmm_lib.reporting.paper import render_paper, write_paper_source

                if bar is not None:
                    bar.set_postfix_str("paper")
                with manifest.lock:
                    snapshot = json.loads(json.dumps(manifest.data, default=str))
                write_paper_source(run_dir, snapshot | {"status": "notebooks complete, paper being rendered"},
                                   template_dir=request.template_dir)
                mark("paper_source_written")
                rendered = render_paper(run_dir, renderer=request.renderer, template_dir=request.template_dir)
                mark("paper_rendered")
                with manifest.lock:
                    manifest.data["renderer"] = rendered.renderer
                    manifest.data["paper"] = {"files": {k: p.name for k, p in rendered.outputs.items()},
                                              "versions": rendered.versions, "seconds": round(rendered.seconds, 3)}
                say(f"paper rendered with {rendered.renderer} ({rendered.seconds:.1f} s)")
                if bar is not None:
                    bar.update()
        except (RunError, SpecError, OSError) as exc:
            return fail(str(exc), exc)
        except Exception as exc:  # an unexpected failure still ends with a failed manifest
            return fail(f"{type(exc).__name__}: {exc}", exc)
        if bar is not None:
            bar.close()
        with manifest.lock:
            manifest.data.update(status="success", finished=runstate.utc_now(),
                                 seconds=round(time.perf_counter() - t0, 3))
            manifest.data.pop("heartbeat", None)
            manifest.write()
        seal_run(run_dir, request.audience)  # workings to _internal/, manifest.json relative (reporting.bundle)
    if request.render:  # latest always points at a complete run with its paper
        point_latest(run_dir)
    return RunResult(run_dir, "success", "", manifest.data["renderer"] or "", time.perf_counter() - t0)


def _ensure_processed() -> dict[str, Any]:
    """raw → ingest → processed before anything reads the data; one process at a time."""
    from pmm_lib.inputs.ingest import ensure_processed

    if PROCESSED_DIR.is_dir():
        with runstate.folder_lock(PROCESSED_DIR):
            return ensure_processed()
    return ensure_processed()


# ----------------------------------------------------------------------------------------------
# Many runs
# ----------------------------------------------------------------------------------------------

def _safe_execute(request: RunRequest) -> RunResult:
    """Worker entry point: never raises, so one bad request cannot hide the others' results."""
    try:
        return execute_run(request)
    except Exception as exc:  # a SpecError/RunError/OSError before the run folder existed
        return RunResult(request.outputs_dir / request.region / str(request.cycle), "failed",
                         f"{type(exc).__name__}: {exc}", exit_code=exit_code_for(exc))


def run_many(requests: Sequence[RunRequest], *, jobs: int | None = None, scheduler: str | None = None,
             progress: bool = True) -> list[RunResult]:
    """Execute several runs in parallel; results in the order of ``requests``.

    Parameters
    ----------
    requests : sequence of RunRequest
    jobs : int, optional
        Worker processes (default: ``min(len(requests), os.cpu_count())``). ``jobs=1`` runs in
        this process, one after the other. Each worker keeps its kernel warm from one run to
        the next (the scientific stack is imported once per worker, not once per notebook), so
        six regions on two workers cost about two kernel starts.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``); the runs are submitted to
        that cluster instead of the local process pool. Needs the optional extra ``dask``.
    progress : bool
        Show a tqdm bar counting finished runs.
    """
    requests = list(requests)
    if not requests:
        return []
    if scheduler is None:  # once, before the workers start: they then find the data current
        _ensure_processed()
    results: dict[int, RunResult] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(requests), desc="runs", unit="run")

    def done(i: int, res: RunResult) -> None:
        results[i] = res
        if bar is not None:
            bar.set_postfix_str(f"{requests[i].region} {res.status}")
            bar.update()

    try:
        if scheduler is not None:
            try:
                from distributed import Client, as_completed
            except ImportError as exc:
                raise RunError("--scheduler needs the optional extra 'dask' "
                               "(pip install 'pmm-workbench[dask]')") from exc
            with Client(scheduler) as client:
                futures = client.map(_safe_execute, requests, pure=False)
                index = {f.key: i for i, f in enumerate(futures)}
                for fut in as_completed(futures):
                    done(index[fut.key], fut.result())
        elif (jobs or 0) == 1 or len(requests) == 1:
            global _REUSE_KERNELS
            keep, _REUSE_KERNELS = _REUSE_KERNELS, True  # one warm kernel for the whole sequence
            try:
                for i, req in enumerate(requests):
                    done(i, _safe_execute(req))
            finally:
                _REUSE_KERNELS = keep
                if not keep:
                    _shutdown_pool_kernels()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            from concurrent.futures import as_completed as cf_completed

            workers = max(1, min(jobs or os.cpu_count() or 1, len(requests)))
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pool_init) as pool:
                futs = {pool.submit(_safe_execute, req): i for i, req in enumerate(requests)}
                for fut in cf_completed(futs):
                    done(futs[fut], fut.result())
    finally:
        if bar is not None:
            bar.close()
    return [results[i] for i in range(len(requests))]


# ----------------------------------------------------------------------------------------------
# Rerun and compare
# ----------------------------------------------------------------------------------------------

def _diff_hashes(old: Mapping[str, str], new: Mapping[str, str]) -> pd.DataFrame:
    rows = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a != b:
            change = "added" if a is None else "removed" if b is None else "changed"
            rows.append({"file": key, "change": change, "sha256_a": a or "", "sha256_b": b or ""})
    return pd.DataFrame(rows, columns=["file", "change", "sha256_a", "sha256_b"])


def _resolve_run(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists() and (OUTPUTS_DIR / p).exists():
        p = OUTPUTS_DIR / p
    if not p.is_dir():
        raise SpecError(f"run folder {path} not found")
    return p.resolve()


def _git_show(commit: str, rel: str) -> bytes | None:
    """The bytes of ``rel`` at ``commit`` in the project's repository (None if unavailable)."""
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{rel}"], capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def trusted_notebooks(manifest: Mapping[str, Any], dest: Path, *,
                      notebooks_dir: Path | None = None) -> tuple[Path, str]:
    """Copy the notebooks a past run executed into ``dest``, from a trusted source, checked by hash.

    The notebooks come from the project (the recorded git commit first, then the project's
    notebooks folder), or from ``notebooks_dir`` when the caller names one; never from the run
    folder or from a folder the manifest names. Each file's SHA-256 must equal the one the
    manifest recorded (``notebook_hashes``).

    Returns
    -------
    (folder, source)
        ``dest`` and a description of where the notebooks came from.

    Raises
    ------
    IntegrityError
        A notebook (or its paired ``.py``) matches neither the commit nor the working copy,
        or the manifest records no notebook hashes.
    """
    hashes = manifest.get("notebook_hashes")
    if not isinstance(hashes, Mapping) or not hashes:
        hashes = {k.split("/", 1)[1]: v for k, v in (manifest.get("inputs") or {}).items()
                  if isinstance(k, str) and k.startswith("notebooks/") and k.count("/") == 1}
    if not hashes:
        raise IntegrityError("the manifest records no notebook hashes: cannot check what the run executed")
    commit = manifest.get("git_commit") if notebooks_dir is None else None
    base = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    rel_base = stable_path(NOTEBOOKS_DIR)
    dest.mkdir(parents=True, exist_ok=True)
    sources = set()
    for name, want in sorted(hashes.items()):
        if Path(name).name != name or not name[:2].isdigit() or Path(name).suffix not in (".ipynb", ".py"):
            raise IntegrityError(f"the manifest names a notebook {name!r} that is not NN_*.ipynb/.py")
        tried: list[str] = []
        chosen: bytes | None = None
        if isinstance(commit, str) and commit:
            data = _git_show(commit, f"{rel_base}/{name}")
            if data is not None:
                digest = hashlib.sha256(data).hexdigest()
                tried.append(f"commit {commit[:10]}: {digest[:12]}")
                if digest == want:
                    chosen = data
                    sources.add(f"git commit {commit[:10]}")
            else:
                tried.append(f"commit {commit[:10]}: not found")
        if chosen is None:
            path = base / name
            if path.is_file():
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                tried.append(f"{stable_path(path)}: {digest[:12]}")
                if digest == want:
                    chosen = data
                    sources.add(stable_path(base))
            else:
                tried.append(f"{stable_path(path)}: missing")
        if chosen is None:
            raise IntegrityError(f"notebook {name}: the recorded SHA-256 {str(want)[:12]} matches neither "
                                 f"{'; nor '.join(tried)}; refusing to execute code that is not the "
                                 "project's own notebook at the recorded commit")
        (dest / name).write_bytes(chosen)
    return dest, ", ".join(sorted(sources))


def rerun(run_dir: str | Path, *, progress: bool = False, render: bool = True, notebook_jobs: int = 1,
          notebooks_dir: str | Path | None = None,
          on_event: Callable[[str], None] | None = None) -> tuple[RunResult, pd.DataFrame, pd.DataFrame]:
    """Repeat a past run from its manifest (same parameters, seed, notebooks and scenario copy).

    Only the project's own notebooks are executed: taken from the recorded git commit (or the
    project's notebooks folder, or the ``notebooks_dir`` the caller names), each checked against
    the SHA-256 the manifest recorded (:func:`trusted_notebooks`). The run folder's own files and
    the folder its manifest names are never executed. The scenario copy is data (validated as a
    spec), not code.

    Returns
    -------
    result : RunResult
        The new run (a new folder beside the old one).
    input_changes : DataFrame
        Inputs whose SHA-256 differs between the old manifest and now (``file, change,
        sha256_a, sha256_b``); empty when the inputs are unchanged.
    output_changes : DataFrame
        Figures and tables whose SHA-256 differs between the two runs (same columns); empty
        when the rerun reproduced the old outputs byte for byte.

    Raises
    ------
    IntegrityError
        A notebook is not the project's own at the recorded commit (exit code 5).
    """
    import shutil
    import tempfile

    run_dir = _resolve_run(run_dir)
    old = load_manifest(run_dir)
    p = old.get("parameters", {})
    from pmm_lib.reporting.bundle import internal_path

    scenario = internal_path(run_dir, "scenario.yaml")
    private = Path(tempfile.mkdtemp(prefix="pmm-rerun-"))
    try:
        nb_dir, source = trusted_notebooks(old, private / "notebooks",
                                           notebooks_dir=Path(notebooks_dir) if notebooks_dir else None)
        if on_event is not None:
            on_event(f"notebooks from {source}, checked against the recorded SHA-256")
        try:
            request = RunRequest(region=p["region"], cycle=int(p["cycle"]), seed=int(p["seed"]),
                                 audience=p.get("audience", "wco"),
                                 scenario=scenario if scenario.is_file() else None,
                                 notebooks=tuple(p.get("notebooks") or ()) or None, notebooks_dir=nb_dir,
                                 outputs_dir=run_dir.parents[2], parameters=p.get("knobs") or {},
                                 render=render, notebook_jobs=notebook_jobs)
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"{run_dir / 'manifest.json'}: parameters lack or garble {exc}") from None
        notebooks = discover_notebooks(request.notebooks_dir, request.notebooks)
        current = hash_inputs(notebooks=notebooks)
        old_inputs = {k: v for k, v in old.get("inputs", {}).items()
                      if k != "scenario.yaml" and not k.startswith("notebooks/")}
        current = {k: v for k, v in current.items() if not k.startswith("notebooks/")}
        if old.get("scenario_file"):
            old_inputs.pop(str(old["scenario_file"]), None)
        input_changes = _diff_hashes(old_inputs, current)
        working = hash_inputs(notebooks=discover_notebooks(Path(notebooks_dir) if notebooks_dir else NOTEBOOKS_DIR,
                                                           request.notebooks)) if (
            Path(notebooks_dir) if notebooks_dir else NOTEBOOKS_DIR).is_dir() else {}
        edited = _diff_hashes({k: v for k, v in old.get("inputs", {}).items() if k.startswith("notebooks/")},
                              {k: v for k, v in working.items() if k.startswith("notebooks/")})
        if len(edited):  # the working copy moved on; the recorded version is what runs
            edited = edited.assign(change=edited["change"] + " (recorded version run)")
            input_changes = pd.concat([input_changes, edited], ignore_index=True)
        result = execute_run(request, progress=progress, on_event=on_event, provenance={
            "rerun_of": old.get("run_id", run_dir.name), "notebooks_source": source,
            "notebooks_dir": stable_path(Path(notebooks_dir) if notebooks_dir else NOTEBOOKS_DIR)})
    finally:
        shutil.rmtree(private, ignore_errors=True)
    new = load_manifest(result.run_dir)
    output_changes = _diff_hashes(old.get("outputs", {}), new.get("outputs", {}))
    return result, input_changes, output_changes


@dataclass(frozen=True)
class RunComparison:
    """How two runs differ and what explains it.

    Attributes
    ----------
    run_a, run_b : Path
    parameters : DataFrame
        ``parameter, a, b`` for every parameter, scenario key or package version that differs.
    inputs : DataFrame
        ``file, change, sha256_a, sha256_b`` for every input whose hash differs.
    outputs : DataFrame
        Same for figures and tables.
    scores : DataFrame or None
        From ``tables/tbl-index-scores.csv`` of both runs: ``member, score_a, score_b,
        score_diff (b − a), rank_a, rank_b, rank_shift (rank_b − rank_a; negative = moved up)``,
        sorted by absolute rank shift; None when either run lacks the table.
    framework : DataFrame or None
        How B's framework differs from A's (:func:`pmm_lib.inputs.candidates.manifest_framework_diff`):
        ``code, level, change, before, after``; empty when both used the same structure.
    """

    run_a: Path
    run_b: Path
    parameters: pd.DataFrame
    inputs: pd.DataFrame
    outputs: pd.DataFrame
    scores: pd.DataFrame | None
    framework: pd.DataFrame | None = None

    def to_markdown(self) -> str:
        """A short human-readable report."""
        from pmm_lib.reporting.report import table_markdown

        lines = [f"# Comparison of runs\n\n- A: `{self.run_a}`\n- B: `{self.run_b}`\n"]
        lines.append("## Parameters and choices\n")
        lines.append(table_markdown(self.parameters, max_rows=None) if len(self.parameters)
                     else "No difference in parameters, scenario or package versions.")
        lines.append("\n## Framework\n")
        if self.framework is None or self.framework.empty:
            lines.append("Both runs used the same framework structure.")
        else:
            lines.append(f"{len(self.framework)} difference(s) in the framework explain part of the result:\n")
            lines.append(table_markdown(self.framework, max_rows=None))
        lines.append("\n## Inputs\n")
        lines.append(table_markdown(self.inputs.assign(sha256_a=self.inputs["sha256_a"].str[:12],
                                                       sha256_b=self.inputs["sha256_b"].str[:12]),
                                    max_rows=None) if len(self.inputs) else "All input files are identical.")
        lines.append("\n## Outputs\n")
        lines.append(f"{len(self.outputs)} figure/table file(s) differ." if len(self.outputs)
                     else "All figures and tables are byte-identical.")
        lines.append("\n## Index scores and ranks\n")
        if self.scores is None:
            lines.append("Not available: `tables/tbl-index-scores.csv` is missing in at least one run.")
        else:
            moved = int((self.scores["rank_shift"].fillna(0) != 0).sum())
            lines.append(f"{moved} of {len(self.scores)} Members changed rank; largest absolute score "
                         f"difference {self.scores['score_diff'].abs().max():.3g}.\n")
            lines.append(table_markdown(self.scores, max_rows=None))
        return "\n".join(lines) + "\n"


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, Mapping):
        return {prefix: d} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key))
        else:
            out[key] = v
    return out


def compare_runs(run_a: str | Path, run_b: str | Path) -> RunComparison:
    """Compare two run folders (``latest`` links are followed): choices, inputs, outputs, scores."""
    a, b = _resolve_run(run_a), _resolve_run(run_b)
    ma, mb = load_manifest(a), load_manifest(b)
    fa = {f"parameter.{k}": v for k, v in _flatten(ma.get("parameters", {})).items()}
    fb = {f"parameter.{k}": v for k, v in _flatten(mb.get("parameters", {})).items()}
    fa |= {f"scenario.{k}": v for k, v in _flatten(ma.get("scenario") or {}).items()}
    fb |= {f"scenario.{k}": v for k, v in _flatten(mb.get("scenario") or {}).items()}
    fa |= {f"package.{k}": v for k, v in ma.get("packages", {}).items()}
    fb |= {f"package.{k}": v for k, v in mb.get("packages", {}).items()}
    fa["renderer"], fb["renderer"] = ma.get("renderer"), mb.get("renderer")
    rows = [{"parameter": k, "a": json.dumps(fa.get(k), default=str), "b": json.dumps(fb.get(k), default=str)}
            for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    params = pd.DataFrame(rows, columns=["parameter", "a", "b"])
    inputs = _diff_hashes(ma.get("inputs", {}), mb.get("inputs", {}))
    outputs = _diff_hashes(ma.get("outputs", {}), mb.get("outputs", {}))
    scores = None
    pa, pb = a / "tables" / "tbl-index-scores.csv", b / "tables" / "tbl-index-scores.csv"
    if pa.is_file() and pb.is_file():
        cols = ["member", "score", "rank"]
        ta = pd.read_csv(pa, keep_default_na=False, na_values=[""])
        tb = pd.read_csv(pb, keep_default_na=False, na_values=[""])
        for path, t in ((pa, ta), (pb, tb)):
            missing = [c for c in cols if c not in t.columns]
            if missing:
                raise RunError(f"{path}: missing column(s) {', '.join(missing)} (expected member, score, rank)")
        merged = ta[cols].merge(tb[cols], on="member", how="outer", suffixes=("_a", "_b"))
        merged["score_diff"] = merged["score_b"] - merged["score_a"]
        merged["rank_shift"] = merged["rank_b"] - merged["rank_a"]
        merged = merged[["member", "score_a", "score_b", "score_diff", "rank_a", "rank_b", "rank_shift"]]
        order = merged["rank_shift"].abs().fillna(float("inf"))
        scores = (merged.assign(_o=order).sort_values(["_o", "member"], ascending=[False, True])
                  .drop(columns="_o").reset_index(drop=True))
    from pmm_lib.inputs.candidates import manifest_framework_diff

    framework = manifest_framework_diff(ma, mb)
    return RunComparison(a, b, params, inputs, outputs, scores, framework)


def write_comparison(comparison: RunComparison, out_dir: str | Path) -> dict[str, Path]:
    """Write ``comparison.md``, ``scores.csv`` (if any), ``parameters.csv``, ``inputs.csv``, ``outputs.csv``,
    ``framework.csv`` (if any)."""
    out_dir = Path(out_dir)
    files = {"markdown": write_text_atomic(out_dir / "comparison.md", comparison.to_markdown())}
    for name, frame in (("parameters", comparison.parameters), ("inputs", comparison.inputs),
                        ("outputs", comparison.outputs), ("scores", comparison.scores),
                        ("framework", comparison.framework)):
        if frame is not None:
            files[name] = write_text_atomic(out_dir / f"{name}.csv",
                                            frame.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    return files
