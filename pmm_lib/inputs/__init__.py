"""Inputs: the framework, questionnaire ingest, the data tables and the synthetic returns.

May import: pmm_lib.errors, io, paths, seed (and each other). Never imports core, analysis, uncertainty, reporting or workshop.
"""
