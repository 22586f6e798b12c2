"""Tests of pmm_lib.reporting.kernel: one warm kernel runs notebook after notebook, cleanly.

What must hold: a second notebook sees none of the first one's variables, numbers its cells from
1 and starts with matplotlib's default rc parameters, while the kernel process (and its imported
modules) is the same; kernels started side by side never collide (IPC sockets, no TCP ports);
a notebook that kills its kernel is reported and the next notebook gets a fresh kernel.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import nbformat as nbf
import pytest

from pmm_lib.reporting.kernel import WarmKernel


def _nb(*sources: str) -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbf.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbf.v4.new_code_cell(s) for s in sources)]
    return nb


def _text(nb: nbf.NotebookNode, index: int) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.get("output_type") == "stream")


def test_second_notebook_gets_a_clean_namespace_in_the_same_process(tmp_path):
    first = _nb("import os, sys, matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 9\n"
                "secret = 42\nprint(os.getpid(), 'json' in sys.modules)")
    second = _nb("import os, matplotlib\nprint(os.getpid(), 'secret' in dir(), x, "
                 "matplotlib.rcParams['lines.linewidth'], os.getcwd())")
    with WarmKernel() as kernel:
        a = kernel.execute(first, tmp_path / "a.ipynb", {"x": 1}, cwd=tmp_path)
        b = kernel.execute(second, tmp_path / "b.ipynb", {"x": 2}, cwd=tmp_path)
        assert kernel.starts == 1
    pid_a = _text(a, 2).split()[0]
    pid_b, leaked, x, linewidth, cwd = _text(b, 2).split()
    assert pid_a == pid_b  # the same kernel process ...
    assert leaked == "False" and x == "2"  # ... but nothing of the first notebook is visible
    assert float(linewidth) == 1.5  # matplotlib's default, not the first notebook's 9
    assert Path(cwd).resolve() == tmp_path.resolve()
    counts = [c.get("execution_count") for c in b.cells if c.cell_type == "code"]
    assert counts == [1, 2, 3]  # parameters, injected parameters, body: as a fresh kernel numbers them
    saved = json.loads((tmp_path / "b.ipynb").read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in saved["cells"])


def test_kernels_started_side_by_side_use_ipc_and_never_collide(tmp_path):
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with WarmKernel() as kernel:
                kernel.start(tmp_path)
                conn = json.loads(Path(kernel._km.connection_file).read_text())
                assert conn["transport"] == "ipc"
                nb = kernel.execute(_nb("print(x * 10)"), tmp_path / f"{i}.ipynb", {"x": i}, cwd=tmp_path)
                results[i] = _text(nb, 2).strip()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert results == {i: str(i * 10) for i in range(6)}


def test_a_dead_kernel_is_replaced_for_the_next_notebook(tmp_path):

    with WarmKernel() as kernel:
        kernel.start(tmp_path)
        first_pid = kernel.pid
        with pytest.raises(Exception, match="(?i)dead|died"):
            kernel.execute(_nb("import os\nos._exit(3)"), tmp_path / "dies.ipynb", {"x": 1}, cwd=tmp_path)
        nb = kernel.execute(_nb("import os\nprint(os.getpid())"), tmp_path / "next.ipynb", {"x": 1}, cwd=tmp_path)
        assert kernel.starts == 2 and int(_text(nb, 2)) != first_pid


def test_socket_folders_of_dead_runners_are_removed(tmp_path):
    import subprocess
    import sys
    import tempfile

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = Path(tempfile.gettempdir()) / f"pmm-kernel-{proc.pid}-zzzz"
    stale.mkdir()
    (stale / "kernel.json").write_text("{}")
    with WarmKernel() as kernel:
        kernel.start(tmp_path)
        own = Path(kernel._dir)
        assert own.name.startswith(f"pmm-kernel-{__import__('os').getpid()}-") and own.is_dir()
        assert "--HistoryManager.hist_file=:memory:" in kernel.extra_arguments
    assert not stale.exists() and not own.exists()


def test_warming_imports_the_notebooks_modules_but_leaves_no_name(tmp_path):
    """A warmed kernel has the notebook's modules loaded (their import costs nothing), no variable."""
    from pmm_lib.reporting.kernel import notebook_imports

    body = "import csv\nfrom email import message\nprint(sorted(k for k in dir() if not k.startswith('_')))"
    modules = notebook_imports([body])
    assert modules == ["csv", "email", "email.message"]
    probe = _nb("import sys\nprint('csv' in sys.modules, 'email.message' in sys.modules, "
                "'colorsys' in sys.modules)", body)
    with WarmKernel() as kernel:
        kernel.warm(tmp_path, [*modules, "no_such_module_xyz"])  # a bad name is left to the notebook
        assert kernel.starts == 1
        nb = kernel.execute(probe, tmp_path / "p.ipynb", {"x": 3}, cwd=tmp_path)
        assert kernel.starts == 1                      # the warmed kernel ran the notebook
    assert _text(nb, 2).split() == ["True", "True", "False"]   # warmed before the notebook ran
    assert _text(nb, 3).strip() == "['In', 'Out', 'csv', 'exit', 'get_ipython', 'message', 'open', 'quit', 'sys', 'x']"


