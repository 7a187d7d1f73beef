import math

import pytest

from textrnn import checks


def test_positive_int_accepts_and_refuses_with_keras_wording():
    assert checks.positive_int("units", 3) == 3
    for bad in (0, -1, 1.5, True, "2", None):
        with pytest.raises(ValueError, match=r"argument `units`, expected a positive integer, got"):
            checks.positive_int("units", bad)


def test_ranges_and_choices():
    assert checks.non_negative_int("seed", 0) == 0
    with pytest.raises(ValueError, match="non-negative"):
        checks.non_negative_int("seed", -1)
    assert checks.int_at_least("n", 4, 4) == 4
    with pytest.raises(ValueError, match="at least 4"):
        checks.int_at_least("n", 3, 4)
    assert checks.optional_positive_int("maxlen", None) is None
    assert checks.rate("dropout", 0) == 0.0
    for bad in (1.0, -0.1, math.nan, False):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            checks.rate("dropout", bad)
    assert checks.number_in("m", 0.5, 0, 1, low_open=True) == 0.5
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        checks.number_in("m", 0, 0, 1, low_open=True)
    with pytest.raises(ValueError, match="positive number"):
        checks.positive_number("lr", math.inf)
    assert checks.choice("mode", "min", ("min", "max")) == "min"
    with pytest.raises(ValueError, match="one of 'min', 'max', got 'x'. Pass --mode min."):
        checks.choice("mode", "x", ("min", "max"), fix="Pass --mode min.")


def test_boolean_and_string_are_type_errors():
    assert checks.boolean("flag", False) is False
    with pytest.raises(TypeError, match="True or False"):
        checks.boolean("flag", 1)
    with pytest.raises(TypeError, match="a string"):
        checks.string("name", 3)
    with pytest.raises(ValueError, match="non-empty"):
        checks.string("name", "")
