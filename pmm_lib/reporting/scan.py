"""Disclosure scan: find values an audience may not see in the artefacts of a run folder.

This module owns the *check* that disclosure control worked (the control itself lives in
:mod:`pmm_lib.reporting.disclosure`). It answers one question: does any table, figure, paper or executed
notebook of a run show a Member-level KPI value, raw or transformed, that the run's audience
may not see?

How it works
------------
1. :func:`value_images` lists every Member-level KPI value of the run's cycle and region and
   its *images*, the per-Member KPI values a notebook can show: the raw value, the value scaled
   to the KPI's plausible range (:func:`pmm_lib.analysis.quality.scaled_long`), its robust z-score
   (:func:`pmm_lib.analysis.quality.robust_z`) and the treated and normalised values of the index build
   (:func:`pmm_lib.core.build.build_pmm` with the run's spec). Each row says whether the audience
   may see it (:func:`pmm_lib.reporting.disclosure.hidden_values` decides).
2. :class:`Needles` turns the hidden rows into things to search for. A number is searched at
   full precision (numerically, relative tolerance ``rtol``) and at the rounded precisions a
   table or text could show it (:data:`FORMS`: ``%.10g``, ``%.6g``, ``%.4g``, ``%.3g``, 2 and 1
   decimals), but only where that is *distinctive*: at least ``min_sig`` (numeric) or
   ``min_sig_rounded`` (rounded forms) significant digits of real information (a simple
   fraction such as 1/12 carries one, :func:`information_digits`), and not also a value or a
   rounded form of a value the audience may see.
3. The scanners: :func:`scan_table` compares each numeric CSV cell numerically and by its
   spelling; :func:`scan_values` compares the numbers a figure draws
   (``figures/<label>.values.csv``, written by :func:`pmm_lib.reporting.report.save_figure`) and skips
   layout lattices (categorical positions ``i + 0.14``); :func:`scan_text` tokenises text
   (HTML, PDF, markdown, notebook outputs) and looks each number up among the forms.
4. The evidence rule: a match resting on at least ``strong_sig`` (5) significant digits is
   reported alone; a weaker one (a two-decimal raw value such as ``13.12``, a four-digit
   rounded form) only when at least ``min_group`` (3) weak matches of the same KPI and image
   share a table column, a figure or a text. Measured on the bundled AMS 2024 public run: the
   Monte Carlo rank table holds means over 100 or 1000 draws (``1.63``, ``1.312``) that
   coincide with single two-decimal raw values and four-digit forms of robust z-scores, while a
   leaked KPI column or distribution shows many values of one KPI together.
5. :func:`scan_run` runs all of them over a run folder; ``pmm scan RUN_DIR [--audience A]``
   (:mod:`pmm_lib.cli.scan`) prints the hits and exits with 1 when there are any.

What a scan cannot see: a single hidden value with fewer than ``strong_sig`` digits shown on
its own (a lone "13.12"), and any value rounded to fewer than ``min_sig_rounded`` digits
("13.1"). The positive-control tests plant hidden values, alone and as a column, and check
the scan finds them.

Reference: Hundepool, A. et al. (2012), *Statistical Disclosure Control*, Wiley,
doi:10.1002/9781118348239 (ch. 4, checking published tables for disclosure).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError, SpecError

__all__ = [
    "active_content",
    "FORMS",
    "HIT_COLUMNS",
    "IMAGES",
    "Image",
    "Needles",
    "canonical",
    "html_text",
    "information_digits",
    "notebook_text",
    "embedded_resources",
    "number_tokens",
    "pdf_text",
    "png_text",
    "run_needles",
    "scan_run",
    "scan_table",
    "scan_text",
    "scan_values",
    "significant_digits",
    "value_images",
]

Image = Literal["raw", "scaled", "robust_z", "treated", "normalised"]
#: the per-Member KPI images :func:`value_images` computes
IMAGES: tuple[Image, ...] = get_args(Image)

#: the precisions a number can be shown at, as format functions (name -> function)
FORMS: dict[str, Callable[[float], str]] = {
    "repr": repr,
    "g10": lambda v: f"{v:.10g}",
    "g6": lambda v: f"{v:.6g}",
    "g4": lambda v: f"{v:.4g}",
    "g3": lambda v: f"{v:.3g}",
    "f2": lambda v: f"{v:.2f}",
    "f1": lambda v: f"{v:.1f}",
}

#: columns of every scan result (one row per hit)
HIT_COLUMNS = ["source", "location", "shown", "match", "member", "kpi", "image", "value", "digits", "evidence"]

_NUMBER = re.compile(
    # a sign only after a non-word character; no number right after "letter-" (fig-2, ISO-3)
    r"(?:(?<![\w.])[-−–]|(?<![\w.])(?<![A-Za-z_][-−–]))"
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)(?![\w])"
)


# ----------------------------------------------------------------------------------------------
# Number forms
# ----------------------------------------------------------------------------------------------

def canonical(text: str) -> str:
    """Canonical spelling of a number as shown: no sign, no thousands commas, no trailing zeros.

    Both the needles and the tokens of a text go through this, so ``"33.10"``, ``"33.1"`` and
    ``"−33.1"`` meet; exponent notation is normalised through ``repr(float(...))``.

    >>> canonical("−1,234.50"), canonical("4.00"), canonical("0.0120"), canonical("1.5e-05")
    ('1234.5', '4', '0.012', '1.5e-05')
    """
    t = text.strip().lstrip("+-−–").replace(",", "")
    if "e" in t or "E" in t:
        try:
            return repr(abs(float(t)))
        except ValueError:
            return t
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    if t.startswith("."):
        t = "0" + t
    return t or "0"


def significant_digits(form: str) -> int:
    """Significant digits of a canonical number spelling (trailing zeros of integers do not count).

    >>> significant_digits("33.06"), significant_digits("0.0120"), significant_digits("1200")
    (4, 2, 2)
    """
    mantissa = canonical(form).split("e")[0]
    if "." in mantissa:
        digits = mantissa.replace(".", "").lstrip("0")
    else:
        digits = mantissa.lstrip("0").rstrip("0")
    return len(digits)


def information_digits(value: float, *, max_denominator: int = 16, max_percent_denominator: int = 64) -> int:
    """Significant digits a value really carries: those of ``|value|`` at ``%.10g``, or fewer when
    the value is a simple fraction ``p/q`` (``q <= max_denominator``) or a percentage of one
    (``value / 100 = p/q``, ``q <= max_percent_denominator``), then those of ``p``.

    1/12 prints with ten digits but says no more than "1 in 12"; such values (shares of a few
    Members or KPIs, min-max normalised counts such as 100 x 11/17) turn up by chance in any
    table or figure and are not distinctive. A two-decimal value keeps its digits
    (33.06 = 1653/50).

    >>> information_digits(33.06), information_digits(1 / 12), information_digits(100 * 11 / 17)
    (4, 1, 2)
    """
    v = abs(float(value))
    best = significant_digits(canonical(f"{v:.10g}"))
    for w, qmax in ((v, max_denominator), (v / 100, max_percent_denominator)):
        for q in range(1, qmax + 1):
            p = round(w * q)
            if p and abs(w * q - p) <= 1e-9 * max(1.0, w * q):
                best = min(best, significant_digits(str(p)))
                break
    return best


def _forms(value: float) -> set[str]:
    v = abs(float(value))
    return {canonical(f(v)) for f in FORMS.values()}


# ----------------------------------------------------------------------------------------------
# What to look for
# ----------------------------------------------------------------------------------------------

def value_images(observations: pd.DataFrame, cycle: int, region: str, audience: str = "public", *,
                 spec: Any = None, images: Sequence[str] = IMAGES, seed: int | None = None) -> pd.DataFrame:
    """Every Member-level KPI value of a cycle and region and its transformed images, tidy.

    Parameters
    ----------
    observations : DataFrame
        Tidy observations (:func:`pmm_lib.inputs.data.load_observations`).
    cycle : int
    region : str
        A WCO region or ``ALL``.
    audience : {"public", "wco", "internal"}
        Decides the ``hidden`` column (:func:`pmm_lib.reporting.disclosure.hidden_values`).
    spec : pmm_lib.core.spec.Spec, optional
        The spec of the run (treated and normalised images); default :meth:`Spec.default`.
    images : sequence of {"raw", "scaled", "robust_z", "treated", "normalised"}
        ``raw`` the reported value :math:`x_{ij}`; ``scaled`` :math:`(x_{ij}-L_j)/(U_j-L_j)` with
        the framework's plausible bounds; ``robust_z`` :math:`0.6745(x_{ij}-\\tilde x_j)/\\mathrm{MAD}_j`
        over the region; ``treated`` and ``normalised`` the build's stages.
    seed : int, optional
        Passed to the build (stochastic imputation only).

    Returns
    -------
    DataFrame
        ``member, kpi, image, value, hidden, digits`` (one row per reported value and image;
        imputed cells are not Member data and are left out). ``digits`` is the information the
        value carries (:func:`information_digits`; a scaled or untreated value inherits the
        reported value's).
    """
    from pmm_lib.analysis import quality
    from pmm_lib.inputs import data as data_mod
    from pmm_lib.reporting import disclosure

    unknown = [i for i in images if i not in IMAGES]
    if unknown:
        raise SpecError(f"images: unknown {', '.join(map(repr, unknown))}; allowed: {', '.join(IMAGES)}")
    raw = data_mod.to_matrix(observations, int(cycle), region)
    levels = disclosure.disclosure_matrix(observations, int(cycle), members=raw.index, kpis=raw.columns)
    hidden_raw = disclosure.hidden_values(raw, levels, audience)
    hidden = pd.DataFrame(False, index=raw.index, columns=raw.columns)
    for m, k in zip(hidden_raw["member"], hidden_raw["kpi"], strict=True):
        hidden.at[m, k] = True
    reported = raw.notna()
    wide: dict[str, pd.DataFrame] = {}
    if "raw" in images:
        wide["raw"] = raw
    if "scaled" in images:
        long = quality.scaled_long(raw)
        wide["scaled"] = long.pivot(index="member", columns="kpi", values="scaled").reindex_like(raw)
    if "robust_z" in images:
        wide["robust_z"] = quality.robust_z(raw)
    if "treated" in images or "normalised" in images:
        from pmm_lib.core.build import build_pmm

        res = build_pmm(spec, region=region, cycle=int(cycle), observations=observations, seed=seed)
        for name in ("treated", "normalised"):
            if name in images:
                wide[name] = getattr(res, name).reindex(index=raw.index, columns=raw.columns)
    raw_digits = raw.map(lambda x: information_digits(x) if np.isfinite(x) else 0)
    rows = []
    for name in images:
        frame = wide[name].where(reported).astype(float)
        long = frame.stack().dropna().rename("value").reset_index()
        long.columns = ["member", "kpi", "value"]
        long = long[np.isfinite(long["value"].to_numpy())]
        long["hidden"] = [bool(hidden.at[m, k]) for m, k in zip(long["member"], long["kpi"], strict=True)]
        own = [information_digits(v) for v in long["value"]]
        # an affine image with the framework's constants (scaled), or an untreated value, carries
        # no more information than the reported value (2.51 / 30 = 0.08366... is "2.51")
        inherit = [name == "scaled" or (name == "treated" and v == raw.at[m, k])
                   for m, k, v in zip(long["member"], long["kpi"], long["value"], strict=True)]
        long["digits"] = [min(d, int(raw_digits.at[m, k])) if inh else d
                          for d, inh, m, k in zip(own, inherit, long["member"], long["kpi"], strict=True)]
        long.insert(2, "image", name)
        rows.append(long)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["member", "kpi", "image", "value", "hidden", "digits"])
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Needles:
    """The hidden values to search for, with the forms that are distinctive enough to search.

    Build with :meth:`from_images` (or :func:`run_needles`). Immutable; :meth:`explained_by`
    returns a copy that also treats extra numbers as visible.

    Attributes
    ----------
    hidden : DataFrame
        ``member, kpi, image, value`` of every hidden value (before the distinctiveness filter).
    exact : ndarray
        Sorted hidden values searched numerically (distinctive at full precision).
    exact_index : ndarray
        Row of ``hidden`` for each entry of ``exact``.
    forms : dict
        Canonical rounded spelling -> rows of ``hidden`` it could come from.
    visible : ndarray
        Sorted visible numbers (the audience may see them); excluded from numeric matches.
    visible_forms : frozenset of str
        Every rounded form of every visible number; never searched.
    sig : ndarray
        Information digits (:func:`information_digits`) of each row of ``hidden``.
    rtol : float
        Relative tolerance of a numeric match.
    min_sig : int
        Least significant digits (of the full-precision value) for a numeric match.
    min_sig_rounded : int
        Least significant digits of a searched rounded form. Four by default: the scan of the
        bundled AMS 2024 data showed that three-digit forms of the hidden values in [0, 1]
        (scaled values, correlations) cover so much of the three-digit space that public
        correlations and layout numbers collide with them.
    """

    hidden: pd.DataFrame
    exact: np.ndarray
    exact_index: np.ndarray
    forms: dict[str, tuple[int, ...]]
    visible: np.ndarray
    visible_forms: frozenset[str] = field(repr=False)
    sig: np.ndarray = field(repr=False, default_factory=lambda: np.array([], int))
    rtol: float = 1e-8
    min_sig: int = 3
    min_sig_rounded: int = 4

    @classmethod
    def from_images(cls, images: pd.DataFrame, *, min_sig: int = 3, min_sig_rounded: int = 4,
                    rtol: float = 1e-8) -> Needles:
        """Needles from :func:`value_images` output (rows with ``hidden`` are searched, others are
        visible; an optional ``digits`` column caps each value's information digits)."""
        missing = {"member", "kpi", "image", "value", "hidden"} - set(images.columns)
        if missing:
            raise InputError(f"image table lacks column(s) {', '.join(sorted(missing))}",
                             expected="member, kpi, image, value, hidden")
        if min_sig < 1 or min_sig_rounded < 1:
            raise SpecError(f"min_sig and min_sig_rounded must be at least 1, got {min_sig}, {min_sig_rounded}")
        if not rtol > 0:
            raise SpecError(f"rtol must be positive, got {rtol}")
        cols = ["member", "kpi", "image", "value"] + (["digits"] if "digits" in images.columns else [])
        hid = images.loc[images["hidden"].astype(bool), cols]
        vis = images.loc[~images["hidden"].astype(bool), "value"].to_numpy(float)
        return cls._make(hid.reset_index(drop=True), vis, min_sig=min_sig, min_sig_rounded=min_sig_rounded,
                         rtol=rtol)

    @classmethod
    def _make(cls, hidden: pd.DataFrame, visible: np.ndarray, *, min_sig: int, min_sig_rounded: int,
              rtol: float) -> Needles:
        visible = np.sort(np.abs(visible[np.isfinite(visible)]))
        visible_forms = frozenset(f for v in np.unique(visible) for f in _forms(v))
        values = np.abs(hidden["value"].to_numpy(float))
        sig = np.array([information_digits(v) for v in values], dtype=int)
        if "digits" in hidden.columns:  # what value_images knows about the value's origin
            sig = np.minimum(sig, hidden["digits"].to_numpy(int))
        keep = [i for i, v in enumerate(values) if sig[i] >= min_sig and not _near(visible, v, rtol)]
        idx = np.asarray(keep, dtype=int)
        order = np.argsort(values[idx], kind="stable")
        forms: dict[str, list[int]] = {}
        for i, v in enumerate(values):
            if sig[i] < min_sig_rounded:
                continue  # a simple fraction or a short number: no rounded form of it is distinctive
            for f in _forms(v):
                if significant_digits(f) >= min_sig_rounded and f not in visible_forms:
                    forms.setdefault(f, []).append(i)
        return cls(hidden=hidden, exact=values[idx][order], exact_index=idx[order],
                   forms={k: tuple(v) for k, v in forms.items()}, visible=visible,
                   visible_forms=visible_forms, sig=sig, rtol=rtol, min_sig=min_sig,
                   min_sig_rounded=min_sig_rounded)

    def explained_by(self, numbers: Iterable[float]) -> Needles:
        """A copy that treats ``numbers`` as visible too (e.g. the clean numbers of a run's tables)."""
        extra = np.asarray([float(x) for x in numbers], dtype=float)
        return self._make(self.hidden, np.concatenate([self.visible, extra]), min_sig=self.min_sig,
                          min_sig_rounded=self.min_sig_rounded, rtol=self.rtol)

    def __len__(self) -> int:
        return len(self.hidden)

    def match_number(self, x: float, *, min_sig: int | None = None) -> list[int]:
        """Rows of ``hidden`` equal to ``|x|`` within the relative tolerance.

        ``min_sig`` raises the bar above :attr:`min_sig` (e.g. 4 for figure data, where
        layout positions such as ``4.72`` abound).
        """
        if not math.isfinite(x):
            return []
        x = abs(x)
        tol = self.rtol * max(x, 1e-300)
        lo = np.searchsorted(self.exact, x - tol, side="left")
        hi = np.searchsorted(self.exact, x + tol, side="right")
        rows = [int(i) for i in self.exact_index[lo:hi]]
        if min_sig is not None:
            rows = [i for i in rows if self.sig[i] >= min_sig]
        return rows

    def match_token(self, token: str, *, min_sig: int | None = None) -> list[int]:
        """Rows of ``hidden`` whose distinctive rounded forms include this spelling.

        ``min_sig`` raises the bar above :attr:`min_sig_rounded` for this lookup.
        """
        form = canonical(token)
        if min_sig is not None and significant_digits(form) < min_sig:
            return []
        return list(self.forms.get(form, ()))

    def hit(self, rows: Sequence[int], *, source: str, location: str, shown: str, match: str,
            group: str | None = None) -> dict[str, Any]:
        """One result row for the first hidden value among ``rows`` (the others are the same number).

        ``digits`` is the evidence: the significant digits the match rests on (those of the
        hidden value for a numeric match, of the shown spelling for a form match).
        """
        i = rows[0]
        r = self.hidden.iloc[i]
        digits = int(self.sig[i]) if match == "numeric" else significant_digits(canonical(shown))
        return {"source": source, "location": location, "shown": shown, "match": match,
                "member": r["member"], "kpi": r["kpi"], "image": r["image"], "value": float(r["value"]),
                "digits": min(digits, int(self.sig[i])), "evidence": "", "_group": group or source}


def _near(sorted_values: np.ndarray, x: float, rtol: float) -> bool:
    if not len(sorted_values):
        return False
    tol = rtol * max(abs(x), 1e-300)
    lo = np.searchsorted(sorted_values, x - tol, side="left")
    return bool(lo < len(sorted_values) and sorted_values[lo] <= x + tol)


def run_needles(run_dir: str | Path, *, observations: pd.DataFrame | None = None,
                audience: str | None = None, images: Sequence[str] = IMAGES,
                min_sig: int = 3, min_sig_rounded: int = 4) -> Needles:
    """Needles for a run folder: its manifest gives region, cycle, seed, audience and scenario.

    ``audience`` overrides the run's own (e.g. scan an internal run for what the public may not
    see); ``observations`` default to :func:`pmm_lib.inputs.data.load_observations`.
    """
    from pmm_lib.inputs import data as data_mod

    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        p = manifest["parameters"]
        region, cycle, seed = str(p["region"]), int(p["cycle"]), int(p["seed"])
        run_audience = str(p.get("audience", "wco"))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"not a readable run manifest ({exc})", file=manifest_path,
                         expected="manifest.json with parameters.region/cycle/seed") from None
    spec = None
    from pmm_lib.reporting.bundle import internal_path

    scenario = internal_path(run_dir, "scenario.yaml")  # _internal/ of a sealed run
    if scenario.is_file():
        from pmm_lib.core.spec import Spec

        spec = Spec.from_yaml(scenario)
    obs = data_mod.load_observations() if observations is None else observations
    frame = value_images(obs, cycle, region, audience or run_audience, spec=spec, images=images, seed=seed)
    return Needles.from_images(frame, min_sig=min_sig, min_sig_rounded=min_sig_rounded)


# ----------------------------------------------------------------------------------------------
# Text extraction
# ----------------------------------------------------------------------------------------------

class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("alt", "title", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The visible text of an HTML page (plus alt/title attributes), without scripts, styles
    and embedded data (base64 images would otherwise look like numbers)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,\"'\s)]*)*)(;base64)?,([^\"'\s)<>]*)")


def png_text(blob: bytes) -> str:
    """The text chunks (``tEXt``, ``zTXt``, ``iTXt``) of a PNG, joined by newlines ("" if not a PNG).

    Matplotlib writes ``Software`` there; anything else (a planted value, a file) is scanned.

    >>> import struct, zlib
    >>> def chunk(kind, body):
    ...     return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    >>> png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"tEXt", b"Comment\\x0033.0625") + chunk(b"IEND", b"")
    >>> png_text(png)
    'Comment 33.0625'
    """
    import struct
    import zlib

    if not blob.startswith(b"\x89PNG\r\n\x1a\n"):
        return ""
    out: list[str] = []
    pos = 8
    while pos + 8 <= len(blob):
        (length,) = struct.unpack(">I", blob[pos:pos + 4])
        kind, body = blob[pos + 4:pos + 8], blob[pos + 8:pos + 8 + length]
        pos += 12 + length
        try:
            if kind == b"tEXt":
                key, _, text = body.partition(b"\x00")
                out.append(f"{key.decode('latin-1')} {text.decode('latin-1')}")
            elif kind == b"zTXt":
                key, _, rest = body.partition(b"\x00")
                out.append(f"{key.decode('latin-1')} {zlib.decompress(rest[1:]).decode('latin-1')}")
            elif kind == b"iTXt":
                key, _, rest = body.partition(b"\x00")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\x00")
                _tkey, _, text = rest.partition(b"\x00")
                text = zlib.decompress(text) if compressed else text
                out.append(f"{key.decode('latin-1')} {text.decode('utf-8', 'replace')}")
        except (zlib.error, IndexError, UnicodeDecodeError):
            out.append(f"(undecodable {kind.decode('latin-1')} chunk)")
        if kind == b"IEND":
            break
    return "\n".join(out)


def embedded_resources(html: str) -> list[tuple[str, str]]:
    """``(mime, decoded text)`` of every ``data:`` URI of a page: images' PNG text chunks, the
    decoded content of any other embedded file (CSV, JSON, text: what a local-file embedding
    would pull in). Fonts and PNG/JPEG/SVG pixels carry no text and give ``""``.

    >>> import base64
    >>> embedded_resources('<img src="data:text/csv;base64,' + base64.b64encode(b"AAA,13.37").decode() + '">')
    [('text/csv', 'AAA,13.37')]
    """
    import base64
    from urllib.parse import unquote_to_bytes

    out: list[tuple[str, str]] = []
    for m in _DATA_URI.finditer(html):
        mime = (m.group(1) or "text/plain").lower()
        payload = m.group(4)
        try:
            blob = base64.b64decode(payload + "=" * (-len(payload) % 4)) if m.group(3) else unquote_to_bytes(payload)
        except (ValueError, TypeError):
            out.append((mime, ""))
            continue
        if mime == "image/png":
            out.append((mime, png_text(blob)))
        elif mime.startswith(("font/", "application/font", "application/x-font")) or mime in (
                "image/jpeg", "image/gif", "image/webp"):
            out.append((mime, ""))
        elif mime == "image/svg+xml":
            out.append((mime, html_text(blob.decode("utf-8", "replace"))))
        else:
            out.append((mime, blob.decode("utf-8", "replace")))
    return out


def pdf_text(path: str | Path) -> str:
    """Text of every page of a PDF (pypdf; the ``dev`` extra). Raises InputError on a bad file."""
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # pragma: no cover - pypdf is in the dev extra
        raise ImportError("pdf_text needs pypdf (pip install 'pmm-workbench[dev]')") from exc
    try:
        reader = PdfReader(str(path))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # pypdf raises several types for damaged files
        raise InputError(f"cannot read PDF text ({exc})", file=path) from None


def notebook_text(path: str | Path) -> str:
    """Text of an executed notebook's outputs (streams, text/plain, text/html, markdown, errors)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable notebook ({exc})", file=path) from None
    parts: list[str] = []

    def text(v: Any) -> str:
        return "".join(v) if isinstance(v, list) else str(v)

    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            if "text" in out:
                parts.append(text(out["text"]))
            data = out.get("data", {})
            if "text/html" in data:
                parts.append(html_text(text(data["text/html"])))
            elif "text/plain" in data:
                parts.append(text(data["text/plain"]))
            if "text/markdown" in data:
                parts.append(text(data["text/markdown"]))
            if out.get("output_type") == "error":
                parts.append(str(out.get("evalue", "")))
    return "\n".join(parts)


def number_tokens(text: str) -> list[tuple[int, str]]:
    """``(offset, token)`` of every number in ``text`` (not digits inside words, codes or hashes).

    Examples
    --------
    >>> [t for _, t in number_tokens("K01: 33.06 and −1,234.5 (n = 12, 10-20), not K01, fig-2 or ab12cd")]
    ['33.06', '−1,234.5', '12', '10', '20']
    """
    return [(m.start(), m.group(0)) for m in _NUMBER.finditer(text)]


# ----------------------------------------------------------------------------------------------
# Scanners
# ----------------------------------------------------------------------------------------------

def _frame(rows: list[dict[str, Any]], *, strong_sig: int = 5, min_group: int = 3) -> pd.DataFrame:
    """Keep strong hits and weak hits corroborated by their group; drop the bookkeeping column.

    A hit resting on ``strong_sig`` or more significant digits is *strong*: a chance collision
    is unlikely. A weaker one (a two-decimal raw value such as ``13.12``, a four-digit rounded
    form) is reported only when weak hits of at least ``min_group`` distinct Members for the
    same KPI and image turn up in the same group (a table column, a figure, a text): a leaked
    column or distribution, not the odd coincidence with a mean of 100 ranks.
    """
    frame = pd.DataFrame(rows, columns=[*HIT_COLUMNS, "_group"])
    if frame.empty:
        return frame[HIT_COLUMNS]
    strong = frame["digits"] >= strong_sig
    # distinct Members: the same number repeated (a layout constant drawn five times) is one
    size = frame.groupby(["_group", "kpi", "image"])["member"].transform("nunique")
    corroborated = ~strong & (size >= min_group)
    frame["evidence"] = np.where(strong, "strong", "")
    frame.loc[corroborated, "evidence"] = [f"corroborated ({n} of this KPI)" for n in size[corroborated]]
    return frame.loc[strong | corroborated, HIT_COLUMNS].reset_index(drop=True)


def scan_text(text: str, needles: Needles, *, source: str = "text", min_sig: int | None = None,
              strong_sig: int = 5, min_group: int = 3) -> pd.DataFrame:
    """Hidden values shown in a text at any distinctive precision.

    Parameters
    ----------
    text : str
    needles : Needles
    source : str
        Name given to the text in the result.
    min_sig : int, optional
        Look only at tokens of at least this many significant digits (e.g. 5 for notebook
        outputs, full of incidental numbers).
    strong_sig, min_group : int
        Evidence rule of :func:`_frame`: tokens of ``strong_sig`` digits or more are reported
        alone, shorter ones when ``min_group`` of them belong to one KPI.

    Returns
    -------
    DataFrame
        :data:`HIT_COLUMNS`; ``location`` is ``line N`` (1-based), ``match`` is ``form``.
    """
    rows = []
    for offset, token in number_tokens(text):
        found = needles.match_token(token, min_sig=min_sig)
        if found:
            line = text.count("\n", 0, offset) + 1
            rows.append(needles.hit(found, source=source, location=f"line {line}", shown=token, match="form"))
    return _frame(rows, strong_sig=strong_sig, min_group=min_group)


def scan_values(values: Iterable[float], needles: Needles, *, source: str = "values",
                min_sig: int | None = None, strong_sig: int = 5, min_group: int = 3) -> pd.DataFrame:
    """Hidden values among numbers at full precision (figure data), compared numerically.

    Numbers on a step-1 lattice (three or more of ``i + c``: categorical positions of bars and
    dodged points) are layout and skipped; the evidence rule is that of :func:`scan_text`.
    """
    values = [float(x) for x in values]
    layout = _lattice(values)
    rows = []
    for i, x in enumerate(values):
        if x in layout:
            continue
        found = needles.match_number(float(x), min_sig=min_sig)
        if found:
            rows.append(needles.hit(found, source=source, location=f"value {i + 1}", shown=repr(float(x)),
                                    match="numeric"))
    return _frame(rows, strong_sig=strong_sig, min_group=min_group)


def _lattice(values: Sequence[float], step: float = 1.0) -> set[float]:
    """Values lying on a run of at least three equally spaced positions ``x - step, x, x + step``
    (categorical positions of bars and dodged points, ``i + 0.14``): layout, not data."""
    keyed = {round(v, 9): v for v in values if math.isfinite(v)}
    out = set()
    for k, v in keyed.items():
        lo, hi = round(k - step, 9) in keyed, round(k + step, 9) in keyed
        lo2, hi2 = round(k - 2 * step, 9) in keyed, round(k + 2 * step, 9) in keyed
        if (lo and hi) or (hi and hi2) or (lo and lo2):
            out.add(v)
    return out


def _read_cells(table: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                        else (repr(v) if isinstance(v, float) else str(v)))
    try:
        return pd.read_csv(table, dtype=str, keep_default_na=False, na_values=[])
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read table ({exc})", file=table) from None


def scan_table(table: pd.DataFrame | str | Path, needles: Needles, *, source: str | None = None,
               rounded: bool = True, strong_sig: int = 5, min_group: int = 3) -> pd.DataFrame:
    """Hidden values in a table, cell by cell.

    A cell that parses as a number is compared numerically with the hidden values
    (``|x - v| <= rtol |v|``) and, when ``rounded``, by its spelling with the distinctive rounded
    forms (a cell written as ``33.1``); a text cell is tokenised like :func:`scan_text`.
    ``location`` is ``row R, column C`` with R the 1-based data row (the header is not counted).
    The evidence rule is that of :func:`scan_text`, with each column a group.
    """
    cells = _read_cells(table)
    src = source if source is not None else (str(table) if not isinstance(table, pd.DataFrame) else "table")
    rows = []
    for r, record in enumerate(cells.itertuples(index=False, name=None), start=1):
        for col, cell in zip(cells.columns, record, strict=True):
            text = str(cell).strip()
            if not text:
                continue
            where = f"row {r}, column {col}"
            try:
                x = float(text.replace("−", "-"))
            except ValueError:
                for _, token in number_tokens(text):
                    found = needles.match_token(token)
                    if found:
                        rows.append(needles.hit(found, source=src, location=where, shown=token, match="form",
                                                group=f"{src}:{col}"))
                continue
            found = needles.match_number(x)
            if found:
                rows.append(needles.hit(found, source=src, location=where, shown=text, match="numeric",
                                        group=f"{src}:{col}"))
            elif rounded:
                found = needles.match_token(text)
                if found:
                    rows.append(needles.hit(found, source=src, location=where, shown=text, match="form",
                                            group=f"{src}:{col}"))
    return _frame(rows, strong_sig=strong_sig, min_group=min_group)


def _numbers(cells: pd.DataFrame) -> list[tuple[str, float]]:
    out = []
    for col in cells.columns:
        for cell in cells[col]:
            text = str(cell).strip()
            try:
                x = float(text.replace("−", "-"))
            except ValueError:
                continue
            if math.isfinite(x):
                out.append((text, x))
    return out


def scan_run(run_dir: str | Path, needles: Needles | None = None, *,
             parts: Sequence[Literal["tables", "figures", "paper", "notebooks"]] = (
                 "tables", "figures", "paper", "notebooks"),
             strong_sig: int = 5, min_group: int = 3, notebook_strong_sig: int = 7) -> pd.DataFrame:
    """Scan a run folder for hidden values.

    Parameters
    ----------
    run_dir : path
        A run folder (``outputs/<region>/<cycle>/<run-id>``).
    needles : Needles, optional
        Default :func:`run_needles` for the run's own audience.
    parts : sequence
        ``tables`` (``tables/*.csv``), ``figures`` (``figures/*.values.csv``), ``paper``
        (``paper.html`` text, ``paper.pdf`` text, ``paper.md``/``paper.qmd``/``paper.typ``),
        ``notebooks`` (outputs of the executed notebooks).
    strong_sig, min_group : int
        The evidence rule (:func:`scan_text`): a hit resting on ``strong_sig`` significant digits
        is reported alone; shorter ones when ``min_group`` of one KPI share a table column, a
        figure or a text.
    notebook_strong_sig : int
        ``strong_sig`` for the outputs of executed notebooks. They hold thousands of six-digit
        numbers (pandas shows six), and single six-digit coincidences with the ~2000 hidden
        values' forms do occur there (one in the bundled AMS 2024 public run, a correlation
        -0.149767 against a scaled 44.93/300); a leaked table still shows as a corroborated group.

    Returns
    -------
    DataFrame
        :data:`HIT_COLUMNS`, ``source`` relative to ``run_dir``; empty when nothing leaked.
    """
    allowed = ("tables", "figures", "paper", "notebooks")
    bad = [p for p in parts if p not in allowed]
    if bad:
        raise SpecError(f"parts: unknown {', '.join(map(repr, bad))}; allowed: {', '.join(allowed)}")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError("run folder not found", file=run_dir)
    needles = run_needles(run_dir) if needles is None else needles
    rule = {"strong_sig": strong_sig, "min_group": min_group}
    found: list[pd.DataFrame] = []
    if "tables" in parts and (run_dir / "tables").is_dir():
        for path in sorted((run_dir / "tables").glob("*.csv")):
            found.append(scan_table(path, needles, source=path.relative_to(run_dir).as_posix(), **rule))
    if "figures" in parts and (run_dir / "figures").is_dir():
        for path in sorted((run_dir / "figures").glob("*.values.csv")):
            values = [x for _, x in _numbers(_read_cells(path))]
            found.append(scan_values(values, needles, source=path.relative_to(run_dir).as_posix(), **rule))
    texts: list[tuple[str, Callable[[], str], dict[str, int]]] = []
    if "paper" in parts:
        for name in ("paper.html", "paper.htm"):
            p = run_dir / name
            if p.is_file():
                page = p.read_text(encoding="utf-8", errors="replace")
                texts.append((name, lambda page=page: html_text(page), rule))
                # embedded resources, decoded: PNG text chunks and any embedded file
                for i, (mime, text) in enumerate(embedded_resources(page), start=1):
                    if text.strip():
                        texts.append((f"{name}#data-{i}({mime})", lambda text=text: text, rule))
        if (run_dir / "paper.pdf").is_file():
            texts.append(("paper.pdf", lambda: pdf_text(run_dir / "paper.pdf"), rule))
        # paper.typ is left out: the typst source is layout (column widths in %), its text is paper.md's
        for name in ("paper.md", "paper.qmd"):
            p = run_dir / name
            if p.is_file():
                texts.append((name, lambda p=p: p.read_text(encoding="utf-8", errors="replace"), rule))
    from pmm_lib.reporting.bundle import internal_path

    nb_dir = internal_path(run_dir, "notebooks")  # _internal/notebooks of a sealed run
    if "notebooks" in parts and nb_dir.is_dir():
        for p in sorted(nb_dir.glob("*.ipynb")):
            texts.append((p.relative_to(run_dir).as_posix(), lambda p=p: notebook_text(p),
                          rule | {"strong_sig": notebook_strong_sig}))
    for rel, read, text_rule in texts:
        found.append(scan_text(read(), needles, source=rel, **text_rule))
    found = [f for f in found if not f.empty]
    return pd.concat(found, ignore_index=True) if found else _frame([])


def active_content(run_dir: str | Path) -> list[str]:
    """Script, event handlers, ``javascript:`` URLs and embedded non-image files in the run's HTML
    pages (:func:`pmm_lib.reporting.safety.html_problems`), one line each; empty when inert."""
    from pmm_lib.reporting.safety import html_problems

    run_dir = Path(run_dir)
    return [f"{p.name}: {problem}" for p in sorted(run_dir.glob("*.htm*")) if p.is_file()
            for problem in html_problems(p.read_text(encoding="utf-8", errors="replace"))]

