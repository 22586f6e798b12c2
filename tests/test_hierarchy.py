"""Tests of pmm_lib.core.hierarchy: the compiled tree and every degenerate hierarchy refused by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmm_lib.core.build import build
from pmm_lib.core.hierarchy import compile_hierarchy
from pmm_lib.errors import InputError, SpecError


def _meta(**changes) -> pd.DataFrame:
    m = pd.DataFrame({"code": ["a", "b", "c", "X", "Y", "I"], "level": [1, 1, 1, 2, 2, 3],
                      "parent": ["X", "X", "Y", "I", "I", None], "direction": 1, "weight": 1.0})
    for col, values in changes.items():
        m[col] = values
    return m


def test_compiled_structure_by_hand():
    h = compile_hierarchy(_meta())
    assert h.codes == ("a", "b", "c", "X", "Y", "I") and h.top == "I" and h.n_levels == 3
    assert h.below_top == ("a", "b", "c", "X", "Y") and h.leaves == ("a", "b", "c")
    assert h.children == {"X": ("a", "b"), "Y": ("c",), "I": ("X", "Y")}
    np.testing.assert_array_equal(h.incidence[2], [[1, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(h.incidence[3], [[1, 1]])
    assert h.parent_index[1].tolist() == [0, 0, 1] and h.parent_index[2].tolist() == [0, 0]
    assert [g.tolist() for g in h.groups[2]] == [[0, 1], [2]]
    assert h.level_of("X") == 2 and h.index_in_level("Y") == 1 and h.siblings("a") == ("a", "b")
    with pytest.raises(SpecError, match="unknown code 'zz'"):
        h.position("zz")


def test_table_order_does_not_matter_and_compiling_is_cached():
    m = _meta()
    shuffled = m.iloc[[5, 2, 3, 0, 4, 1]]
    assert compile_hierarchy(shuffled).codes == ("c", "a", "b", "X", "Y", "I")
    assert compile_hierarchy(m) is compile_hierarchy(m.copy())  # same triples: the cached object


@pytest.mark.parametrize(("meta", "error", "pattern"), [
    (_meta(parent=["X", "X", "Y", "I", "I", "X"]), SpecError, "the top node 'I' .* has parent 'X'"),
    (_meta(level=[1, 1, 1, 2, 3, 3], parent=["X", "X", "Y", "I", None, None]), SpecError,
     r"2 nodes at the top level 3 \(Y, I\)"),
    (_meta(parent=["X", "X", "Q", "I", "I", None]), SpecError, "code 'c' .* parent 'Q'.*orphan"),
    (_meta(parent=["X", "X", None, "I", "I", None]), SpecError, "code 'c' .* parent None.*orphan"),
    (_meta(parent=["X", "X", "Y", "Y", "X", None]), SpecError, "cycle: X -> Y -> X"),
    (_meta(parent=["X", "X", "I", "I", "I", None]), SpecError, "code 'c' is level 1 but its parent 'I' is level 3"),
    (_meta(code=["a", "a", "c", "X", "Y", "I"]), SpecError, "duplicated code.*a"),
    (_meta(level=[1, 1, 1.5, 2, 2, 3]), InputError, "level"),
    (_meta().drop(columns="parent"), InputError, r"missing column\(s\) \['parent'\]"),
    (pd.DataFrame({"code": ["a", "X", "Y", "I"], "level": [1, 2, 2, 3], "parent": ["X", "I", "I", None],
                   "direction": 1, "weight": 1.0}), SpecError, "without children: Y"),
    (pd.DataFrame({"code": ["a"], "level": [1], "parent": [None], "direction": 1, "weight": 1.0}), SpecError,
     "at least one aggregate"),
])
def test_degenerate_hierarchies_are_refused_by_name(meta, error, pattern):
    with pytest.raises(error, match=pattern):
        compile_hierarchy(meta)
    data = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0], "c": [3.0, 1.0]})
    with pytest.raises((SpecError, InputError)):  # build() refuses the same tables (issue 12)
        build(data, meta)


def test_without_removes_an_indicator_that_has_a_sibling():
    h = compile_hierarchy(_meta())
    assert h.without("a").children["X"] == ("b",)
    with pytest.raises(SpecError, match="leave 'Y' without children"):
        h.without("c")
    with pytest.raises(SpecError, match="only an indicator"):
        h.without("X")


@pytest.mark.parametrize("value", [1e308, -1e200, 5e150])
def test_extreme_magnitudes_are_a_clear_error_never_inf(value):
    data = pd.DataFrame({"a": [1.0, value, 2.0], "b": [2.0, 1.0, 3.0], "c": [3.0, 1.0, 2.0]},
                        index=["P", "Q", "R"])
    with pytest.raises(InputError, match=r"column 'a'.*unit 'Q' is too large"):
        build(data, _meta())
    ok = build(data.assign(a=[1.0, 1e140, 2.0]), _meta())  # large but representable: finite scores
    assert np.isfinite(ok.aggregated.to_numpy()).all()
