"""The library's error types. User-facing errors carry where the problem is and what was expected.

The CLI prints any :class:`PmmError` as one clean message (no traceback) and exits with 2.
"""

from __future__ import annotations

__all__ = ["PmmError", "InputError", "SpecError", "RunError"]


class PmmError(Exception):
    """Base class of every error the workbench raises on purpose."""


class InputError(PmmError, ValueError):
    """Bad input data. The message names file, sheet, row, column and what was expected.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    file, sheet, row, column : optional
        Where. ``row`` is the 1-based row as a person sees it in Excel or a text editor.
    expected : str, optional
        What would have been accepted.
    """

    def __init__(self, message: str, *, file: object = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None, expected: str | None = None):
        self.file, self.sheet, self.row, self.column, self.expected = file, sheet, row, column, expected
        self.reason = message
        where = []
        if file is not None:
            where.append(f"file {file}")
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        text = (", ".join(where) + ": " if where else "") + message
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


class SpecError(PmmError, ValueError):
    """A method specification (Spec, scenario or uncertainty problem) is invalid; names the key."""


class RunError(PmmError, RuntimeError):
    """A run failed (a notebook raised, rendering failed, the disk is full...)."""
