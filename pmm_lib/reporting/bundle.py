"""Audience bundles: a public or wco run folder carries results, not workings.

This module owns the split of a finished run folder into what may be handed to the run's
audience and what stays with the methodology team:

=================================  ===========================================================
published (the bundle)             ``paper.*``, ``figures/``, ``tables/``, ``manifest.json``
                                   (relative paths only, no parameters beyond region, cycle,
                                   seed and audience)
internal (``<run>/_internal/``)    the executed notebooks (they show code, parameters and
                                   absolute server paths), the scenario file, the full manifest
=================================  ===========================================================

:func:`require_key` is the gate a public or wco run passes before any folder is created (the
pseudonym key must exist, outside the repository and the run folder; the key itself never
leaves :func:`pmm_lib.reporting.disclosure.pseudonym_key`). :func:`seal_run` moves the workings
into ``_internal/`` once the run has succeeded; :func:`export_bundle` copies the published part
elsewhere (what to upload); :func:`published_files` lists it, for scans and tests. An internal run
keeps everything in place (its audience is the team) but its manifest is relative too.

Reference: Hundepool, A. et al. (2012), *Statistical Disclosure Control*, Wiley,
doi:10.1002/9781118348239 (ch. 1: release only what the audience needs).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pmm_lib.errors import RunError
from pmm_lib.io import write_text_atomic
from pmm_lib.reporting.disclosure import check_audience, needs_key, pseudonym_key

__all__ = [
    "INTERNAL_DIR",
    "PUBLISHED",
    "export_bundle",
    "internal_path",
    "portable",
    "published_files",
    "relative_manifest",
    "require_key",
    "seal_run",
]

#: the folder of a run that is never published
INTERNAL_DIR = "_internal"
#: what a public or wco bundle holds (files and folders of the run folder)
PUBLISHED = ("paper.html", "paper.pdf", "paper.md", "paper.qmd", "paper.typ", "figures", "tables",
             "manifest.json")
#: what moves to ``_internal/`` in a public or wco run
_WORKINGS = ("notebooks", "scenario.yaml")
#: manifest keys a public or wco manifest keeps
_PUBLIC_KEYS = ("run_id", "status", "started", "finished", "seconds", "parameters", "seed", "renderer",
                "paper", "artefacts", "notebooks", "outputs", "inputs", "packages", "python", "git_commit", "framework",
                "error")


def require_key(audience: str, *, outputs_dir: str | Path | None = None) -> None:
    """Refuse a public or wco run without a usable pseudonym key (:class:`SpecError`).

    ``outputs_dir`` (where the run folder will be) is forbidden as a key location, like the
    repository. Returns nothing: the key is read again where it is used, never passed around.
    """
    if needs_key(audience):
        pseudonym_key(audience, forbid=[outputs_dir] if outputs_dir is not None else [])


def portable(value: Any, run_dir: str | Path) -> Any:
    """``value`` with every absolute path made relative: to ``run_dir`` inside it, to the project
    root inside that, else reduced to the file name (recursive over dicts and lists).

    >>> portable({"a": "/x/run/tables/t.csv", "b": ["/elsewhere/s.yaml", 3]}, "/x/run")
    {'a': 'tables/t.csv', 'b': ['s.yaml', 3]}
    >>> portable("notebook 02 raised KeyError (see /x/run/_internal/notebooks/02.ipynb)", "/x/run")
    'notebook 02 raised KeyError (see _internal/notebooks/02.ipynb)'
    """
    from pmm_lib.paths import ROOT

    base = Path(run_dir)
    if isinstance(value, Mapping):
        return {k: portable(v, base) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable(v, base) for v in value]
    if isinstance(value, str) and value.startswith(("/", "~")) and "\n" not in value and len(value) < 4096:
        p = Path(value)
        for folder in (base, ROOT):
            try:
                return p.relative_to(folder).as_posix() or "."
            except ValueError:
                pass
            try:
                return p.resolve().relative_to(folder.resolve()).as_posix() or "."
            except (ValueError, OSError):
                pass
        return p.name
    if isinstance(value, str) and "/" in value:  # free text (an error message) naming files: relative
        for folder in (base, ROOT):
            for prefix in dict.fromkeys((str(folder), str(folder.resolve()))):
                value = value.replace(prefix.rstrip("/") + "/", "")
    return value


def relative_manifest(manifest: Mapping[str, Any], run_dir: str | Path, audience: str) -> dict[str, Any]:
    """The manifest a bundle carries: relative paths only; for public and wco no scenario, knobs or
    folder names (those stay in ``_internal/manifest.json``)."""
    check_audience(audience)
    out = portable(dict(manifest), run_dir)
    if audience == "internal":
        return out
    out = {k: out[k] for k in _PUBLIC_KEYS if k in out}
    params = dict(out.get("parameters") or {})
    out["parameters"] = {k: params[k] for k in ("region", "cycle", "seed", "audience", "notebooks") if k in params}
    out["notebooks"] = [{"name": n.get("name"), "seconds": n.get("seconds")} for n in out.get("notebooks", [])
                        if isinstance(n, Mapping)]
    out["outputs"] = {k: v for k, v in (out.get("outputs") or {}).items()
                      if not k.startswith(("notebooks/", INTERNAL_DIR))}
    out["inputs"] = {k: v for k, v in (out.get("inputs") or {}).items() if not k.endswith("scenario.yaml")}
    return out


def internal_path(run_dir: str | Path, name: str) -> Path:
    """Where a run's working file ``name`` is: ``_internal/<name>`` of a sealed run, else ``<name>``."""
    run_dir = Path(run_dir)
    sealed = run_dir / INTERNAL_DIR / name
    return sealed if sealed.exists() else run_dir / name


