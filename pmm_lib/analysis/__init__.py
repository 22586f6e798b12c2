"""Analyses of built indices: data quality, indicator validity, trade-cost outcome validity.

May import: pmm_lib.inputs, pmm_lib.core and the top-level helpers.
"""
