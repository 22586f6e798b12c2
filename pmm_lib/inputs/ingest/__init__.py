"""Questionnaire template and ingest: from Members' returns to validated, processed Parquet.

This package owns the Excel questionnaire generated from the framework (``pmm template``), the
reading and validation of filled questionnaires and tidy CSV returns (``pmm ingest``), and the
atomic writing of ``data/processed/`` with its ``manifest.json``. Its modules, in data-flow order:

* :mod:`~pmm_lib.inputs.ingest.catalogue` - the questionnaire's words in English, French, Spanish;
* :mod:`~pmm_lib.inputs.ingest.questionnaire` - the template writer (layout in its docstring);
* :mod:`~pmm_lib.inputs.ingest.readers` - finding files, size and type guards, workbook and CSV readers;
* :mod:`~pmm_lib.inputs.ingest.parse` - what one cell means (digits, separators, percentages);
* :mod:`~pmm_lib.inputs.ingest.validate` - the checks against the framework, one concern each;
* :mod:`~pmm_lib.inputs.ingest.returns` - :func:`read_returns`, :func:`validate_returns`;
* :mod:`~pmm_lib.inputs.ingest.publish` - :func:`ingest`, :func:`ensure_processed`, the atomic switch.

The commands ``pmm template`` and ``pmm ingest`` are thin handlers in :mod:`pmm_lib.cli`.

Tidy CSV returns
----------------
UTF-8 text with the header ``member, cycle, kpi, value, disclosure`` (required) and ``source,
flag, status, data_source, validation, comment, unit`` (optional), one row per value; rows are
numbered as in a text editor (header = row 1, blank lines counted, CR-only line endings read as
line breaks). A file that is not valid UTF-8 is decoded as Windows-1252 with a warning. A file
larger than ``IngestOptions.max_bytes`` (64 MiB) or with more than ``max_rows`` (200,000) data
rows is rejected before parsing.

Rules (what is fixed with a warning, what is rejected)
------------------------------------------------------
Cell rules (digits, separators, percentages, counts, "n/a"): :mod:`~pmm_lib.inputs.ingest.parse`.
Fixed with a warning in the manifest and a code in ``flag``: ``12%`` in a % KPI, a
percentage-formatted cell, unambiguous thousands and decimal separators, non-ASCII digits, a
number typed as text, a formula's stored result, case and spaces in codes, ``wco-only`` ->
``wco``, exact duplicate rows. A value without a disclosure choice is stored as ``restricted``
with ``disclosure_chosen = False`` and a warning (``IngestOptions.blank_disclosure="error"``
rejects it instead): a Member's privacy choice is never guessed.

Rejected with file, sheet, row, column and what was expected: a questionnaire of another
framework version or with a unit that is not the framework's; two sheets with the same
identity (a copied, hidden sheet); two columns with the same header; ambiguous cells (both
readings named); text that is not a number; a % sign or percentage format in a KPI that is
not a percentage; non-whole counts; values outside the plausible range; a return whose
percentage KPIs all lie in 0-1; a mandatory KPI left empty without a reason; unknown codes;
conflicting values; missing or non-integer cycles; merged cells; formulas without a result;
files that are not what their extension says (an image, a Word document, an encrypted
workbook, an old ``.xls``), too large, or inflating beyond ``max_inflated_bytes``; and in a
folder, spreadsheets saved as ``.xls``/``.ods``, named one by one.

References
----------
* Shafranovich, Y. (2005). Common Format and MIME Type for Comma-Separated Values (CSV) Files.
  RFC 4180. https://doi.org/10.17487/RFC4180
* ECMA-376, Office Open XML File Formats, Part 1 (5th ed., 2016): the ``.xlsx`` container
  (a zip holding ``xl/workbook.xml``), cached formula values (``<v>``) and merged cells.
* [MS-OFFCRYPTO]: an encrypted OOXML file is a compound file with ``EncryptionInfo`` and
  ``EncryptedPackage`` streams.
* Bantilan, N. (2020). pandera: Statistical Data Validation of Pandas Dataframes. Proceedings of
  the 19th Python in Science Conference, 116-124. https://doi.org/10.25080/Majora-342d178e-010

Examples
--------
>>> from pmm_lib.inputs.ingest import read_returns
>>> res = read_returns()  # doctest: +SKIP
>>> res.observations.columns.tolist()[:7]  # doctest: +SKIP
['member', 'cycle', 'kpi', 'value', 'disclosure', 'source', 'flag']
"""

from __future__ import annotations

from pmm_lib.inputs.ingest.catalogue import COLUMNS, LANGUAGES
from pmm_lib.inputs.ingest.model import IngestOptions, IngestResult, Issue
from pmm_lib.inputs.ingest.publish import AUDIENCES, ensure_processed, ingest
from pmm_lib.inputs.ingest.questionnaire import HEADER_ROW, RESPONDENT_ROWS, write_template
from pmm_lib.inputs.ingest.returns import (
    RESPONDENT_COLUMNS,
    file_sha256,
    known_members,
    read_returns,
    validate_returns,
)
from pmm_lib.inputs.ingest.validate import EXTRA_COLUMNS, NON_RESPONSE_COLUMNS

#: Dimension sheet header (row :data:`HEADER_ROW`) of the English template.
DIMENSION_COLUMNS: tuple[str, ...] = tuple(v["en"] for v in COLUMNS.values())

__all__ = [
    "AUDIENCES",
    "DIMENSION_COLUMNS",
    "EXTRA_COLUMNS",
    "HEADER_ROW",
    "LANGUAGES",
    "NON_RESPONSE_COLUMNS",
    "RESPONDENT_COLUMNS",
    "RESPONDENT_ROWS",
    "IngestOptions",
    "IngestResult",
    "Issue",
    "ensure_processed",
    "file_sha256",
    "ingest",
    "known_members",
    "read_returns",
    "validate_returns",
    "write_template",
]
