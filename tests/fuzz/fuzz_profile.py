"""Hypothesis settings for the fuzz tests: a fast deterministic default and a long "nightly" run.

The profile is chosen by ``SECUREMQ_FUZZ_PROFILE`` (unset or ``default``: the ``make test``
budget; ``nightly``: many more examples, still deterministic unless ``SECUREMQ_FUZZ_SEED`` says
otherwise). Tests never load a profile globally (other test packages use hypothesis too): they
ask ``fuzz_settings(n)`` for settings derived from the selected profile, with ``n`` examples in
the default run scaled up by the profile's factor.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_ENV = "SECUREMQ_FUZZ_PROFILE"
SEED_ENV = "SECUREMQ_FUZZ_SEED"

_COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
}

settings.register_profile("securemq-fuzz", **_COMMON)  # type: ignore[arg-type]
settings.register_profile("nightly", **_COMMON)  # type: ignore[arg-type]

# Example multipliers, and raw-socket inputs per mechanism, per profile.
_SCALE = {"securemq-fuzz": 1, "nightly": 50}
_RAW_INPUTS = {"securemq-fuzz": 30, "nightly": 1000}


def profile_name() -> str:
    """The selected profile ("securemq-fuzz" unless the environment asks for "nightly")."""
    wanted = os.environ.get(PROFILE_ENV, "").strip().lower()
    if wanted in ("", "default"):
        return "securemq-fuzz"
    if wanted not in _SCALE:
        raise ValueError(f"{PROFILE_ENV}={wanted!r}: expected 'default' or 'nightly'")
    return wanted


def fuzz_settings(examples: int) -> settings:
    """Settings for one property: ``examples`` in the default run, scaled for nightly."""
    name = profile_name()
    return settings(settings.get_profile(name), max_examples=examples * _SCALE[name])


def raw_inputs_per_mechanism() -> int:
    """How many seeded raw-socket inputs each live mechanism gets."""
    return _RAW_INPUTS[profile_name()]


def base_seed() -> int:
    """Seed of the raw-socket fuzzers (fixed unless ``SECUREMQ_FUZZ_SEED`` is set)."""
    return int(os.environ.get(SEED_ENV, "20200908"))


def live_timeout() -> int:
    """pytest-timeout seconds for one raw-socket fuzz test under the selected profile."""
    return 120 if profile_name() == "securemq-fuzz" else 3600
