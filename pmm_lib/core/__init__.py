"""The method core: Spec, the transformation stages, weights, the aggregation kernel and build().

May import: pmm_lib.inputs and the top-level helpers. Never imports analysis, uncertainty, reporting or workshop.
"""
