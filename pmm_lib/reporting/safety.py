"""No injection: free text is typed on the way in and inert on the way out.

This module owns three checks that keep a run's inputs from changing what its paper shows or
reads:

1. :func:`check_free_text` (the way in): every string of a scenario file or of the run's
   parameters must be a plain token (letters, digits, space and ``_ . , : / + - = ( ) %``; at
   most :data:`MAX_TEXT` characters). HTML (``<img src=…>``, ``<script>``, ``onerror=``),
   markdown images and links, attributes (``{…}``) and template syntax cannot be spelled with
   these, so they are rejected with the key that holds them, before any folder is created.
2. :func:`check_paper_source` (before rendering): the paper's markdown is parsed with pandoc
   itself (``--from`` :data:`PANDOC_FROM`, which reads raw HTML, raw attributes and raw TeX as
   text) and every node is checked: no raw block or inline, no event-handler, ``src``, ``href``
   or ``style`` attribute, every image a relative path to a file *inside the run folder*, every
   link relative, ``http(s)`` or ``mailto``. Any other target (``/etc/passwd``,
   ``../../data/processed/…``, ``file:``, ``javascript:``) stops the render with
   :class:`RunError`: pandoc's ``--embed-resources`` would otherwise read and inline it.
3. :func:`check_html` (after rendering): the HTML is parsed; no ``<script>``, ``<iframe>``,
   ``<object>``, ``<embed>`` or ``<base>``, no ``on*`` attribute, no ``javascript:`` URL and every
   embedded ``data:`` resource is an image or a font.

Reference: OWASP Cross Site Scripting Prevention Cheat Sheet (output encoding, allow-lists);
pandoc manual, "A note on security" (raw HTML, ``--sandbox``, resource paths).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pmm_lib.errors import RunError, SpecError

__all__ = [
    "MAX_TEXT",
    "PANDOC_FROM",
    "SAFE_TEXT",
    "check_free_text",
    "check_html",
    "caption_text",
    "check_paper_source",
    "html_problems",
    "markdown_text",
    "source_problems",
]

#: the characters a free-text value of a scenario or parameter may contain
SAFE_TEXT = re.compile(r"[\w .,:/+\-=()%]*")
#: the longest free-text value accepted
MAX_TEXT = 200
#: pandoc's input format for the paper: raw HTML, raw attributes and raw TeX are read as text
PANDOC_FROM = "markdown-raw_html-raw_attribute-raw_tex-native_divs-native_spans"
_BAD_ATTRS = ("src", "href", "style", "srcset", "formaction", "xlink:href", "action", "data")
_SCRIPTY = ("script", "iframe", "object", "embed", "base", "frame", "frameset", "applet", "meta")


def _leaves(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            name = f"{key}.{k}" if key else str(k)
            yield f"{name} (the key)", str(k)
            yield from _leaves(v, name)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{key}[{i}]")
    else:
        yield key, value


def check_free_text(data: Any, *, where: str) -> None:
    """Reject any string of ``data`` (nested mappings and lists) that is not a plain token.

    Parameters
    ----------
    data : mapping, list or scalar
        A parsed scenario file or the run's parameters.
    where : str
        Named in the error (``"--scenario s.yaml"``, ``"parameter"``).

    Raises
    ------
    SpecError
        Naming the key, the offending characters and what is allowed.

    Examples
    --------
    >>> check_free_text({"impute": {"method": "mean"}, "n_boot": 50}, where="scenario")
    >>> check_free_text({"weights": {"path": "<img src=x onerror=alert(1)>"}}, where="scenario")
    Traceback (most recent call last):
    ...
    pmm_lib.errors.SpecError: scenario: weights.path holds '<', '>' (markup); allowed: letters, digits, space and _ . , : / + - = ( ) %
    """
    for key, value in _leaves(data, ""):
        if isinstance(value, bool) or value is None or isinstance(value, int | float):
            continue
        text = str(value)
        bad = sorted({c for c in text if not SAFE_TEXT.fullmatch(c)})
        if bad or len(text) > MAX_TEXT:
            what = (", ".join(repr(c) for c in bad[:8]) + " (markup)" if bad
                    else f"{len(text)} characters (at most {MAX_TEXT})")
            raise SpecError(f"{where}: {key or 'value'} holds {what}; allowed: letters, digits, space and "
                            "_ . , : / + - = ( ) %")


def markdown_text(text: str) -> str:
    """Free text made inert in markdown: the characters that open markup (HTML tags, images, links,
    attributes, code, emphasis, math, raw TeX) backslash-escaped; ``_``, ``=``, ``.`` stay readable.

    >>> print(markdown_text("<b>![x](y)"))
    \\<b\\>\\!\\[x\\]\\(y\\)
    """
    return re.sub(r"([\\`*{}\[\]()#!|<>&\"'~^$@])", r"\\\1", str(text).replace("\n", " "))


def caption_text(text: str) -> str:
    """A caption made inert in markdown but still readable as prose: HTML, images, links,
    attributes and code spans are escaped; parentheses, ``@`` cross-references and emphasis stay.

    >>> print(caption_text("Scores (n = 3) <img src=x> [a](b) {#c}"))
    Scores (n = 3) \\<img src=x\\> \\[a\\](b) \\{#c\\}
    """
    return re.sub(r"([\\`{}\[\]!|<>&])", r"\\\1", str(text).replace("\n", " "))


# ----------------------------------------------------------------------------------------------
# The paper source, parsed by pandoc
# ----------------------------------------------------------------------------------------------

def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "t" in node:
            yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _attr_problems(attr: Any) -> list[str]:
    out: list[str] = []
    try:
        pairs = attr[2]
    except (IndexError, TypeError):
        return out
    for k, v in pairs:
        name = str(k).lower()
        if name.startswith("on") or name in _BAD_ATTRS:
            out.append(f"attribute {k}={v!r}")
    return out


def _inside(target: str, run_dir: Path) -> bool:
    if not target or target.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z][\w+.-]*:", target):
        return False
    path = (run_dir / unquote(target.split("#")[0].split("?")[0])).resolve()
    try:
        path.relative_to(run_dir.resolve())
    except ValueError:
        return False
    return path.is_file()


def source_problems(ast: Mapping[str, Any], run_dir: str | Path) -> list[str]:
    """What a pandoc JSON document would make the renderer read or run (empty: safe)."""
    run_dir = Path(run_dir)
    problems: list[str] = []
    for node in _walk(ast.get("blocks", [])):
        t, c = node.get("t"), node.get("c")
        if t in ("RawBlock", "RawInline"):
            problems.append(f"raw {c[0] if isinstance(c, list) and c else '?'} content")
        elif t in ("Image", "Link") and isinstance(c, list) and len(c) == 3:
            problems += _attr_problems(c[0])
            target = str(c[2][0])
            if t == "Image" and not _inside(target, run_dir):
                problems.append(f"image {target!r} is not a file inside the run folder")
            if t == "Link":
                scheme = urlparse(target).scheme.lower()
                if scheme not in ("", "http", "https", "mailto") or (not scheme and target.startswith(("/", "\\"))):
                    problems.append(f"link {target!r}")
        elif t in ("Span", "Div", "Code", "CodeBlock", "Header", "Table", "Figure") and isinstance(c, list) and c:
            problems += _attr_problems(c[0] if t != "Header" else c[1])
    return problems


def check_paper_source(markdown: str | Path, run_dir: str | Path, *, pandoc: str | None = None) -> str:
    """Parse the paper's markdown with pandoc and raise :class:`RunError` if it reads outside the
    run folder or carries active content (:func:`source_problems`).

    Returns the checked document as pandoc's JSON AST: the renderer reads that (``--from json``),
    so what is rendered is exactly what was checked, and the markdown is parsed once, not once
    per output format.
    """
    if pandoc is None:
        import pypandoc

        pandoc = pypandoc.get_pandoc_path()
    text = Path(markdown).read_text(encoding="utf-8") if isinstance(markdown, Path) else markdown
    proc = subprocess.run([pandoc, "--sandbox", "--from", PANDOC_FROM, "--to", "json"], input=text,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RunError(f"pandoc could not parse the paper source: {proc.stderr.strip()[-500:]}")
    problems = source_problems(json.loads(proc.stdout), run_dir)
    if problems:
        raise RunError("the paper source would read outside the run folder or carry active content: "
                       + "; ".join(dict.fromkeys(problems)))
    return proc.stdout


# ----------------------------------------------------------------------------------------------
# The rendered HTML
# ----------------------------------------------------------------------------------------------

class _Active(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SCRIPTY and not (tag == "meta" and not any(k == "http-equiv" for k, _ in attrs)):
            self.problems.append(f"<{tag}>")
        for k, v in attrs:
            value = (v or "").strip()
            if k.startswith("on"):
                self.problems.append(f"<{tag} {k}=…>")
            if value.lower().startswith(("javascript:", "vbscript:")):
                self.problems.append(f"<{tag} {k}={value[:30]}>")
            if value.lower().startswith("data:") and k in ("src", "href", "data", "poster"):
                mime = value[5:].split(";", 1)[0].split(",", 1)[0].lower()
                if not (mime.startswith(("image/", "font/")) or mime in ("application/font-woff",)):
                    self.problems.append(f"<{tag} {k}=data:{mime}…> (embedded file)")
            if k in ("src", "href") and value.lower().startswith("file:"):
                self.problems.append(f"<{tag} {k}={value[:40]}>")


def html_problems(html: str) -> list[str]:
    """Active content or embedded files in an HTML page (empty: inert).

    >>> html_problems('<p>ok</p><img src="data:image/png;base64,AA==">')
    []
    >>> html_problems('<img src=x onerror=alert(1)><script>1</script>')
    ['<img onerror=…>', '<script>']
    """
    parser = _Active()
    parser.feed(html)
    parser.close()
    css_data = re.findall(r"url\(\s*['\"]?data:([\w/+.-]+)", html)
    extra = [f"url(data:{m}) (embedded file)" for m in css_data if not m.lower().startswith(("image/", "font/"))]
    return parser.problems + extra


def check_html(path: str | Path) -> None:
    """Raise :class:`RunError` if a rendered page carries active content (:func:`html_problems`)."""
    problems = html_problems(Path(path).read_text(encoding="utf-8", errors="replace"))
    if problems:
        raise RunError(f"{path}: the rendered paper carries active content or an embedded file: "
                       + "; ".join(dict.fromkeys(problems)))
