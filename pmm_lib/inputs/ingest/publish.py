"""Writing ``data/processed/`` atomically: ``pmm ingest`` and the check a run makes first.

Outputs: ``observations.parquet`` (the values, with the Member's data source, validation
status, comment and whether the disclosure was chosen), ``non_responses.parquet`` (KPIs without
a value for which the Member gave a reason, a comment or a source), ``respondents.parquet``
(contact name and e-mail per questionnaire: **internal**, never published), ``members.parquet``
and ``outcomes.parquet`` (reference data), and ``manifest.json`` (input hashes, warnings,
versions). Everything is validated first and published in one atomic switch (see
:func:`ingest`): a failed or killed ingest leaves the visible files byte-identical.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from pmm_lib import paths
from pmm_lib.errors import InputError
from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.inputs.ingest.model import IngestOptions, IngestResult
from pmm_lib.inputs.ingest.readers import discover_dir
from pmm_lib.inputs.ingest.returns import file_sha256, read_returns, rel_path
from pmm_lib.io import write_text_atomic, write_with
from pmm_lib.provenance import package_versions

__all__ = ["AUDIENCES", "ensure_processed", "ingest"]

#: Who may read each processed output (the disclosure layer must never publish "internal" files).
AUDIENCES: dict[str, str] = {
    "observations.parquet": "per value: its disclosure column (public | wco | restricted)",
    "non_responses.parquet": "per row: as the KPI's values (internal unless the Member chose otherwise)",
    "respondents.parquet": "internal: contact details of the respondents, never published",
    "members.parquet": "public",
    "outcomes.parquet": "public",
}
_rel = rel_path


def _versions() -> dict[str, str]:
    return package_versions(("pmm-workbench", "pandas", "numpy", "pandera", "openpyxl", "pyarrow"),
                            python=True, missing="not installed")


def ingest(paths_in: Sequence[str | Path] | None = None, *, processed_dir: str | Path | None = None,
           cycle: int | None = None, framework: Framework | None = None,
           members: Iterable[str] | None | Literal["auto"] = "auto", options: IngestOptions | None = None,
           with_reference: bool = True) -> IngestResult:
    """Validate the inputs and write the processed tables (module docstring) and ``manifest.json``.

    Everything is validated first; outputs are written into a new hidden folder
    ``processed_dir/.ingest-<time>-<random>/``, then published in one step: each
    ``processed_dir/<name>`` is a symlink to ``current/<name>`` and ``current`` is a symlink to
    that folder, switched by a single ``os.replace``. Readers therefore see all old outputs or
    all new ones, never a mix; after any failure (an exception or a kill) the visible files are
    byte-identical to before; a killed ingest may leave a hidden ``.ingest-*`` folder, which a
    later ingest removes once it is an hour old. Outputs not produced this time (members,
    outcomes when :mod:`pmm_lib.inputs.data` is unavailable) are carried forward and noted.

    Parameters
    ----------
    paths_in, cycle, framework, members, options
        As in :func:`read_returns`.
    processed_dir : path, optional
        Default ``data/processed``.
    with_reference : bool
        Also write ``members.parquet`` and ``outcomes.parquet`` from :mod:`pmm_lib.inputs.data`
        (skipped, with a note in the manifest, when that module is not available).

    Returns
    -------
    IngestResult
        With ``written`` (name -> path) and ``manifest``.
    """
    fw = framework or load_framework()
    result = read_returns(paths_in, cycle=cycle, framework=fw, members=members, options=options)
    out_dir = Path(processed_dir) if processed_dir is not None else paths.PROCESSED_DIR
    tables: dict[str, pd.DataFrame] = {"observations": result.observations,
                                       "non_responses": result.non_responses, "respondents": result.respondents}
    notes: list[str] = []
    if with_reference:
        try:
            data_mod = importlib.import_module("pmm_lib.inputs.data")
            loaders = {"members": data_mod.load_members, "outcomes": data_mod.load_outcomes}
        except (ImportError, AttributeError) as exc:
            notes.append(f"members.parquet and outcomes.parquet not written: pmm_lib.inputs.data is not available ({exc})")
            loaders = {}
        for name, loader in loaders.items():
            try:
                tables[name] = loader()
            except OSError as exc:
                raise InputError(f"reference data for {name}.parquet cannot be read: {exc}",
                                 file=getattr(exc, "filename", None)) from None
    fw_path = fw.path if fw.path is not None else paths.FRAMEWORK_PATH
    manifest: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": "pmm ingest",
        "cycle": cycle,
        "framework": {"path": _rel(Path(fw_path)), "version": fw.version,
                      "sha256": file_sha256(fw_path) if Path(fw_path).exists() else None},
        "members_checked": result.manifest.get("members_checked"),
        "inputs": result.inputs,
        "ignored": result.manifest.get("ignored", []),
        "outputs": {},
        "audiences": AUDIENCES,
        "warnings": [w.to_dict() for w in result.warnings],
        "notes": notes,
        "versions": _versions(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    version = Path(tempfile.mkdtemp(prefix=f".ingest-{stamp}-", dir=out_dir))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(version, 0o777 & ~mask)  # mkdtemp makes it private; readers of data/processed need it
    published = False
    try:
        for name, table in tables.items():
            target = version / f"{name}.parquet"
            write_with(target, lambda tmp, t=table: t.to_parquet(tmp, index=False, engine="pyarrow"))
            manifest["outputs"][f"{name}.parquet"] = {"rows": int(len(table)), "sha256": file_sha256(target),
                                                      "bytes": target.stat().st_size}
        kept = _carry_forward(out_dir, version)
        if kept:
            notes.append(f"kept from the previous ingest: {', '.join(kept)}")
        write_text_atomic(version / "manifest.json",
                          json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
        written = _publish(out_dir, version)
        published = True
    finally:
        if not published:
            shutil.rmtree(version, ignore_errors=True)
    result.manifest = manifest
    result.written = written
    return result


def ensure_processed(processed_dir: str | Path | None = None) -> dict[str, Any]:
    """Bring ``data/processed`` up to date with the questionnaires in ``data/raw/questionnaires``.

    The data flow is raw → ``pmm ingest`` → processed → ``pmm run``. A run calls this first:
    when the processed manifest lists exactly the questionnaire files present now, with the
    same SHA-256 hashes, nothing happens; otherwise (no processed data yet, a file added,
    removed or changed) the questionnaires are ingested again, with every check of
    :func:`ingest` (an invalid questionnaire stops the run with its precise error).

    Returns
    -------
    dict
        ``action`` (``"current"`` or ``"ingested"``), ``reason``, ``manifest_sha256``.
    """
    out_dir = Path(processed_dir) if processed_dir is not None else paths.PROCESSED_DIR
    manifest_path = out_dir / "manifest.json"
    readable, refused = discover_dir(paths.QUESTIONNAIRE_DIR)
    present = {_rel(p): file_sha256(p) for p in [*readable, *refused]}
    reason = "no processed data yet"
    if manifest_path.is_file() and (out_dir / "observations.parquet").is_file():
        try:
            recorded = {i["path"]: i["sha256"]
                        for i in json.loads(manifest_path.read_text(encoding="utf-8")).get("inputs", [])}
        except (ValueError, KeyError, TypeError):
            recorded, reason = None, "processed manifest unreadable"
        if recorded == present:
            return {"action": "current", "reason": "processed data match the questionnaires",
                    "manifest_sha256": file_sha256(manifest_path)}
        if recorded is not None:
            changed = sorted(set(recorded.items()) ^ set(present.items()))
            reason = "questionnaires changed: " + ", ".join(sorted({k for k, _ in changed}))
    ingest(processed_dir=out_dir)
    return {"action": "ingested", "reason": reason, "manifest_sha256": file_sha256(manifest_path)}


# ----------------------------------------------------------------------------------------------
# Publishing processed outputs: one atomic switch
# ----------------------------------------------------------------------------------------------

_CURRENT = "current"
_STALE_SECONDS = 3600


def _link(out_dir: Path, name: str, target: str) -> None:
    """Make ``out_dir/name`` a symlink to ``target`` (relative), replacing what is there atomically."""
    tmp = out_dir / f".ingest-link-{os.getpid()}-{secrets.token_hex(4)}"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, out_dir / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _symlinks_work(out_dir: Path) -> bool:
    probe = out_dir / f".ingest-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.symlink(".", probe)
    except (OSError, NotImplementedError):
        return False
    probe.unlink()
    return True


def _current_files(out_dir: Path) -> dict[str, Path]:
    """Output name -> the file a reader of ``out_dir/<name>`` gets today."""
    cur = out_dir / _CURRENT
    if cur.is_symlink() and cur.is_dir():
        return {p.name: p for p in cur.iterdir() if p.is_file()}
    return {p.name: p for p in out_dir.iterdir()
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".")}


def _carry_forward(out_dir: Path, version: Path) -> list[str]:
    """Hard-link (or copy) outputs this ingest does not rewrite into the new version; return their names."""
    kept = []
    for name, src in sorted(_current_files(out_dir).items()):
        if name.endswith(".parquet") and not (version / name).exists():
            try:
                os.link(src, version / name)
            except OSError:
                shutil.copy2(src, version / name)
            kept.append(name)
    return kept


def _publish(out_dir: Path, version: Path) -> dict[str, Path]:
    """Make the files of ``version`` (a folder inside ``out_dir``) the current outputs, all at once.

    ``out_dir/<name>`` are symlinks to ``current/<name>`` and ``current`` is a symlink to the
    version folder, so one ``os.replace`` of ``current`` switches every output together: a
    reader sees all old files or all new ones, and a kill at any point leaves the old set in
    place (at worst with a hidden ``.ingest-*`` folder, removed by a later ingest). A folder of
    plain files from an older layout is first moved under ``current`` unchanged. Where symlinks
    are not available (some Windows set-ups) each file is replaced on its own.
    """
    names = sorted(p.name for p in version.iterdir())
    if not _symlinks_work(out_dir):
        for name in names:
            os.replace(version / name, out_dir / name)
        shutil.rmtree(version, ignore_errors=True)
        return {n: out_dir / n for n in names}
    cur = out_dir / _CURRENT
    if not cur.is_symlink():  # first ingest, or plain files from an older layout
        snapshot = Path(tempfile.mkdtemp(prefix=".ingest-previous-", dir=out_dir))
        legacy = _current_files(out_dir)
        for name, src in legacy.items():
            try:
                os.link(src, snapshot / name)
            except OSError:
                shutil.copy2(src, snapshot / name)
        _link(out_dir, _CURRENT, snapshot.name)
        for name in legacy:
            _link(out_dir, name, f"{_CURRENT}/{name}")  # same bytes, now reached through current/
    old = os.readlink(cur)
    _link(out_dir, _CURRENT, version.name)  # the switch
    for name in names:
        if os.path.islink(out_dir / name) and os.readlink(out_dir / name) == f"{_CURRENT}/{name}":
            continue
        _link(out_dir, name, f"{_CURRENT}/{name}")
    if old != version.name and old.startswith(".ingest-") and "/" not in old:
        shutil.rmtree(out_dir / old, ignore_errors=True)
    now = time.time()
    for p in out_dir.glob(".ingest-*"):  # leftovers of killed ingests
        if p.name != version.name and now - p.lstat().st_mtime > _STALE_SECONDS:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    return {n: out_dir / n for n in names}


