"""The target's rules (hw_sim/spec.py) against Lava's own code and plain integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.hw_sim import spec
import spikinghash.hw_sim.backends.lava  # noqa: F401  (Lava's import fix, for its weightutils)


@pytest.mark.parametrize("bits", [8, 7, 5, 3])
@pytest.mark.parametrize("low, high", [(-400, 400), (0, 300), (-300, 1), (-5, 5)])
def test_effective_weights_equal_lavas_clip_and_truncate(low: int, high: int, bits: int) -> None:
    from lava.utils.weightutils import clip_weights, determine_sign_mode, truncate_weights

    w = np.random.default_rng(abs(low) + high + bits).integers(low, high, (6, 7))
    mode = determine_sign_mode(w)
    lava = truncate_weights(clip_weights(w, mode, num_bits=8), mode, num_weight_bits=bits)
    np.testing.assert_array_equal(spec.effective_weights(w, bits), lava)
    assert spec.sign_mode(w) == mode.name.lower()


@pytest.mark.parametrize("mode", spec.SIGN_MODES)
def test_weight_range_is_what_lava_keeps_unchanged(mode: str) -> None:
    lo, hi = spec.weight_range(mode)
    values = np.arange(lo, hi + 1, spec.weight_step(mode))
    if mode == "mixed":  # a mixed matrix holds both signs
        assert values.min() < 0 < values.max()
    np.testing.assert_array_equal(spec.effective_weights(values), values)
    outside = np.array([lo - 1, hi + 1]) if mode != "mixed" else np.array([lo - 2, hi + 2, hi - 1])
    assert not np.array_equal(spec.effective_weights(np.append(values, outside)), np.append(values, outside))


def test_wrap_is_twos_complement_int32_overflow() -> None:
    x = np.array([2**31, -(2**31) - 1, 2**32 + 5, -5, 123], dtype=np.int64)
    np.testing.assert_array_equal(spec.wrap(x, 32), x.astype(np.uint32).view(np.int32))  # numpy's own wrap
    assert spec.wrap(2**23, 24) == -(2**23) and spec.wrap(2**23 - 1, 24) == 2**23 - 1


@pytest.mark.parametrize("x, factor", [(1000, 2048), (-1000, 2048), (-1, 4095), (7, 1), (2**23 - 1, 4095)])
def test_decay_truncates_toward_zero(x: int, factor: int) -> None:
    exact = x * factor / 4096
    assert spec.decay(x, factor) == int(exact)  # int() truncates toward zero, as Lava's sign(p)·(|p| >> 12)


def test_widths_by_hand() -> None:
    assert (spec.UV_MAX, spec.DECAY_UNIT, spec.VTH_MAX) == (2**23, 4096, 131071)
    assert (spec.BIAS_MANT_MIN, spec.BIAS_MANT_MAX, spec.BIAS_EXP_MAX) == (-4096, 4095, 7)
    assert spec.MAX_DELAY == 63 and spec.CONV_WRAP == 2**23
    assert spec.describe()["state_bits"] == 24
