"""Runs, papers and audiences: the run folder, the paper renderer, disclosure control and the scan.

May import: inputs, core, analysis, uncertainty and the top-level helpers.
"""