def seal_run(run_dir: str | Path, audience: str) -> Path:
    """Move a finished run's workings to ``_internal/`` and rewrite ``manifest.json`` relative.

    For ``public`` and ``wco``: ``notebooks/`` and ``scenario.yaml`` move to ``_internal/``, the
    full manifest is kept as ``_internal/manifest.json`` and ``manifest.json`` becomes
    :func:`relative_manifest`. For ``internal`` only ``manifest.json`` is made relative (the full
    one is kept as ``_internal/manifest.json`` too). Idempotent; returns the internal folder.
    """
    aud = check_audience(audience)
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    internal = run_dir / INTERNAL_DIR
    internal.mkdir(exist_ok=True)
    full_path = internal / "manifest.json"
    try:
        full = json.loads((full_path if full_path.is_file() else manifest_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{manifest_path}: cannot seal the run ({exc})") from None
    if not full_path.is_file():
        write_text_atomic(full_path, json.dumps(full, indent=2, default=str) + "\n")
    if aud != "internal":
        for name in _WORKINGS:
            src = run_dir / name
            if src.exists() and not (internal / name).exists():
                src.rename(internal / name)
    write_text_atomic(manifest_path, json.dumps(relative_manifest(full, run_dir, aud), indent=2, default=str)
                      + "\n")
    return internal


def published_files(run_dir: str | Path) -> list[Path]:
    """Every file of the run folder that belongs to the bundle (:data:`PUBLISHED`), sorted."""
    run_dir = Path(run_dir)
    out: list[Path] = []
    for name in PUBLISHED:
        p = run_dir / name
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(q for q in sorted(p.rglob("*")) if q.is_file() and not q.name.startswith("."))
    return sorted(out)


def export_bundle(run_dir: str | Path, dest: str | Path, *, extra: Iterable[str] = ()) -> list[Path]:
    """Copy the published part of a run folder to ``dest`` (created; must not exist or be empty).

    Returns the copied files. ``extra`` names further files of the run folder to include.
    """
    run_dir, dest = Path(run_dir), Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise RunError(f"{dest}: export folder is not empty")
    files = published_files(run_dir) + [run_dir / e for e in extra if (run_dir / e).is_file()]
    out = []
    for src in files:
        target = dest / src.relative_to(run_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        out.append(target)
    return out
