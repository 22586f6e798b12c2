"""MkDocs hook: the pages that are generated rather than written.

* ``index.md`` is the repository's README.md and ``data.md`` is data/README.md (one source each:
  the files people read on a code host are the pages of the site);
* ``api/<layer>.md``: one API-reference page per layer of the package (inputs, core, analysis,
  uncertainty, reporting, workshop, plots, helpers, cli), listing every public module found in
  ``pmm_lib/`` at build time (``::: module`` blocks rendered by mkdocstrings, numpy style), so a
  new module appears in the reference without editing mkdocs.yml.

A module is public unless its name starts with ``_`` (``__main__`` and private helpers are left out).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pmm_lib"
LAYERS: dict[str, str] = {
    "inputs": "Inputs: framework, data, ingest, synthetic returns",
    "core": "Method core: spec, transform, weights, aggregate, build",
    "analysis": "Analyses: quality, validity, outcomes, findings",
    "uncertainty": "Uncertainty and sensitivity",
    "reporting": "Reporting: runs, paper, disclosure, notebooks",
    "workshop": "Workshop",
    "plots": "Plots",
    "cli": "Command line",
}
GENERATED = {"index.md": ROOT / "README.md", "data.md": ROOT / "data" / "README.md"}


def public_modules() -> dict[str, list[str]]:
    """Layer (or ``helpers``) -> dotted names of its public modules, sorted."""
    out: dict[str, list[str]] = {layer: [] for layer in LAYERS}
    out["helpers"] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if any(part.startswith("_") for part in rel.with_suffix("").parts if part != "__init__"):
            continue
        parts = ("pmm_lib", *rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) == 1:
            continue  # the package itself: its docstring is the index page's job
        name = ".".join(parts)
        layer = parts[1] if parts[1] in LAYERS else "helpers"
        out[layer].append(name)
    return out


def api_page(layer: str, modules: list[str]) -> str:
    title = LAYERS.get(layer, "Helpers: errors, paths, io, seed, vocabularies, provenance")
    blocks = [f"# {title}\n"]
    for name in modules:
        blocks.append(f"## `{name}`\n\n::: {name}\n    options:\n      show_root_heading: false\n")
    return "\n".join(blocks)


def _rewrite_links(text: str) -> str:
    """Links in the READMEs point at repository paths; on the site, at the matching pages."""
    mapping = {"docs/": "", "data/README.md": "data.md"}

    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        for old, new in mapping.items():
            if target.startswith(old):
                target = new + target[len(old):] if old.endswith("/") else new
        return f"[{m.group(1)}]({target})"

    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", fix, text)


def on_files(files: Files, config) -> Files:  # noqa: ANN001 - MkDocs passes its own config type
    for uri, source in GENERATED.items():
        files.append(File.generated(config, uri, content=_rewrite_links(source.read_text(encoding="utf-8"))))
    for layer, modules in public_modules().items():
        if modules:
            files.append(File.generated(config, f"api/{layer}.md", content=api_page(layer, modules)))
    return files