def test_notebook_imports_of_the_real_notebooks_are_importable():
    """Every module the run's kernels pre-import exists (a typo would only cost time, not fail)."""
    import importlib.util

    from pmm_lib.reporting.kernel import notebook_imports
    from pmm_lib.reporting.nbpair import read_notebook
    from pmm_lib.reporting.runs import discover_notebooks

    sources = [c.source for nb in discover_notebooks() for c in read_notebook(nb).cells if c.cell_type == "code"]
    modules = notebook_imports(sources)
    assert {"pmm_lib.core.build", "matplotlib.pyplot"} <= set(modules)
    tops = {m for m in modules if "." not in m}
    assert all(importlib.util.find_spec(m) is not None for m in tops)


def test_reading_notebooks_does_not_compile_the_iri_grammar():
    """The runner's process skips jsonschema's optional IRI checker (1.6 s of import) and still validates."""
    import subprocess
    import sys

    code = ("import sys, nbformat\nimport pmm_lib.reporting.runs\n"
            "print(sys.modules.get('rfc3987_syntax') is None)\n"
            "nb = nbformat.v4.new_notebook(); nb.cells.append(nbformat.v4.new_code_cell('1'))\n"
            "nb.cells[0]['outputs'] = [{'output_type': 'bogus'}]\n"
            "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n    print('rejected')\n")
    out = subprocess.run([sys.executable, "-c", code.replace("import sys, nbformat\nimport pmm_lib.reporting.runs",
                                                             "import sys\nimport pmm_lib.reporting.runs\nimport nbformat")],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "rejected"]


class _FakeChannel:
    """A channel whose get_msg serves queued messages, then raises Empty (recording each wait)."""

    def __init__(self) -> None:
        self.queue: list[dict] = []
        self.empty_waits: list[float] = []

    async def get_msg(self, timeout: float | None = None) -> dict:
        from queue import Empty

        if self.queue:
            return self.queue.pop(0)
        self.empty_waits.append(timeout or 0.0)
        raise Empty


class _FakeClient:
    """Kernel client stub: each kernel_info request is answered as a kernel would (shell reply,
    iopub busy/idle), except the first ``late_iopub`` ones, whose status went out before iopub
    joined; ``alive`` False is a dead kernel that never answers."""

    def __init__(self, late_iopub: int = 0, alive: bool = True) -> None:
        self.shell, self.iopub = _FakeChannel(), _FakeChannel()
        self.shell_channel, self.iopub_channel = self.shell, self.iopub
        self.requests: list[str] = []
        self.late_iopub, self.alive, self.handled = late_iopub, alive, 0

    def kernel_info(self) -> str:
        msg_id = f"req-{len(self.requests)}"
        self.requests.append(msg_id)
        if self.alive:
            self.shell.queue.append({"msg_type": "kernel_info_reply", "parent_header": {"msg_id": msg_id}})
            if len(self.requests) > self.late_iopub:
                for state in ("busy", "idle"):
                    self.iopub.queue.append({"msg_type": "status", "parent_header": {"msg_id": msg_id},
                                             "content": {"execution_state": state}})
        return msg_id

    def _handle_kernel_info_reply(self, msg: dict) -> None:
        self.handled += 1

    async def is_alive(self) -> bool:
        return self.alive


