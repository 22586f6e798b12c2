"""Atomic file writes (write to a temporary file beside the target, then rename) and the YAML reader.

A crash, a full disk or a permission error never leaves a half-written file in place of a
good one; the error message names the path. :func:`load_yaml` is the one way the package
parses YAML: the safe loader, libyaml's C implementation when PyYAML has it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "load_yaml", "write_bytes_atomic", "write_text_atomic", "write_with"]


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the file the permissions a plain open() would (0666 & ~umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise OSError(exc.errno, f"could not write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``target`` atomically and return the path."""
    return write_bytes_atomic(target, text.encode("utf-8"))


def write_with(target: str | Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def load_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader (no Python objects), in C when libyaml is there.

    PyYAML's pure-Python ``safe_load`` took 0.3 s for the framework file, read by several
    notebooks of every run; libyaml's ``CSafeLoader`` gives the same values (plain scalars,
    lists and mappings) about ten times faster. Errors are PyYAML's ``YAMLError`` with the
    line and column of the problem, as with ``safe_load``.

    Examples
    --------
    >>> load_yaml("{a: 1, b: [x, 2.5, null]}")
    {'a': 1, 'b': ['x', 2.5, None]}
    """
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
