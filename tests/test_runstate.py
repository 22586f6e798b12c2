"""Tests of pmm_lib.reporting.runstate: who owns a run, when it is dead, and the clean-up on start.

Planted truths: a process that has exited (its pid is known dead), a pid whose recorded start
time belongs to another process (pid reuse), a heartbeat from another host older or younger than
the stale limit, and run folders holding the debris a kill leaves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pmm_lib.io import write_text_atomic
from pmm_lib.reporting import runstate


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write(run_dir: Path, manifest: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "manifest.json", json.dumps(manifest))


def _writer(run_dir: Path, manifest: dict) -> None:
    _write(run_dir, manifest)


def test_owner_of_this_process_is_alive_and_records_identity():
    owner = runstate.owner_record()
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
    assert runstate.owner_alive(owner) == (True, "")
    if Path("/proc/self/stat").exists():
        assert isinstance(owner["pid_start"], int) and owner["pid_start"] > 0


def test_exited_process_is_dead_with_the_reason():
    owner = runstate.owner_record() | {"pid": _dead_pid()}
    alive, reason = runstate.owner_alive(owner)
    assert not alive and f"process {owner['pid']}" in reason and "no longer running" in reason


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc for process start times")
def test_reused_pid_is_recognised_by_its_start_time():
    owner = runstate.owner_record()
    owner["pid_start"] -= 1  # the recorded process started earlier than the one now holding the id
    alive, reason = runstate.owner_alive(owner)
    assert not alive and "belongs to another process" in reason


def test_other_host_judged_by_heartbeat_age():
    owner = {"pid": 1, "host": "another-host.example", "boot_id": "x", "pid_start": 1}
    now = time.time()
    fresh = runstate.utc_now()
    assert runstate.owner_alive(owner, fresh, now=now, stale_seconds=300) == (True, "")
    alive, reason = runstate.owner_alive(owner, fresh, now=now + 301, stale_seconds=300)
    assert not alive and "no heartbeat on another-host.example for 301 s" in reason
    # an old manifest without owner or heartbeat: judged by its file time
    assert runstate.owner_alive(None, None, mtime=now - 10, now=now)[0]
    assert not runstate.owner_alive(None, None, mtime=now - 1000, now=now)[0]


def test_parse_time_round_trip():
    stamp = runstate.utc_now()
    assert abs(runstate.parse_time(stamp) - time.time()) < 5
    assert runstate.parse_time("not a time") is None and runstate.parse_time(None) is None


def test_sweep_marks_dead_runs_abandoned_and_removes_their_debris(tmp_path):
    parent = tmp_path / "AMS" / "2024"
    dead = parent / "20240101T000000Z-dead0001"
    live = parent / "20240101T000001Z-live0001"
    done = parent / "20240101T000002Z-done0001"
    _write(dead, {"run_id": dead.name, "status": "running",
                  "owner": runstate.owner_record() | {"pid": _dead_pid()}, "heartbeat": runstate.utc_now()})
    _write(live, {"run_id": live.name, "status": "running", "owner": runstate.owner_record(),
                  "heartbeat": runstate.utc_now()})
    _write(done, {"run_id": done.name, "status": "success"})
    # debris of kills: an atomic write's temporary file, a half-executed notebook, a temporary link
    (dead / ".paper.html.abc123.tmp").write_text("half")
    (dead / "notebooks").mkdir()
    (dead / "notebooks" / ".01_x.1234abcd.ipynb").write_text("{")
    (dead / "figures").mkdir()
    (dead / "figures" / "fig-a.png").write_bytes(b"kept")
    (live / ".paper.html.live.tmp").write_text("being written")
    (done / ".manifest.json.zz.tmp").write_text("")
    os.symlink(done.name, parent / f".latest.{socket.gethostname()}.{_dead_pid()}.deadbeef")
    os.symlink(done.name, parent / f".latest.{socket.gethostname()}.{os.getpid()}.livelink")

    marked = runstate.sweep(parent, write_manifest=_writer)

    assert [m["run_id"] for m in marked] == [dead.name]
    assert sorted(marked[0]["removed"]) == [".paper.html.abc123.tmp", "notebooks/.01_x.1234abcd.ipynb"]
    m = json.loads((dead / "manifest.json").read_text())
    assert m["status"] == "abandoned" and "no longer running" in m["error"]
    assert runstate.parse_time(m["abandoned"]) is not None
    assert (dead / "figures" / "fig-a.png").read_bytes() == b"kept"  # results are kept, only debris goes
    assert json.loads((live / "manifest.json").read_text())["status"] == "running"  # alive: untouched
    assert (live / ".paper.html.live.tmp").exists()
    assert not (done / ".manifest.json.zz.tmp").exists()
    links = sorted(p.name for p in parent.glob(".latest.*"))
    assert links == [f".latest.{socket.gethostname()}.{os.getpid()}.livelink"]  # the live one stays
    # idempotent: a second sweep finds nothing more to do
    assert runstate.sweep(parent, write_manifest=_writer) == []


def test_heartbeat_thread_beats_and_keeps_errors():
    beats: list[float] = []

    def beat() -> None:
        beats.append(time.time())
        if len(beats) == 2:
            raise OSError(28, "No space left on device")

    with runstate.Heartbeat(beat, interval=0.05) as hb:
        time.sleep(0.4)
    n = len(beats)
    time.sleep(0.15)
    assert n >= 3 and len(beats) == n  # it beat, survived the error, and stopped on exit
    assert hb.errors and "No space left" in hb.errors[0]


def test_folder_lock_excludes_another_process(tmp_path):
    folder, ready = tmp_path / "runs", tmp_path / "ready"
    folder.mkdir()
    script = ("import sys, time\nfrom pathlib import Path\nfrom pmm_lib.reporting.runstate import folder_lock\n"
              "Path(sys.argv[2]).write_text('x')\nt = time.monotonic()\n"
              "with folder_lock(Path(sys.argv[1])):\n    print(time.monotonic() - t)\n")
    with runstate.folder_lock(folder):
        proc = subprocess.Popen([sys.executable, "-c", script, str(folder), str(ready)], stdout=subprocess.PIPE,
                                text=True, env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        t0 = time.monotonic()
        while not ready.exists() and time.monotonic() - t0 < 120:
            time.sleep(0.02)
        time.sleep(1.0)
    out, _ = proc.communicate(timeout=60)
    assert float(out.strip()) >= 0.9  # it waited for our lock
    assert list(folder.iterdir()) == []  # no lock file left behind
