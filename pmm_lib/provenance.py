"""Provenance helpers, in one place: file digests, project-relative paths, package versions.

Used by ingest (the processed manifest) and by runs (the run manifest), so both record inputs
the same way. Imports only :mod:`pmm_lib.paths`.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"; _ = p.write_bytes(b"abc")
>>> sha256_file(p)[:12]
'ba7816bf8f01'
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from pmm_lib import paths

__all__ = ["package_versions", "relative_path", "sha256_file"]


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def relative_path(path: str | Path, root: str | Path | None = None) -> str:
    """``path`` relative to the project root (POSIX separators); the absolute path if outside it.

    >>> relative_path(paths.ROOT / "data" / "raw")
    'data/raw'
    """
    base = Path(root).resolve() if root is not None else paths.ROOT
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


def package_versions(packages: Iterable[str], *, python: bool = False,
                     missing: str | None = None) -> dict[str, str]:
    """Installed versions of ``packages`` (distribution names).

    Parameters
    ----------
    packages
        Distribution names, e.g. ``("numpy", "pandas")``.
    python
        Also record the interpreter version under ``"python"``.
    missing
        Value recorded for a package that is not installed; ``None`` leaves it out.

    Examples
    --------
    >>> package_versions(["surely-not-installed-pkg"], missing="not installed")
    {'surely-not-installed-pkg': 'not installed'}
    """
    out: dict[str, str] = {"python": platform.python_version()} if python else {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out
