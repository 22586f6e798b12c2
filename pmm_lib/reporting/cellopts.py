"""Cell options (``#| label: fig-…``, ``#| fig-cap: …``): a figure's label and caption stated once.

A notebook's figure cell names its figure the way Quarto manuscripts expect::

    #| label: fig-coverage-kpi
    #| fig-cap: Share of the {matrix.shape[0]} Members of {run.place} reporting each KPI in {cycle}
    ax = pq.plot_coverage_kpi(cov_kpi)
    report.save_figure(ax.figure, out_dir=out_dir, audience=audience)

and :func:`pmm_lib.reporting.report.save_figure`, called without a label or caption, takes them
from the options of the cell being executed (:func:`figure_options`). The caption may hold
``str.format`` fields (``{cycle}``, ``{run.place}``, ``{r[estimate]:.2f}``) filled from the
notebook's variables, so a caption states its n and scope without a second copy in the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pmm_lib.errors import SpecError

__all__ = ["current_cell", "figure_options", "format_caption", "parse_cell_options"]

_OPTION = re.compile(r"^#\|\s*([A-Za-z][\w-]*)\s*:\s*(.*?)\s*$")


def parse_cell_options(source: str) -> dict[str, str]:
    """The ``#| key: value`` options at the top of a cell's source (values as text, quotes removed).

    Parsing stops at the first line that is not an option; blank lines before it are skipped.

    >>> parse_cell_options('#| label: fig-a\\n#| fig-cap: "Share: of all"\\nplot()\\n#| label: no')
    {'label': 'fig-a', 'fig-cap': 'Share: of all'}
    """
    options: dict[str, str] = {}
    for line in source.splitlines():
        if not line.strip() and not options:
            continue
        match = _OPTION.match(line.strip())
        if match is None:
            break
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        options[match.group(1)] = value
    return options


def current_cell() -> tuple[str, Mapping[str, Any]]:
    """Source and namespace of the notebook cell being executed (IPython kernel).

    Raises
    ------
    SpecError
        Outside a running IPython cell (then pass the label and caption explicitly).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        get_ipython = None
    shell = get_ipython() if get_ipython is not None else None
    if shell is None:
        raise SpecError("no notebook cell is running: pass the figure's label and caption explicitly")
    source = ""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:  # the execute request being served: exactly the cell's source
        try:
            source = kernel.get_parent().get("content", {}).get("code", "")
        except Exception:  # older ipykernel: fall back on the input history
            source = ""
    if not source:
        history = shell.user_ns.get("In") or [""]
        source = history[-1]
    return source, shell.user_ns


def format_caption(caption: str, namespace: Mapping[str, Any], *, label: str = "") -> str:
    """Fill the ``{…}`` fields of a caption from ``namespace`` (``str.format_map``).

    >>> format_caption("{n} Members of {run[place]} in {cycle}", {"n": 3, "run": {"place": "AMS"}, "cycle": 2024})
    '3 Members of AMS in 2024'
    >>> format_caption("{missing}", {}, label="fig-x")
    Traceback (most recent call last):
    ...
    pmm_lib.errors.SpecError: fig-cap of fig-x: {missing} names no notebook variable (caption '{missing}')
    """
    try:
        return caption.format_map(namespace)
    except KeyError as exc:
        raise SpecError(f"fig-cap of {label or 'the figure'}: {{{exc.args[0]}}} names no notebook "
                        f"variable (caption {caption!r})") from None
    except (AttributeError, IndexError, ValueError, TypeError) as exc:
        raise SpecError(f"fig-cap of {label or 'the figure'}: cannot fill {caption!r} from the notebook's "
                        f"variables ({type(exc).__name__}: {exc})") from None


def figure_options(label: str | None = None, caption: str | None = None, *,
                   source: str | None = None, namespace: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Label and caption of a figure: the given ones, else the running cell's ``#| label``/``#| fig-cap``.

    Parameters
    ----------
    label, caption : str, optional
        Given explicitly (a caption given here is used as it is).
    source, namespace : optional
        The cell's source and variables; default: the cell being executed (:func:`current_cell`).

    Returns
    -------
    (label, caption)

    Raises
    ------
    SpecError
        The cell has no ``#| label`` / ``#| fig-cap`` option, or a caption field names no variable.

    Examples
    --------
    >>> figure_options(source="#| label: fig-a\\n#| fig-cap: {n} Members\\nplot()", namespace={"n": 5})
    ('fig-a', '5 Members')
    """
    if label is not None and caption is not None:
        return label, caption
    if source is None:
        source, found = current_cell()
        namespace = found if namespace is None else namespace
    options = parse_cell_options(source)
    label = label if label is not None else options.get("label")
    if not label:
        raise SpecError("the figure cell has no '#| label: fig-…' option (or pass label=)")
    if caption is None:
        template = options.get("fig-cap")
        if not template:
            raise SpecError(f"the cell of {label} has no '#| fig-cap: …' option (or pass caption=)")
        caption = format_caption(template, namespace if namespace is not None else {}, label=label)
    return label, caption