def _wait(client: _FakeClient, timeout: float = 5.0) -> None:
    import asyncio

    from pmm_lib.reporting.kernel import wait_ready

    asyncio.run(wait_ready(client, timeout))


def test_wait_ready_ends_on_the_kernels_idle_status_without_waiting_for_a_quiet_iopub():
    client = _FakeClient()
    client.iopub.queue.append({"msg_type": "stream", "parent_header": {"msg_id": "an-earlier-cell"},
                               "content": {"text": "late output of someone else"}})
    _wait(client)
    assert client.requests == ["req-0"] and client.handled == 1
    assert client.iopub.empty_waits == []  # jupyter_client would wait 0.2 s here for every notebook
    assert client.iopub.queue == []  # nothing of the request is left to be mistaken for a cell's output


def test_wait_ready_asks_again_when_iopub_joined_after_the_status_went_out():
    client = _FakeClient(late_iopub=2)
    _wait(client)
    assert client.requests == ["req-0", "req-1", "req-2"]
    assert len(client.iopub.empty_waits) == 2 and client.iopub.queue == []


def test_wait_ready_names_a_dead_kernel():
    with pytest.raises(RuntimeError, match="died"):
        _wait(_FakeClient(alive=False))


def test_many_notebooks_in_one_kernel_each_get_only_their_own_output(tmp_path):
    # the clients of successive notebooks no longer drain iopub for 0.2 s: no message of one
    # notebook may land in the next one's cells
    with WarmKernel() as kernel:
        for i in range(8):
            nb = kernel.execute(_nb("import sys\nprint('nb', x, flush=True)\n"
                                    "print('err', x, file=sys.stderr, flush=True)\nx * 10"),
                                tmp_path / f"{i}.ipynb", {"x": i}, cwd=tmp_path)
            outs = nb.cells[2].outputs
            # a stream may arrive in several messages ('nb', ' 3\n'): compare each stream's whole text
            streams = {name: "".join(o["text"] for o in outs if o.get("output_type") == "stream" and o["name"] == name)
                       for name in ("stdout", "stderr")}
            assert streams == {"stdout": f"nb {i}\n", "stderr": f"err {i}\n"}
            assert [o["data"]["text/plain"] for o in outs if o.get("output_type") == "execute_result"] == [str(i * 10)]
        assert kernel.starts == 1


def test_the_notebook_client_waits_with_wait_ready_not_jupyter_clients_quiet_period(tmp_path, monkeypatch):
    from jupyter_client.asynchronous.client import AsyncKernelClient

    from pmm_lib.reporting import kernel as kmod

    calls = {"ours": 0, "theirs": 0}
    ours, theirs = kmod.wait_ready, AsyncKernelClient.wait_for_ready

    async def counted_ours(kc, timeout):
        calls["ours"] += 1
        return await ours(kc, timeout)

    async def counted_theirs(self, timeout=None):
        calls["theirs"] += 1
        return await theirs(self, timeout)

    with WarmKernel() as kernel:
        kernel.execute(_nb("x + 1"), tmp_path / "warm.ipynb", {"x": 1}, cwd=tmp_path)  # started
        monkeypatch.setattr(kmod, "wait_ready", counted_ours)
        monkeypatch.setattr(AsyncKernelClient, "wait_for_ready", counted_theirs)
        nb = kernel.execute(_nb("x + 1"), tmp_path / "a.ipynb", {"x": 41}, cwd=tmp_path)
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "42"
    assert calls == {"ours": 1, "theirs": 0}
