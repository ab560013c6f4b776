import math

import numpy as np
import pytest

from bprop.networks.flat_params import FlatParams
from bprop.optim import clip_grads


def test_clip_grads_scales_every_array_by_one_factor_in_place():
    a, b = np.array([3.0, 0.0]), np.array([[4.0]])
    grads = {"W1": a, "b1": b}
    norm = clip_grads(grads, 1.0)
    assert norm == 5.0
    rate = 1.0 / (5.0 + 1e-6)
    assert grads["W1"] is a and grads["b1"] is b
    np.testing.assert_allclose(a, [3.0 * rate, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b, [[4.0 * rate]], rtol=1e-15)
    assert math.sqrt(float(a @ a + b[0, 0] ** 2)) < 1.0


def test_clip_grads_leaves_a_small_gradient_alone():
    g = [np.array([0.3, 0.4])]
    assert clip_grads(g, 1.0) == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(g[0], [0.3, 0.4])


def test_clip_grads_on_a_flat_buffer_clips_all_views_together():
    grads = FlatParams.allocate({"W1": (2, 2), "b1": (3,)}, np.float32)
    grads["W1"][...] = 2.0
    grads["b1"][...] = [1.0, 2.0, 2.0]
    norm = clip_grads(grads, 1.5)
    assert norm == pytest.approx(5.0)
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    assert total == pytest.approx(1.5, rel=1e-5)
    assert grads["W1"].dtype == np.float32
    assert np.shares_memory(grads["W1"], grads.flat)


def test_clip_grads_returns_a_non_finite_norm_and_leaves_the_gradients():
    g = {"W": np.array([np.inf, 1.0])}
    assert clip_grads(g, 1.0) == math.inf
    np.testing.assert_array_equal(g["W"], [np.inf, 1.0])


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_clip_grads_rejects_bad_max_norm(bad):
    with pytest.raises(ValueError, match="clip_grads: invalid max_norm="):
        clip_grads({"W": np.ones(2)}, bad)
