"""Hypothesis settings for the fuzz tests: few examples by default, more with TEXTRNN_FUZZ_EXAMPLES."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "textrnn",
    max_examples=int(os.environ.get("TEXTRNN_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("TEXTRNN_FUZZ_RANDOM") != "1",
)
settings.load_profile("textrnn")
