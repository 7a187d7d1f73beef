import textrnn


def test_version():
    assert textrnn.__version__.count(".") == 2
