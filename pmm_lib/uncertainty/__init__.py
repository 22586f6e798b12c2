"""Uncertainty and sensitivity analysis: typed assumptions, the Monte Carlo engine, Sobol indices.

May import: pmm_lib.inputs, pmm_lib.core and the top-level helpers.
"""
