"""Fault tests: killed runs and ingests, concurrent runs, a full disk and permission errors.

What must hold after each fault:

* a run killed (SIGKILL) while a notebook executes is never marked successful and ``latest``
  does not move (it stays on the previous good run, or stays absent);
* an ingest that is killed or fails leaves ``data/processed`` byte-identical;
* runs executing at the same time do not interfere: each succeeds, names its own parameters
  and produces the same tables and figure data as when run one after the other;
* a full disk or a permission error ends ``pmm`` with exit code 1 and one error line naming
  the path, and leaves no half-written file behind.

The runs use a one-notebook folder built here (it calls the real library: observations,
build, disclosure, report), so each run takes seconds. Processes are killed by their own id.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

import pmm_lib.io as pio
from pmm_lib import cli
from pmm_lib.inputs.ingest import ingest
from pmm_lib.reporting.runs import RunRequest, execute_run, load_manifest

PYTHON = sys.executable
PMM = [PYTHON, "-m", "pmm_lib.cli"]
KILL_WAIT = 240.0  # seconds to wait for a subprocess to reach the point where it is killed

# ----------------------------------------------------------------------------------------------
# Fixtures and helpers
# ----------------------------------------------------------------------------------------------

_NOTEBOOK_PARAMS = '''
region = "AMS"
cycle = 2024
seed = 20240601
spec_path = ""
audience = "internal"
out_dir = ""
hang_file = ""
'''

_NOTEBOOK_WORK = '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from pmm_lib.core import build
from pmm_lib.inputs import data
from pmm_lib.reporting import disclosure, report
from pmm_lib.core.spec import Spec

report.use_reproducible_style()
obs = data.load_observations()
matrix = data.to_matrix(obs, cycle, region)
levels = disclosure.disclosure_matrix(obs, cycle, members=matrix.index, kpis=matrix.columns)
visible = disclosure.mask_matrix(matrix, levels, audience)
spec = Spec.from_yaml(spec_path) if spec_path else Spec.default()
res = build.build_pmm(spec, region=region, cycle=cycle, observations=obs, seed=seed)
scores = res.index.rename("score").rename_axis("member").reset_index()
report.save_table(scores, "tbl-index-scores", f"Index scores {region} {cycle}", out_dir, audience=audience)
report.save_table(visible.reset_index(), "tbl-visible", "Visible KPI values", out_dir, audience=audience)
fig, ax = plt.subplots(figsize=(4, 3))
ax.plot(sorted(scores["score"]), marker="o")
ax.set_xlabel("Member (sorted)")
ax.set_ylabel("Index score")
report.save_figure(fig, "fig-index", "Sorted index scores", out_dir, audience=audience)
'''

_NOTEBOOK_HANG = '''
import os
import pathlib
import time

if hang_file:
    pathlib.Path(hang_file + ".tmp").write_text(str(os.getpid()))
    os.replace(hang_file + ".tmp", hang_file)  # the test kills us once this file exists
    time.sleep(600)
'''


@pytest.fixture(scope="module")
def tiny_notebooks(tmp_path_factory) -> Path:
    """A notebooks folder with one small notebook (library calls; can be told to hang)."""
    folder = tmp_path_factory.mktemp("notebooks")
    params = nbformat.v4.new_code_cell(_NOTEBOOK_PARAMS.strip())
    params.metadata["tags"] = ["parameters"]
    cells = [params,
             nbformat.v4.new_markdown_cell("# Fault-test notebook\n\nDoes a run survive faults?"),
             nbformat.v4.new_code_cell(_NOTEBOOK_WORK.strip()),
             nbformat.v4.new_code_cell(_NOTEBOOK_HANG.strip())]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "01_fault.ipynb")
    return folder


def _tree(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file below ``folder`` (hidden files included)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(folder).as_posix()
            out[rel] = ("link:" + os.readlink(path)) if path.is_symlink() else hashlib.sha256(
                path.read_bytes()).hexdigest()
    return out


def _visible(tree: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tree.items() if not any(part.startswith(".") for part in k.split("/"))}


def _runs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()) if parent.is_dir() else []


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = KILL_WAIT) -> str:
    t0 = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before {path.name} appeared:\n{err[-3000:]}")
        if time.monotonic() - t0 > timeout:
            _kill(proc.pid)
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.1)
    return path.read_text().strip()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_and_reap(proc: subprocess.Popen, child_pid: int | None = None) -> None:
    """SIGKILL the process (no clean-up possible), reap it, then the kernel it started, by id."""
    _kill(proc.pid)
    proc.wait(timeout=60)
    if child_pid:
        _kill(child_pid)


def _error_lines(stderr: str, command: str, *, anywhere: bool = False) -> list[str]:
    """The CLI's own lines (``pmm <command>: ...``); ``anywhere`` also finds one glued to a progress bar."""
    tag = f"pmm {command}:"
    if anywhere:
        return [line[line.index(tag):] for line in stderr.splitlines() if tag in line]
    return [line for line in stderr.splitlines() if line.startswith(tag)]


