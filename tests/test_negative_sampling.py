import math

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient
from bprop.layers.negative_sampling import NegativeSamplingLoss


def plain_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_negative_sampling_loss_hand_value_with_two_words():
    """With two words the negative of word 0 is always word 1: s_true = W[0] . h = 2 and
    s_neg = W[1] . h = -1, so L = -log sigmoid(2) - 3 * log(1 - sigmoid(-1)) for 3 negatives."""
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    layer = NegativeSamplingLoss(W, np.array([0, 1, 1, 0]), sample_size=3, rng=0)
    loss = layer.forward(np.array([[2.0, -1.0]]), np.array([0]))
    np.testing.assert_array_equal(layer.negative_sample, [[1, 1, 1]])
    expected = math.log(1 + math.exp(-2.0)) + 3 * math.log(1 + math.exp(-1.0))
    assert loss == pytest.approx(expected, rel=1e-12)


def test_negative_sampling_loss_is_the_batch_mean_of_the_summed_binary_losses():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((8, 3))
    layer = NegativeSamplingLoss(W, rng.integers(0, 8, size=50), sample_size=4, rng=1)
    h, target = rng.standard_normal((5, 3)), rng.integers(0, 8, size=5)
    loss = layer.forward(h, target)
    neg = layer.negative_sample
    s_true = np.sum(W[target] * h, axis=1)
    s_neg = np.einsum("nkh,nh->nk", W[neg], h)
    expected = np.mean(-np.log(plain_sigmoid(s_true)) - np.sum(np.log(1 - plain_sigmoid(s_neg)), axis=1))
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n, sample_size", [(1, 1), (4, 5), (6, 2)])
def test_negative_sampling_loss_backward_matches_numerical_with_a_fixed_sample(n, sample_size):
    """The sampler's state is restored before every evaluation, so the numerical gradient sees
    the negatives the analytic one used."""
    rng = np.random.default_rng(n)
    layer = NegativeSamplingLoss(rng.standard_normal((7, 4)), rng.integers(0, 7, size=60),
                                 sample_size=sample_size, rng=2)
    h, target = rng.standard_normal((n, 4)), rng.integers(0, 7, size=n)
    state = layer.state()
    layer.forward(h, target)
    dh = layer.backward()

    def f():
        layer.set_state(state)
        return layer.forward(h, target)

    numeric = {"h": numerical_gradient(f, h, 1e-6), "W": numerical_gradient(f, layer.W, 1e-6)}
    assert_gradients_close({"h": dh, "W": layer.dW}, numeric)


def test_negative_sampling_loss_backward_scales_with_dout():
    rng = np.random.default_rng(5)
    layer = NegativeSamplingLoss(rng.standard_normal((6, 3)), np.arange(6), rng=0)
    h, target = rng.standard_normal((3, 3)), np.array([0, 1, 2])
    layer.forward(h, target)
    dh1, dW1 = layer.backward(1.0), layer.dW.copy()
    dh3 = layer.backward(3.0)
    np.testing.assert_allclose(dh3, 3 * dh1)
    np.testing.assert_allclose(layer.dW, 3 * dW1)


def test_negative_sampling_loss_stays_finite_and_silent_for_huge_scores():
    W = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    layer = NegativeSamplingLoss(W, np.array([0, 1]), sample_size=2, rng=0)
    # row 0 is wrong by 1000 on the true word and on each of its 2 negatives, row 1 right by as much
    loss = layer.forward(np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([0, 0]))
    assert loss == pytest.approx(3 * 1000.0 / 2)
    dh = layer.backward()
    assert np.all(np.isfinite(dh)) and np.all(np.isfinite(layer.dW))


def test_negative_sampling_loss_references_W_and_float32_stays_float32():
    W = np.ones((4, 2), dtype=np.float32)
    layer = NegativeSamplingLoss(W, np.array([0, 1, 2, 3]), sample_size=2, rng=0)
    assert layer.W is W and layer.params()["W"] is W
    layer.forward(np.ones((2, 2), dtype=np.float32), np.array([0, 1]))
    assert layer.backward().dtype == np.float32 and layer.dW.dtype == np.float32


def test_negative_sampling_loss_repr():
    layer = NegativeSamplingLoss(np.zeros((5, 3)), np.arange(5), power=0.75, sample_size=4)
    assert repr(layer) == "NegativeSamplingLoss(5, 3, sample_size=4, power=0.75)"


def test_negative_sampling_loss_rejects_mismatched_h_and_target():
    layer = NegativeSamplingLoss(np.zeros((5, 3)), np.arange(5))
    with pytest.raises(ValueError, match=r"NegativeSamplingLoss\(5, 3, .*\): h must be \(N, H\) and target "
                                         r"\(N,\), got shapes \(2, 3\) and \(3,\)"):
        layer.forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"EmbeddingDot\(5, 3\): h must be a float array \(N, 3\)"):
        layer.forward(np.zeros((2, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"UnigramSampler\(vocab_size=5.*target id 7 is outside \[0, 5\)"):
        layer.forward(np.zeros((2, 3)), np.array([0, 7]))


@pytest.mark.parametrize("kwargs, message", [
    ({"sample_size": 0}, "NegativeSamplingLoss: sample_size must be an integer >= 1, got 0"),
    ({"power": -0.75}, "NegativeSamplingLoss: power must be a finite number > 0, got -0.75"),
    ({"corpus": np.array([0, 9])}, "UnigramSampler: vocab_size is 5, but the corpus holds id 9"),
    ({"W": np.zeros(5)}, r"EmbeddingDot: W must be 2-D \(vocab_size, dim\), got shape \(5,\)"),
])
def test_negative_sampling_loss_rejects_bad_arguments(kwargs, message):
    args = {"W": np.zeros((5, 3)), "corpus": np.arange(5)} | kwargs
    with pytest.raises(ValueError, match=message):
        NegativeSamplingLoss(**args)


def test_negative_sampling_loss_backward_before_forward_is_an_error():
    with pytest.raises(BackwardBeforeForwardError):
        NegativeSamplingLoss(np.zeros((5, 3)), np.arange(5)).backward()
