"""The library's error types and the exit codes of the ``pmm`` command.

User-facing errors carry where the problem is and what was expected. The CLI prints any
:class:`PmmError` as one clean message (no traceback) and exits with the error's
``exit_code``; an ``OSError`` (disk full, permission denied) exits with :data:`EXIT_STORAGE`.
One code per failure class (:data:`EXIT_CODES`, printed by ``pmm run --help``):

>>> exit_code_for(OSError(28, "No space left on device"))
1
>>> exit_code_for(SpecError("bad option")), exit_code_for(RunError("notebook raised"))
(2, 3)
"""

from __future__ import annotations

import errno as _errno
import re as _re
import signal as _signal

__all__ = ["EXIT_CODES", "EXIT_CODES_HELP", "EXIT_INTEGRITY", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_RUN",
           "EXIT_STORAGE", "EXIT_TOOL", "EXIT_USAGE", "InputError", "IntegrityError", "PmmError", "RunError",
           "SpecError", "ToolError", "exit_code_for", "is_storage_failure"]

EXIT_OK = 0
EXIT_STORAGE = 1
EXIT_USAGE = 2
EXIT_RUN = 3
EXIT_TOOL = 4
EXIT_INTEGRITY = 5
EXIT_INTERRUPTED = 130

#: exit code -> failure class (docs/RUNS.md and ``pmm run --help`` print this table)
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_STORAGE: "storage: the file system refused (disk full, quota, file-size limit, permission denied, "
                  "read-only); the message names the path",
    EXIT_USAGE: "usage or invalid input: a bad option, questionnaire, scenario or spec, an unknown notebook, "
                "not a run folder",
    EXIT_RUN: "a run failed: a notebook raised, its kernel died or timed out, the paper could not be written",
    EXIT_TOOL: "an external tool failed (pandoc, typst, quarto); the message names the tool and the reason",
    EXIT_INTEGRITY: "refused: pmm rerun found notebooks that are not the project's own at the recorded commit",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
EXIT_CODES_HELP = "exit codes:\n" + "\n".join(f"  {code:<4d}{text}" for code, text in EXIT_CODES.items())

#: errno values that mean "the storage refused", whatever the operation
_STORAGE_ERRNOS = {_errno.ENOSPC, _errno.EDQUOT, _errno.EFBIG, _errno.EACCES, _errno.EPERM, _errno.EROFS}
_STORAGE_TEXT = _re.compile(r"No space left on device|Disk quota exceeded|File too large|"
                            r"file size limit exceeded|Read-only file system|Permission denied|"
                            r"\[Errno (?:28|122|27|13|1|30)\]", _re.IGNORECASE)


class PmmError(Exception):
    """Base class of every error the workbench raises on purpose.

    ``exit_code`` (class default, or the ``exit_code`` keyword) is what ``pmm`` exits with.
    """

    exit_code: int = EXIT_USAGE

    def __init__(self, *args: object, exit_code: int | None = None) -> None:
        super().__init__(*args)
        if exit_code is not None:
            self.exit_code = exit_code


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
    """A run failed (a notebook raised, its kernel died, rendering failed...)."""

    exit_code = EXIT_RUN


class IntegrityError(RunError):
    """Refused: the code a run would execute is not the project's own (hash or commit mismatch)."""

    exit_code = EXIT_INTEGRITY


class ToolError(RunError):
    """An external tool (pandoc, typst, quarto) failed; the message says why.

    Use :meth:`from_process`: a negative return code (killed by a signal) is named with the
    signal and its meaning (``SIGXFSZ``: file size limit exceeded), and a failure caused by
    storage (that signal, or "No space left on device" on its stderr) gets :data:`EXIT_STORAGE`.

    >>> err = ToolError.from_process("pandoc (HTML)", -25, "", "/tmp/run")
    >>> str(err).split(" in ")[0], err.exit_code
    ('pandoc (HTML) failed: killed by signal SIGXFSZ (file size limit exceeded)', 1)
    """

    exit_code = EXIT_TOOL

    def __init__(self, message: str, *, tool: str = "", returncode: int | None = None, reason: str = "",
                 exit_code: int | None = None) -> None:
        super().__init__(message, exit_code=exit_code)
        self.tool, self.returncode, self.reason = tool, returncode, reason

    @classmethod
    def from_process(cls, tool: str, returncode: int, stderr: str | None, cwd: object = None) -> ToolError:
        """The error for a finished process that returned ``returncode``."""
        tail = (stderr or "").strip()[-2000:]
        storage = False
        if returncode < 0:
            try:
                sig = _signal.Signals(-returncode)
                meaning = (_signal.strsignal(sig) or "").lower()
                reason = f"killed by signal {sig.name}" + (f" ({meaning})" if meaning else "")
                storage = sig == getattr(_signal, "SIGXFSZ", None)
            except ValueError:
                reason = f"killed by signal {-returncode}"
        elif returncode == 127:
            reason = "exit 127 (command not found)"
        elif returncode == 126:
            reason = "exit 126 (not executable)"
        else:
            reason = f"exit {returncode}"
        storage = storage or bool(_STORAGE_TEXT.search(tail))
        message = f"{tool} failed: {reason}" + (f" in {cwd}" if cwd is not None else "")
        message += f": {tail}" if tail else " (no message on stderr)"
        return cls(message, tool=tool, returncode=returncode, reason=reason,
                   exit_code=EXIT_STORAGE if storage else None)


def is_storage_failure(exc: BaseException | str) -> bool:
    """True when an exception (or an error text) says the storage refused (disk full, limit, permission)."""
    if isinstance(exc, OSError):
        return exc.errno in _STORAGE_ERRNOS or bool(_STORAGE_TEXT.search(str(exc)))
    return bool(_STORAGE_TEXT.search(str(exc)))


def exit_code_for(exc: BaseException) -> int:
    """The ``pmm`` exit code for an exception (see :data:`EXIT_CODES`)."""
    if isinstance(exc, PmmError):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, OSError):
        return EXIT_STORAGE
    return EXIT_RUN
