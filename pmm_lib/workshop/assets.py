"""The browser assets the room's server ships, so nothing is fetched from the internet at run time.

Solara's page template loads its JavaScript, CSS and fonts from ``{{cdn}}/<package>@<version>/``,
which the Solara server answers from a local cache folder
(``solara.server.settings.assets.proxy_cache_dir``, filled by the ``solara-assets`` wheel).
The wheel lags behind the template (it lacks the Vue 3 app bundle the template asks for), and
a cache miss would make the server fetch from a CDN, which fails in an offline room. This
module lists what the template needs (:func:`required_packages`), what is missing
(:func:`missing_assets`) and installs the missing npm packages with the npm client
(:func:`install_assets`, ``pmm workshop assets``) once, at set-up time.

Examples
--------
>>> pkgs = required_packages()
>>> any(p.startswith("@widgetti/solara-vuetify") for p in pkgs)
True
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from pmm_lib.errors import RunError

__all__ = ["asset_dir", "install_assets", "missing_assets", "page_files", "required_packages", "warm_compression"]

_PKG_RE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.\-]+/)?[\w.\-]+@[\w.\-]+)/")


def asset_dir() -> Path:
    """Solara's local asset cache (where ``{{cdn}}/...`` is served from)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def _template_text() -> str:
    import solara.server

    folder = Path(solara.server.__file__).parent / "templates"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.j2")))


def required_packages() -> list[str]:
    """``name@version`` of every package Solara's page template loads from ``{{cdn}}``, plus
    Font Awesome (the icons)."""
    from solara.server import settings

    found = set(_PKG_RE.findall(_template_text()))
    fa = settings.assets.fontawesome_path.strip("/").split("/")[0]
    if "@" in fa:
        found.add(fa)
    return sorted(found)


_FILE_RE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.\-]+/)?[\w.\-]+@[\w.\-]+/[^\"'\s{]*(?:\{\{\s*ipywidget_major_version\s*\}\}[^\"'\s{]*)?)")


def page_files(folder: str | Path | None = None) -> list[Path]:
    """The JavaScript and CSS files of the asset cache that Solara's page template loads in
    production (minified bundles of the installed Vue generation, this ipywidgets major version),
    those present."""
    import ipyvue
    import ipywidgets

    base = Path(folder) if folder is not None else asset_dir()
    major = ipywidgets.__version__.split(".")[0]
    app = "solara-vuetify3-app@" if ipyvue.__version__.startswith("3") else "solara-vuetify-app@"
    out = []
    for ref in sorted(set(_FILE_RE.findall(_template_text()))):
        rel = re.sub(r"\{\{\s*ipywidget_major_version\s*\}\}", major, ref)
        path = base / rel
        if "solara-vuetify" in rel and app not in rel:
            continue                                    # the other Vue generation's bundle
        if path.suffix == ".css" or rel.endswith(".min.js") or (path.suffix == ".js" and "/dist/" not in rel):
            if path.is_file():
                out.append(path)
    return out


def warm_compression(folder: str | Path | None = None) -> list[Path]:
    """Compress the page's big files into the server's in-memory cache before anyone asks.

    Solara's server compresses each static file once, on its first request, at gzip level 9
    (~0.6 s of CPU for the 4 MB app bundle and its stylesheets); a whole room arriving at once
    would all wait for that first compression. Called by the room's server at start-up; returns
    the files compressed (empty when this Solara has no such cache).
    """
    try:
        import solara.settings
        from solara.server import compress
    except ImportError:
        return []
    if not solara.settings.assets.proxy or not hasattr(compress, "compressed"):
        return []
    done = []
    for path in page_files(folder):
        key = str(path)                     # the path Solara's cdn route serves (cache dir / url path)
        try:
            compress.compressed(key, os.stat(key), "gzip")
        except OSError:
            continue
        done.append(path)
    return done


def missing_assets(folder: str | Path | None = None) -> list[str]:
    """The required packages that are not in the asset cache (empty when the room can be offline)."""
    base = Path(folder) if folder is not None else asset_dir()
    return [p for p in required_packages() if not (base / p).is_dir() or not any((base / p).iterdir())]


def install_assets(folder: str | Path | None = None, *, npm: str = "npm") -> list[str]:
    """Install the missing packages into the asset cache with ``npm pack`` (the npm client).

    Returns the packages installed. Run once when setting up the machine that will serve the
    room (it needs the npm registry); the room itself needs no network.

    Raises
    ------
    RunError
        npm is missing or a package cannot be fetched, naming it.
    """
    base = Path(folder) if folder is not None else asset_dir()
    todo = missing_assets(base)
    if not todo:
        return []
    exe = shutil.which(npm)
    if exe is None:
        raise RunError(f"npm is needed to install the workshop's browser assets ({', '.join(todo)}); "
                       "install Node.js/npm (Debian: apt-get install npm) and retry")
    done = []
    for pkg in todo:
        with tempfile.TemporaryDirectory() as tmp:
            res = subprocess.run([exe, "pack", pkg, "--silent"], cwd=tmp, capture_output=True, text=True,
                                 timeout=600, check=False)
            tgz = sorted(Path(tmp).glob("*.tgz"))
            if res.returncode != 0 or not tgz:
                raise RunError(f"npm pack {pkg} failed: {res.stderr.strip()[-300:]}")
            target = base / pkg
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tgz[0]) as tar:
                for m in tar.getmembers():
                    if not m.name.startswith("package/") or ".." in Path(m.name).parts:
                        continue
                    m.name = m.name[len("package/"):]
                    if m.isfile() or m.isdir():
                        tar.extract(m, target, filter="data")
        done.append(pkg)
    return done