def _no_temporaries(folder: Path) -> list[str]:
    """Files an interrupted atomic write would leave (``.name.XXXX.tmp``) or partial JSON."""
    bad = [p.relative_to(folder).as_posix() for p in folder.rglob("*.tmp")]
    for p in [*folder.rglob("*.json"), *folder.rglob("*.ipynb")]:
        try:
            json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            bad.append(p.relative_to(folder).as_posix() + " (not valid JSON)")
    return bad


def _run_cmd(outputs: Path, nb_dir: Path, region: str = "AMS", *extra: str, paper: bool = False) -> list[str]:
    """``pmm run`` arguments; only a run with its paper moves ``latest`` (runs.execute_run)."""
    return ["run", "--region", region, "--cycle", "2024", "--audience", "internal",
            *([] if paper else ["--no-paper"]),
            "--notebooks-dir", str(nb_dir), "--outputs-dir", str(outputs), *extra]


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PMM_HOME", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ----------------------------------------------------------------------------------------------
# (1) a run killed while a notebook executes
# ----------------------------------------------------------------------------------------------

def _start_hanging_run(outputs: Path, nb_dir: Path, hang: Path) -> subprocess.Popen:
    return subprocess.Popen([*PMM, *_run_cmd(outputs, nb_dir, paper=True), "--param", f"hang_file={hang}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_subprocess_env(), start_new_session=True)


@pytest.mark.slow
def test_killed_run_is_not_successful_and_latest_does_not_move(tiny_notebooks, tmp_path):
    outputs = tmp_path / "outputs"
    parent = outputs / "AMS" / "2024"
    latest = parent / "latest"

    # a first run killed mid-notebook: no latest at all afterwards
    hang = tmp_path / "hang1"
    proc = _start_hanging_run(outputs, tiny_notebooks, hang)
    kernel = int(_wait_for(hang, proc))
    _kill_and_reap(proc, kernel)
    assert proc.returncode == -signal.SIGKILL
    killed1 = _runs(parent)
    assert len(killed1) == 1
    assert load_manifest(killed1[0])["status"] == "running"  # never "success"
    assert not latest.exists() and not latest.is_symlink()

    # the killed run recorded who ran it: the runner's pid, host and the kernel
    owner = load_manifest(killed1[0])["owner"]
    assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()

    # a good run (with its paper) moves latest, and first marks the dead run abandoned
    good = execute_run(RunRequest(region="AMS", cycle=2024, audience="internal", render=True,
                                  notebooks_dir=tiny_notebooks, outputs_dir=outputs))
    assert good.ok, good.error
    assert latest.resolve() == good.run_dir.resolve()
    gone = load_manifest(killed1[0])
    assert gone["status"] == "abandoned" and f"process {proc.pid}" in gone["error"], gone["error"]

    # a second killed run leaves latest on the good one
    hang = tmp_path / "hang2"
    proc = _start_hanging_run(outputs, tiny_notebooks, hang)
    kernel = int(_wait_for(hang, proc))
    # the kernel is executing the notebook now: the run's manifest says so, with a heartbeat
    running = [r for r in _runs(parent) if r not in (*killed1, good.run_dir)]
    assert len(running) == 1 and load_manifest(running[0])["status"] == "running"
    assert load_manifest(running[0])["heartbeat"]
    _kill_and_reap(proc, kernel)

    assert latest.resolve() == good.run_dir.resolve()
    statuses = {r.name: load_manifest(r)["status"] for r in _runs(parent)}
    assert statuses == {killed1[0].name: "abandoned", good.run_dir.name: "success", running[0].name: "running"}
    # the killed run's manifest records no successful notebook
    assert load_manifest(running[0])["notebooks"] == []
    # the next run (even one without a paper) recognises it
    again = execute_run(RunRequest(region="AMS", cycle=2024, audience="internal", render=False,
                                   notebooks_dir=tiny_notebooks, outputs_dir=outputs))
    assert again.ok, again.error
    assert load_manifest(running[0])["status"] == "abandoned"
    assert latest.resolve() == good.run_dir.resolve()
    assert not [p.name for p in parent.iterdir() if p.name.startswith(".latest")]  # no stray temp link
    assert _no_temporaries(outputs) == []


# ----------------------------------------------------------------------------------------------
# (2) an ingest killed or failing leaves data/processed byte-identical
# ----------------------------------------------------------------------------------------------

@pytest.fixture()
def processed(tmp_path) -> Path:
    """A processed folder holding the result of a good ingest."""
    out = tmp_path / "processed"
    ingest(processed_dir=out)
    return out


_INGEST_WRAPPER = textwrap.dedent('''
    import os, sys, time
    import pandas as pd
    import pmm_lib.inputs.ingest.publish as ing
    from pmm_lib import cli

    point, ready, out = sys.argv[1], sys.argv[2], sys.argv[3]

    def pause():
        with open(ready + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(ready + ".tmp", ready)
        time.sleep(600)

    if point == "writing":  # killed while a Parquet file is half written
        real = pd.DataFrame.to_parquet
        def to_parquet(self, path, *a, **k):
            real(self, path, *a, **k)
            with open(path, "r+b") as fh:
                fh.truncate(max(1, os.path.getsize(path) // 2))
            pause()
        pd.DataFrame.to_parquet = to_parquet
    elif point == "moving":  # killed just before the one switch that publishes the new outputs
        class _Os:
            def __init__(self):
                self.n = 0
            def __getattr__(self, name):
                return getattr(os, name)
            def replace(self, src, dst):
                if os.path.dirname(os.path.abspath(dst)) == os.path.abspath(out):
                    self.n += 1
                    if self.n == 1:
                        pause()
                return os.replace(src, dst)
        ing.os = _Os()
    # PMM_HOME points at a copy of the project: the default data/processed is the one at risk.
    # --cycle 2024: new outputs differ from the old ones, so a mix of old and new would show
    sys.exit(cli.main(["ingest", "--cycle", "2024"]))
''')


@pytest.mark.slow
@pytest.mark.parametrize("point", [
    "writing",
    "moving",
])
def test_killed_ingest_leaves_processed_byte_identical(tmp_path, point):
    home = tmp_path / "home"  # a copy of the project's inputs; PMM_HOME relocates the root
    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "data" / "raw", home / "data" / "raw")
    shutil.copytree(root / "methodology", home / "methodology")
    processed = home / "data" / "processed"
    ingest(processed_dir=processed)
    before = _tree(processed)
    ready = tmp_path / f"ready-{point}"
    env = _subprocess_env() | {"PMM_HOME": str(home)}
    proc = subprocess.Popen([PYTHON, "-c", _INGEST_WRAPPER, point, str(ready), str(processed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    _wait_for(ready, proc)
    _kill_and_reap(proc)
    after = _tree(processed)
    # the data files the product reads are exactly the old ones
    assert _visible(after) == _visible(before)
    # what a SIGKILL cannot clean up is a hidden staging folder, which nothing reads; its
    # presence shows the subprocess wrote (and was killed) in the PMM_HOME copy
    stray = sorted(set(after) - set(before))
    assert stray and all(k.startswith(".ingest-") for k in stray), stray


def test_failing_ingest_leaves_processed_byte_identical(processed, tmp_path, monkeypatch, capsys):
    before = _tree(processed)
    # (a) invalid input: an unknown KPI code
    bad = tmp_path / "bad.csv"
    bad.write_text("member,cycle,kpi,value,disclosure\nARG,2024,K99,1.5,public\n", encoding="utf-8")
    assert cli.main(["ingest", str(bad), "--processed", str(processed)]) == 2
    assert "K99" in capsys.readouterr().err
    assert _tree(processed) == before

    # (b) the third Parquet file cannot be written (disk full while writing)
    import pandas as pd

    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def to_parquet(self, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    assert cli.main(["ingest", "--processed", str(processed), "--cycle", "2024"]) == 1
    err = capsys.readouterr().err
    assert len(_error_lines(err, "ingest")) == 1 and "No space left on device" in err
    assert str(processed) in err
    assert _tree(processed) == before  # staging folder removed too


def test_ingest_failing_at_the_switch_leaves_processed_byte_identical(processed, monkeypatch):
    import pmm_lib.inputs.ingest.publish as ing

    before = _tree(processed)
    real = os.replace
    calls = {"n": 0}

    def replace(src, dst):
        if Path(dst).parent == processed:
            calls["n"] += 1
            if calls["n"] == 1:  # the switch of `current` that publishes every output at once
                raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return real(src, dst)

    monkeypatch.setattr(ing.os, "replace", replace)
    with pytest.raises(OSError):
        ingest(processed_dir=processed, cycle=2024)  # new outputs differ from the old ones
    monkeypatch.undo()
    assert _tree(processed) == before


# ----------------------------------------------------------------------------------------------
# (3) concurrent runs do not interfere
# ----------------------------------------------------------------------------------------------

def _artefact_hashes(run_dir: Path) -> dict[str, str]:
    """Tables, figure data and sidecars (PNG bytes are compared too, but reported apart)."""
    return {k: v for k, v in load_manifest(run_dir)["outputs"].items() if not k.endswith(".png")}


@pytest.mark.slow
def test_concurrent_runs_do_not_interfere(tiny_notebooks, tmp_path):
    scenario = tmp_path / "median.yaml"
    scenario.write_text("impute: {method: median}\nnormalise: {method: zscore}\n", encoding="utf-8")
    cases = [("AMS", None), ("EUR", None), ("AMS", scenario)]

    concurrent = tmp_path / "concurrent"
    procs = [subprocess.Popen([*PMM, *_run_cmd(concurrent, tiny_notebooks, region, paper=True),
                               *(["--scenario", str(s)] if s else [])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_subprocess_env(), start_new_session=True)
             for region, s in cases]
    try:
        outs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                _kill(p.pid)
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]

    sequential = tmp_path / "sequential"
    seq = {}
    for region, s in cases:
        res = execute_run(RunRequest(region=region, cycle=2024, audience="internal", scenario=s,
                                     notebooks_dir=tiny_notebooks, outputs_dir=sequential))
        assert res.ok, res.error
        seq[(region, s)] = res.run_dir

    runs = {r.name: r for reg in ("AMS", "EUR") for r in _runs(concurrent / reg / "2024")}
    assert len(runs) == 3
    for (region, s), seq_dir in seq.items():
        want = load_manifest(seq_dir)
        match = [r for r in runs.values()
                 if load_manifest(r)["parameters"] == want["parameters"]
                 and load_manifest(r)["scenario"] == want["scenario"]]
        assert len(match) == 1, (region, s)
        got = load_manifest(match[0])
        assert got["status"] == "success" and got["parameters"]["region"] == region
        assert got["parameters"]["cycle"] == 2024
        assert (match[0] / "scenario.yaml").is_file() == (s is not None)
        # tables, figure data and captions identical to the same run done alone
        assert _artefact_hashes(match[0]) == _artefact_hashes(seq_dir), (region, s)
        assert any(k.startswith("tables/") for k in _artefact_hashes(match[0]))
    # each region's latest points at one of its own successful runs
    for region in ("AMS", "EUR"):
        parent = concurrent / region / "2024"
        target = (parent / "latest").resolve()
        assert target in {r.resolve() for r in _runs(parent)}
        assert load_manifest(target)["parameters"]["region"] == region
    assert _no_temporaries(concurrent) == []


# ----------------------------------------------------------------------------------------------
# (4) disk full and permission errors
# ----------------------------------------------------------------------------------------------

def _fail_fsync_under(monkeypatch, folder: Path, *, name_contains: str = "", after: int = 0,
                      content: bytes = b"") -> dict[str, int]:
    """Make fsync of files written under ``folder`` fail with ENOSPC (after ``after`` good calls;
    only for files whose name contains ``name_contains`` and whose bytes contain ``content``)."""
    real = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if (path.startswith(str(folder)) and name_contains in Path(path).name
                and (not content or content in Path(path).read_bytes())):
            calls["n"] += 1
            if calls["n"] > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(pio.os, "fsync", fsync)
    return calls


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to map file descriptors to paths")
def test_disk_full_ingest_and_template_one_line_no_partial_files(processed, tmp_path, monkeypatch, capsys):
    before = _tree(processed)
    _fail_fsync_under(monkeypatch, tmp_path)
    assert cli.main(["ingest", "--processed", str(processed)]) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err, "ingest")
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "No space left on device" in lines[0] and str(processed) in lines[0]
    assert _tree(processed) == before

    out = tmp_path / "forms" / "q.xlsx"
    assert cli.main(["template", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err, "template")
    assert len(lines) == 1 and "No space left on device" in lines[0] and str(out) in lines[0], err
    assert not out.exists() and list(out.parent.iterdir()) == []


@pytest.fixture(scope="module")
def full_at_end(tiny_notebooks, tmp_path_factory):
    """A run (with its paper) whose final manifest write (status success) hits a full disk:
    (rc, stderr, outputs)."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to map file descriptors to paths")
    outputs = tmp_path_factory.mktemp("full-at-end") / "outputs"
    with pytest.MonkeyPatch.context() as mp:
        # every manifest write succeeds but the final one, which says "success"
        _fail_fsync_under(mp, outputs, name_contains="manifest.json", content=b'"status": "success"')
        with _capture_stderr() as captured:
            rc = cli.main(_run_cmd(outputs, tiny_notebooks, paper=True))
    return rc, captured.getvalue(), outputs


class _capture_stderr:  # noqa: N801 - used like contextlib.redirect_stderr
    def __enter__(self):
        import io

        self._old, self._buf = sys.stderr, io.StringIO()
        sys.stderr = self._buf
        return self._buf

    def __exit__(self, *exc):
        sys.stderr = self._old
        return False


@pytest.mark.slow
def test_disk_full_at_the_end_of_a_run_does_not_move_latest(full_at_end):
    rc, err, outputs = full_at_end
    assert rc == 1, err
    lines = _error_lines(err, "run", anywhere=True)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "No space left on device" in lines[0] and "manifest.json" in lines[0]
    parent = outputs / "AMS" / "2024"
    (run,) = _runs(parent)
    assert str(run) in lines[0]
    assert not (parent / "latest").exists() and not (parent / "latest").is_symlink()
    manifest = load_manifest(run)  # still the complete previous version, not "success"
    assert manifest["status"] == "running" and manifest["run_id"] == run.name
    assert _no_temporaries(outputs) == []


@pytest.mark.slow
def test_disk_full_error_starts_its_own_line(full_at_end):
    _rc, err, _outputs = full_at_end
    assert len(_error_lines(err, "run")) == 1, err


def test_permission_denied_one_line_names_the_path(processed, tiny_notebooks, tmp_path, monkeypatch, capsys):
    real = pio.tempfile.mkstemp

    def mkstemp(*a, dir=None, **k):  # noqa: A002 - tempfile's own keyword
        if dir is not None and str(dir).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return real(*a, dir=dir, **k)

    before = _tree(processed)
    monkeypatch.setattr(pio.tempfile, "mkstemp", mkstemp)
    assert cli.main(["ingest", "--processed", str(processed)]) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err, "ingest")
    assert len(lines) == 1 and "permission denied" in lines[0] and str(processed) in lines[0], err
    assert _tree(processed) == before

    outputs = tmp_path / "outputs"
    assert cli.main(_run_cmd(outputs, tiny_notebooks)) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err, "run")
    assert len(lines) == 1 and "permission denied" in lines[0] and str(outputs) in lines[0], err
    parent = outputs / "AMS" / "2024"
    assert not (parent / "latest").exists()
    assert [p for p in outputs.rglob("*") if p.is_file()] == []  # nothing half-written

    # a rename refused by the file system (EACCES on os.replace) is reported the same way
    monkeypatch.undo()
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(pio.os, "replace", replace)
    out = tmp_path / "forms" / "q.xlsx"
    assert cli.main(["template", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err, "template")
    assert len(lines) == 1 and "permission denied" in lines[0] and str(out) in lines[0], err
    assert list(out.parent.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# A real full file system (a small tmpfs; needs root and mount rights, else skipped)
# ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _tiny_fs():
    """Mount small tmpfs file systems in a fresh temporary folder; yields ``mount(size_kib) -> folder``.

    Skips the test when not root or when mounting is not allowed (containers without
    CAP_SYS_ADMIN); always unmounts.
    """
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    folder = Path(tempfile.mkdtemp(prefix="pmm-tinyfs-"))
    mounted = {"size": 0}

    def mount(size_kib: int) -> Path:
        if mounted["size"]:
            subprocess.run(["umount", str(folder)], check=True, capture_output=True)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted["size"] = size_kib
        return folder

    try:
        yield mount
    finally:
        if mounted["size"]:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_reingest_on_a_nearly_full_disk_keeps_the_old_data(capsys):
    # first ingest fits; a second one needs room for the new files beside the old: disk full
    with _tiny_fs() as mount:
        processed = mount(400) / "processed"
        assert cli.main(["ingest", "--processed", str(processed)]) == 0
        capsys.readouterr()
        used = sum(p.stat().st_size for p in processed.iterdir())
        assert used > 400 * 1024 / 2  # a second copy cannot fit beside the first
        before = _tree(processed)
        rc = cli.main(["ingest", "--processed", str(processed), "--cycle", "2024"])
        err = capsys.readouterr().err
        assert rc == 1, err
        lines = _error_lines(err, "ingest")
        assert len(lines) == 1 and "No space left on device" in lines[0] and str(processed) in lines[0], err
        assert _tree(processed) == before


@pytest.fixture(scope="module")
def full_disk_run(tiny_notebooks):
    """A run on a small file system (room for the manifest, not for all the outputs).

    Yields (rc, stderr, outputs, tree) where tree maps every file left to its bytes.
    """
    from pmm_lib.reporting.runs import hash_inputs

    # room for the first manifest (its size is mostly the input hashes) and a little more
    manifest = len(json.dumps(hash_inputs([tiny_notebooks / "01_fault.ipynb"]), indent=2)) + 4096
    size_kib = 4 * (-(-manifest // 4096)) + 36
    with _tiny_fs() as mount:
        outputs = mount(size_kib) / "outputs"
        with _capture_stderr() as captured:
            rc = cli.main(_run_cmd(outputs, tiny_notebooks))
        problems = _no_temporaries(outputs)
        parent = outputs / "AMS" / "2024"
        latest = (parent / "latest").exists() or (parent / "latest").is_symlink()
        statuses = [load_manifest(r)["status"] for r in _runs(parent) if (r / "manifest.json").exists()]
        yield rc, captured.getvalue(), outputs, problems, latest, statuses


@pytest.mark.slow
def test_run_on_a_full_disk_fails_with_one_line_and_latest_unmoved(full_disk_run):
    rc, err, _outputs, _problems, latest, statuses = full_disk_run
    assert rc == 1, err  # errors.EXIT_STORAGE, wherever the disk filled up
    lines = _error_lines(err, "run", anywhere=True)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "No space left on device" in lines[0] or "Errno 28" in lines[0], lines[0]
    assert not latest
    assert "success" not in statuses


@pytest.mark.slow
def test_run_on_a_full_disk_leaves_no_half_written_file(full_disk_run):
    _rc, _err, _outputs, problems, _latest, _statuses = full_disk_run
    assert problems == []


# ----------------------------------------------------------------------------------------------
# (5) kills at the two moments that leave debris: while the paper renders, at the latest switch
# ----------------------------------------------------------------------------------------------

_RUN_WRAPPER = textwrap.dedent('''
    import os, subprocess, sys, time
    from pathlib import Path
    import pmm_lib.reporting.paper as paper
    import pmm_lib.reporting.runs as runs
    from pmm_lib import cli

    point, ready = sys.argv[1], sys.argv[2]

    def pause():
        with open(ready + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(ready + ".tmp", ready)
        time.sleep(600)

    class _Proxy:
        def __init__(self, module, **over):
            self._m, self._over = module, over
        def __getattr__(self, name):
            return self._over.get(name) or getattr(self._m, name)

    if point == "rendering":  # pandoc has written the temporary HTML; killed before the rename
        real_run = subprocess.run
        def run(cmd, *a, **k):
            out = real_run(cmd, *a, **k)
            if any(".paper.html." in str(c) and str(c).endswith(".tmp") for c in cmd):
                pause()
            return out
        paper.subprocess = _Proxy(subprocess, run=run)
    elif point == "switch":  # the temporary latest link exists; killed before os.replace
        def replace(src, dst):
            if Path(dst).name == "latest":
                pause()
            return os.replace(src, dst)
        runs.os = _Proxy(os, replace=replace)
    sys.exit(cli.main(sys.argv[3:]))
''')


@pytest.mark.slow
@pytest.mark.parametrize("point, debris", [("rendering", ".paper.html.*.tmp"), ("switch", ".latest.*")])
def test_kill_during_rendering_or_at_the_switch_leaves_no_debris_after_the_next_run(
        tiny_notebooks, tmp_path, point, debris):
    outputs = tmp_path / "outputs"
    parent = outputs / "AMS" / "2024"
    ready = tmp_path / "ready"
    proc = subprocess.Popen([PYTHON, "-c", _RUN_WRAPPER, point, str(ready),
                             *_run_cmd(outputs, tiny_notebooks, paper=True)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_subprocess_env(), start_new_session=True)
    _wait_for(ready, proc)
    _kill_and_reap(proc)
    (killed,) = _runs(parent)
    # the precondition: the kill did leave its debris
    where = killed if point == "rendering" else parent
    assert list(where.glob(debris)), sorted(p.name for p in where.iterdir())
    assert not (parent / "latest").exists()

    nxt = execute_run(RunRequest(region="AMS", cycle=2024, audience="internal", render=False,
                                 notebooks_dir=tiny_notebooks, outputs_dir=outputs))
    assert nxt.ok, nxt.error
    assert not list(killed.glob(".paper.html.*")) and not list(parent.glob(".latest*"))
    assert _no_temporaries(outputs) == []
    status = load_manifest(killed)["status"]
    # killed while rendering: the run never finished -> abandoned; at the switch it had finished
    assert status == ("abandoned" if point == "rendering" else "success")
    assert not (parent / "latest").exists()  # a run without its paper never moves latest


# ----------------------------------------------------------------------------------------------
# (6) an external tool's failure names its reason; a full disk inside a notebook exits 1 too
# ----------------------------------------------------------------------------------------------

def test_pandoc_killed_by_the_file_size_limit_says_so(tiny_notebooks, tmp_path, monkeypatch):
    import resource

    import pmm_lib.reporting.paper as paper

    real_run = subprocess.run

    def limited(*a, **k):  # pandoc (only) runs under a 4 KiB file-size limit: SIGXFSZ when it writes
        k["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        return real_run(*a, **k)

    class _Sub:
        def __getattr__(self, name):
            return getattr(subprocess, name)

    sub = _Sub()
    sub.run = limited
    monkeypatch.setattr(paper, "subprocess", sub)
    outputs = tmp_path / "outputs"
    with _capture_stderr() as captured:
        rc = cli.main(_run_cmd(outputs, tiny_notebooks, paper=True))
    err = captured.getvalue()
    assert rc == 1, err  # errors.EXIT_STORAGE: the limit is a storage failure
    lines = _error_lines(err, "run", anywhere=True)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "pandoc" in lines[0] and "killed by signal SIGXFSZ (file size limit exceeded)" in lines[0], lines[0]
    assert "exit -25" not in lines[0]
    (run,) = _runs(outputs / "AMS" / "2024")
    assert load_manifest(run)["status"] == "failed" and "SIGXFSZ" in load_manifest(run)["error"]
    assert _no_temporaries(outputs) == [] and not (outputs / "AMS" / "2024" / "latest").exists()


def test_tool_error_reasons_and_classes():
    from pmm_lib.errors import EXIT_STORAGE, EXIT_TOOL, ToolError

    err = ToolError.from_process("typst", -9, "", "/r")
    assert "killed by signal SIGKILL (killed)" in str(err) and err.exit_code == EXIT_TOOL
    err = ToolError.from_process("pandoc (HTML)", 1, "pandoc: out.html: withFile: resource exhausted "
                                 "(No space left on device)", "/r")
    assert err.exit_code == EXIT_STORAGE and "exit 1" in str(err) and "No space left" in str(err)
    err = ToolError.from_process("quarto", 127, "", None)
    assert str(err) == "quarto failed: exit 127 (command not found) (no message on stderr)"
    assert err.exit_code == EXIT_TOOL and err.returncode == 127


def test_disk_full_inside_a_notebook_exits_with_the_storage_code(tmp_path, capsys):
    folder = tmp_path / "nb"
    folder.mkdir()
    params = nbformat.v4.new_code_cell(_NOTEBOOK_PARAMS.strip())
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell('raise OSError(28, "No space left on device", out_dir + "/figures/fig-x.png")')
    nb = nbformat.v4.new_notebook(cells=[params, body])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "01_full.ipynb")
    rc = cli.main(_run_cmd(tmp_path / "outputs", folder))
    err = capsys.readouterr().err
    assert rc == 1, err
    lines = _error_lines(err, "run", anywhere=True)
    assert len(lines) == 1 and "No space left on device" in lines[0] and "01_full.ipynb" in lines[0], err


# ----------------------------------------------------------------------------------------------
# (7) pmm rerun of a planted run folder never executes the folder's own code
# ----------------------------------------------------------------------------------------------

def _planted(outputs: Path, marker: Path, *, with_hashes: bool = True) -> Path:
    run = outputs / "AMS" / "2024" / "20240101T000000Z-planted1"
    (run / "notebooks").mkdir(parents=True)
    params = nbformat.v4.new_code_cell(_NOTEBOOK_PARAMS.strip())
    params.metadata["tags"] = ["parameters"]
    evil = nbformat.v4.new_code_cell(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')")
    nb = nbformat.v4.new_notebook(cells=[params, evil])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = run / "notebooks" / "01_data_quality.ipynb"  # named like the project's own notebook
    nbformat.write(nb, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    manifest = {"run_id": run.name, "status": "success",
                "parameters": {"region": "AMS", "cycle": 2024, "seed": 1, "audience": "internal",
                               "notebooks": ["01"], "knobs": {}},
                "notebooks_dir": str(run / "notebooks"), "git_commit": commit or None,
                "inputs": {"notebooks/01_data_quality.ipynb": digest} if with_hashes else {},
                "outputs": {}}
    if with_hashes:
        manifest["notebook_hashes"] = {"01_data_quality.ipynb": digest}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


@pytest.mark.parametrize("with_hashes", [True, False])
def test_rerun_of_a_planted_run_folder_refuses_and_runs_nothing(tmp_path, capsys, with_hashes):
    outputs, marker = tmp_path / "outputs", tmp_path / "PLANTED_CODE_RAN"
    planted = _planted(outputs, marker, with_hashes=with_hashes)
    rc = cli.main(["rerun", str(planted), "--no-paper"])
    err = capsys.readouterr().err
    assert rc == 5, err  # errors.EXIT_INTEGRITY
    assert not marker.exists()
    line = _error_lines(err, "rerun")[0]
    assert ("01_data_quality.ipynb" in line and "refusing" in line) if with_hashes else "no notebook hashes" in line
    assert _runs(outputs / "AMS" / "2024") == [planted]  # no new run started
