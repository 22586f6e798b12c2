"""Run liveness: who owns a running run, its heartbeat, and the clean-up of runs that died.

A run's manifest carries an ``owner`` block written when the run starts::

    "owner": {"pid": 4242, "host": "ws-17", "boot_id": "…", "pid_start": 123456, "kernel_pids": [4250]},
    "heartbeat": "2026-12-01T09:00:05.123456Z"

and the heartbeat is refreshed every :data:`HEARTBEAT_SECONDS` while the run lives. A run whose
manifest still says ``running`` is *dead* when

* it ran on this host (same host name and boot id) and its process no longer exists, or the
  process id now belongs to another process (its start time differs: pid reuse); or
* it ran elsewhere (a shared file system) and its heartbeat is older than
  :data:`STALE_SECONDS`; a manifest without an owner block (older versions) is judged by the
  age of its file.

:func:`sweep` (called by every run before it starts, under a lock on the folder) marks dead runs
``abandoned`` (with the reason and time), deletes the debris a kill leaves in them (temporary
files of atomic writes ``.*.tmp``, half-executed notebooks ``.NN_*.ipynb``) and removes
temporary ``latest`` links (``.latest.*``) whose creator is dead.

Example
-------
>>> from pmm_lib.reporting.runstate import owner_record, owner_alive
>>> owner_alive(owner_record())          # this process is alive
(True, '')
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["HEARTBEAT_SECONDS", "STALE_SECONDS", "Heartbeat", "folder_lock", "owner_alive",
           "owner_record", "parse_time", "sweep", "utc_now"]

#: Seconds between two heartbeats of a running run.
HEARTBEAT_SECONDS = 5.0
#: A run on another host whose heartbeat is older than this is considered dead.
STALE_SECONDS = 300.0

_DEBRIS_SUFFIXES = (".tmp",)


def utc_now() -> str:
    """The current UTC time as written in manifests (``2026-12-01T09:00:05.123456Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    """Seconds since the epoch of a manifest time stamp (None if absent or unreadable)."""
    if not text:
        return None
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def owner_record(pid: int | None = None) -> dict[str, Any]:
    """Identity of the process that owns a run: pid, host, boot id and the pid's start time."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": socket.gethostname(), "boot_id": _boot_id(), "pid_start": _pid_start(pid),
            "kernel_pids": []}


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def owner_alive(owner: Mapping[str, Any] | None, heartbeat: str | None = None, *,
                mtime: float | None = None, now: float | None = None,
                stale_seconds: float = STALE_SECONDS) -> tuple[bool, str]:
    """Is the run owned by ``owner`` still running? Returns ``(alive, reason it is dead)``.

    Same host (name and boot id): the process must exist with the recorded start time.
    Another host, or no owner record: the heartbeat (else ``mtime``) must be younger than
    ``stale_seconds``.
    """
    now = time.time() if now is None else now
    if owner and owner.get("host") == socket.gethostname() and owner.get("boot_id", "") == _boot_id():
        pid = owner.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return False, "the manifest's owner has no process id"
        if not _pid_exists(pid):
            return False, f"process {pid} on {owner.get('host')} is no longer running"
        start = _pid_start(pid)
        if owner.get("pid_start") is not None and start is not None and start != owner.get("pid_start"):
            return False, f"process {pid} on {owner.get('host')} ended (the id now belongs to another process)"
        return True, ""
    beat = parse_time(heartbeat)
    last = beat if beat is not None else mtime
    if last is None:
        return False, "no owner, heartbeat or file time recorded"
    age = now - last
    if age > stale_seconds:
        where = f"on {owner.get('host')} " if owner else ""
        return False, f"no heartbeat {where}for {age:.0f} s (more than {stale_seconds:.0f} s)"
    return True, ""


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock (``flock``) on a folder, released on exit; no lock file is left."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _remove_debris(run_dir: Path) -> list[str]:
    removed = []
    for path in sorted(run_dir.rglob(".*")):
        if path.is_file() and (path.name.endswith(_DEBRIS_SUFFIXES)
                               or (path.suffix == ".ipynb" and path.name[1:3].isdigit())):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path.relative_to(run_dir).as_posix())
    return removed


def _latest_tmp_dead(link: Path, now: float) -> bool:
    """``.latest.<host>.<pid>.<hex>``: dead when made on this host by a process that is gone."""
    parts = link.name.split(".")
    if len(parts) >= 5 and parts[2] == socket.gethostname() and parts[3].isdigit():
        return not _pid_exists(int(parts[3]))
    try:
        return now - link.lstat().st_mtime > 60.0
    except OSError:
        return False


def sweep(parent: Path, *, write_manifest: Callable[[Path, dict[str, Any]], None],
          now: float | None = None, stale_seconds: float = STALE_SECONDS) -> list[dict[str, Any]]:
    """Mark dead ``running`` runs in ``parent`` abandoned and remove debris of kills.

    Parameters
    ----------
    parent : Path
        A folder of runs (``outputs/<region>/<cycle>``).
    write_manifest : callable
        ``write_manifest(run_dir, manifest)`` (atomic write of ``manifest.json``).

    Returns
    -------
    list of dict
        One record per run marked abandoned: ``run_id, reason, removed`` (debris files).
    """
    now = time.time() if now is None else now
    marked: list[dict[str, Any]] = []
    if not parent.is_dir():
        return marked
    for link in parent.glob(".latest.*"):
        if link.is_symlink() and _latest_tmp_dead(link, now):
            with contextlib.suppress(OSError):
                link.unlink()
    for run_dir in sorted(p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()):
        path = run_dir / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict):
            continue
        if manifest.get("status") == "running":
            alive, reason = owner_alive(manifest.get("owner"), manifest.get("heartbeat"), mtime=mtime,
                                        now=now, stale_seconds=stale_seconds)
            if alive:
                continue
            removed = _remove_debris(run_dir)
            manifest.update(status="abandoned", abandoned=utc_now(), error=f"abandoned: {reason}")
            write_manifest(run_dir, manifest)
            marked.append({"run_id": run_dir.name, "reason": reason, "removed": removed})
        elif manifest.get("status") in ("abandoned", "failed", "success"):
            _remove_debris(run_dir)  # a kill during the final clean-up of a finished run
    return marked


class Heartbeat:
    """A daemon thread calling ``beat()`` every ``interval`` seconds until stopped.

    ``beat`` errors (a full disk) are kept in :attr:`errors`, never raised in the thread.
    """

    def __init__(self, beat: Callable[[], None], interval: float = HEARTBEAT_SECONDS) -> None:
        self._beat, self.interval = beat, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pmm-heartbeat", daemon=True)
        self.errors: list[str] = []

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._beat()
            except Exception as exc:  # never kill the run for a missed heartbeat
                self.errors.append(str(exc))

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
