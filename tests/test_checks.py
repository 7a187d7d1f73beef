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


def test_numpy_integers_are_integers_but_booleans_are_not():
    import numpy as np

    assert checks.positive_int("units", np.int64(3)) == 3
    assert type(checks.non_negative_int("seed", np.int32(0))) is int
    for bad in (True, np.bool_(True), np.float64(2.0)):
        with pytest.raises(ValueError, match="a positive integer"):
            checks.positive_int("units", bad)


def test_optional_non_negative_int():
    assert checks.optional_non_negative_int("oov_char", None) is None
    assert checks.optional_non_negative_int("oov_char", 0) == 0
    for bad in (-1, 1.0, False, "2"):
        match = r"`oov_char`, expected None or a non-negative integer, got"
        with pytest.raises(ValueError, match=match):
            checks.optional_non_negative_int("oov_char", bad)


def test_finite_and_optional_numbers():
    assert checks.finite_number("min_delta", -0.5) == -0.5
    for bad in (math.inf, math.nan, True, "0", None):
        with pytest.raises(ValueError, match=r"`min_delta`, expected a finite number, got"):
            checks.finite_number("min_delta", bad)
    assert checks.optional_number("baseline", None) is None
    assert checks.optional_number("baseline", 2) == 2.0
    assert checks.optional_number("baseline", -math.inf) == -math.inf
    for bad in (math.nan, True, "0.5"):
        with pytest.raises(ValueError, match=r"`baseline`, expected None or a number, got"):
            checks.optional_number("baseline", bad)


def test_path_is_a_type_check(tmp_path):
    assert checks.path("filename", "log.csv") == "log.csv"
    assert checks.path("filename", tmp_path) == tmp_path
    for bad in ("", 3, None, ["a"]):
        with pytest.raises(TypeError, match=r"`filename`, expected a path, got"):
            checks.path("filename", bad)


def test_invalid_can_describe_the_value_instead_of_printing_it():
    err = checks.invalid("value", "numbers", ["x"] * 1000, error=TypeError, got="list of strings")
    assert isinstance(err, TypeError)
    expected = "Received an invalid value for argument `value`, expected numbers, got list of strings."
    assert str(err) == expected
