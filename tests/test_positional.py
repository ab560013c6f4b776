"""PositionalEmbedding (learnt) and SinusoidalPositionalEncoding (fixed): values, gradients,
the offset of a continued sequence, sequences longer than the context."""

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.layers.positional import PositionalEmbedding, SinusoidalPositionalEncoding, sinusoid_table


def test_positional_embedding_adds_row_t_to_position_t():
    layer = PositionalEmbedding(4, 2)
    layer.P[...] = [[0.0, 1.0], [10.0, 11.0], [20.0, 21.0], [30.0, 31.0]]
    x = np.ones((2, 3, 2))
    y = layer.forward(x)
    np.testing.assert_array_equal(y[1], [[1.0, 2.0], [11.0, 12.0], [21.0, 22.0]])
    np.testing.assert_array_equal(layer.forward(x[:, :2], start=2)[0], [[21.0, 22.0], [31.0, 32.0]])


def test_positional_embedding_gradient_is_the_batch_sum_at_the_positions_read():
    layer = PositionalEmbedding(5, 2)
    layer.forward(np.zeros((2, 2, 2)), start=1)
    dout = np.arange(8.0).reshape(2, 2, 2)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, dout)
    assert dx is not dout
    np.testing.assert_array_equal(layer.dP, [[0, 0], [4, 6], [8, 10], [0, 0], [0, 0]])


@pytest.mark.parametrize("n, t, start", [(1, 1, 0), (3, 4, 0), (2, 3, 2)])
def test_positional_embedding_backward_matches_numerical(n, t, start):
    rng = np.random.default_rng(10 * t + start)

    class Offset(PositionalEmbedding):  # the gradient check calls forward(x, train)
        def forward(self, x, train=True):
            return super().forward(x, train, start=start)

    layer = Offset(6, 3, rng=rng)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((n, t, 3)), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_sinusoid_table_follows_vaswanis_formula():
    table = sinusoid_table(50, 6)
    t = np.arange(50)[:, None]
    for i in range(3):
        freq = 1.0 / 10000 ** (2 * i / 6)
        np.testing.assert_allclose(table[:, 2 * i], np.sin(t[:, 0] * freq), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(table[:, 2 * i + 1], np.cos(t[:, 0] * freq), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(table[0], [0, 1, 0, 1, 0, 1])
    odd = sinusoid_table(3, 5)
    np.testing.assert_allclose(odd[2, 4], np.sin(2 / 10000 ** (4 / 5)), rtol=1e-14)


def test_sinusoidal_encoding_adds_the_table_and_passes_the_gradient_through():
    layer = SinusoidalPositionalEncoding(8, 4)
    assert layer.param_names == () and layer.params() == {}
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    np.testing.assert_array_equal(layer.forward(x), x + sinusoid_table(8, 4)[:5])
    np.testing.assert_array_equal(layer.forward(x, start=3), x + sinusoid_table(8, 4)[3:8])
    dout = np.ones((2, 5, 4))
    np.testing.assert_array_equal(layer.backward(dout), dout)
    analytic, numeric = check_layer_gradient(layer, x, rng=0)
    assert_gradients_close(analytic, numeric)


def test_sinusoidal_encoding_float32_stays_float32():
    layer = SinusoidalPositionalEncoding(8, 4, dtype=np.float32)
    assert layer.forward(np.zeros((1, 2, 4), np.float32)).dtype == np.float32


@pytest.mark.parametrize("cls", [PositionalEmbedding, SinusoidalPositionalEncoding])
def test_a_sequence_longer_than_max_len_is_refused(cls):
    layer = cls(4, 2)
    with pytest.raises(ValueError, match=rf"{cls.__name__}\(4, 2\): positions 0 to 4 do not fit max_len=4 "
                                         r"\(a sequence of 5 is longer than the model's context\)"):
        layer.forward(np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="positions 3 to 4 do not fit max_len=4"):
        layer.forward(np.zeros((1, 2, 2)), start=3)
    with pytest.raises(ValueError, match=r"expects \(T, 2\) per sample with T <= 4, got input shape \(5, 2\)"):
        layer.output_shape((5, 2))


@pytest.mark.parametrize("cls", [PositionalEmbedding, SinusoidalPositionalEncoding])
@pytest.mark.parametrize("shape", [(3, 2), (1, 2, 3), (0, 2, 2), (1, 2, 2, 2)])
def test_positions_refuse_inputs_of_the_wrong_shape(cls, shape):
    with pytest.raises(ValueError, match=r"input must be a non-empty batch of sequences \(N, T, 2\), got shape"):
        cls(4, 2).forward(np.zeros(shape))


@pytest.mark.parametrize("cls", [PositionalEmbedding, SinusoidalPositionalEncoding])
def test_positions_refuse_bad_sizes_and_starts(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: max_len must be an integer >= 1, got 0"):
        cls(0, 2)
    with pytest.raises(ValueError, match=f"{cls.__name__}: dim must be an integer >= 1, got 2.0"):
        cls(4, 2.0)
    with pytest.raises(ValueError, match=f"{cls.__name__}: start must be an integer >= 0, got -1"):
        cls(4, 2).forward(np.zeros((1, 1, 2)), start=-1)
    with pytest.raises(BackwardBeforeForwardError):
        cls(4, 2).backward(np.zeros((1, 1, 2)))


def test_positional_embedding_init_repr_and_reset():
    layer = PositionalEmbedding(1000, 50, rng=0)
    assert repr(layer) == "PositionalEmbedding(1000, 50)"
    assert abs(layer.P.std() - 1.0) < 0.02  # 'xavier' with a fan-in of 1: N(0, 1), as nn.Embedding
    assert abs(PositionalEmbedding(1000, 50, init=0.02, rng=0).P.std() - 0.02) < 1e-3
    layer.reset_parameters(0.5, np.random.default_rng(1))
    assert abs(layer.P.std() - 0.5) < 0.01
    assert layer.decay_names == ("P",)
    assert repr(SinusoidalPositionalEncoding(16, 8)) == "SinusoidalPositionalEncoding(16, 8)"
    with pytest.raises(ValueError, match="bogus"):
        PositionalEmbedding(4, 2, init="bogus")
