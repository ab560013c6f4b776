"""Seq2seq and PeekySeq2seq: gradients (float64, tiny sizes), the state handed over, generation."""

import numpy as np
import pytest

from bprop.layers import Peek, TimeLSTM
from bprop.layers.gradcheck import assert_gradients_close, randomize
from bprop.networks import PeekySeq2seq, Seq2seq
from bprop.optim import Adam, clip_grads

MODELS = {"plain": Seq2seq, "peeky": PeekySeq2seq}


def random_model(kind, rng, vocab=6, embed=3, hidden=4, dtype=np.float64):
    return randomize(MODELS[kind](vocab, embed, hidden, dtype=dtype, rng=rng), rng)


def problems(rng, n, t_in, t_out, vocab=6, start=1):
    x = rng.integers(0, vocab, (n, t_in))
    t = rng.integers(0, vocab, (n, t_out))
    t[:, 0] = start
    return x, t


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("n, t_in, t_out", [(1, 1, 2), (2, 4, 3), (3, 2, 5)])
def test_seq2seq_gradient_matches_numerical(kind, n, t_in, t_out):
    rng = np.random.default_rng(n + 10 * t_in + 100 * t_out)
    net = random_model(kind, rng)
    x, t = problems(rng, n, t_in, t_out)
    analytic, numeric = net.gradient_check(x, t)
    assert_gradients_close(analytic, numeric)


def test_the_encoder_learns_through_the_cell_state_it_hands_over():
    # with the decoder's hidden weights zeroed its initial h is never read: the encoder
    # reaches the loss only through c, and its gradient (non-zero) is still exact
    rng = np.random.default_rng(1)
    net = random_model("plain", rng)
    net.params["Wh2"][...] = 0
    x, t = problems(rng, 2, 3, 3)
    analytic, numeric = net.gradient_check(x, t)
    assert np.abs(analytic["Wx1"]).max() > 1e-3
    assert_gradients_close(analytic, numeric)


def test_the_decoder_starts_from_the_encoders_final_state():
    rng = np.random.default_rng(2)
    net = random_model("plain", rng)
    x, t = problems(rng, 2, 5, 3)
    h, c = net.encode(x)
    enc = net.layers["EncoderLSTM"]
    hs = enc.forward(net.layers["EncoderEmbedding"].forward(x))
    np.testing.assert_array_equal(h, hs[:, -1])
    dec = TimeLSTM(net.params["Wx2"], net.params["Wh2"], net.params["b2"])
    dec.set_initial_state(h, c)
    expected = dec.forward(net.params["W2"][t[:, :-1]]) @ net.params["W3"] + net.params["b3"]
    np.testing.assert_allclose(net.predict(x, t[:, :-1]), expected, rtol=1e-12)


def test_peeky_decoder_sees_the_encoder_state_at_every_step():
    net = PeekySeq2seq(6, 3, 4, rng=0)
    peeks = [layer for layer in net.layers.values() if isinstance(layer, Peek)]
    assert len(peeks) == 2 and net.peeks == peeks
    assert net.params["Wx2"].shape == (3 + 4, 16) and net.params["W3"].shape == (8, 6)
    x, t = problems(np.random.default_rng(3), 2, 4, 3)
    net.predict(x, t[:, :-1])
    h, _ = net.encode(x)
    for peek in peeks:
        np.testing.assert_array_equal(peek.context, h)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_generate_is_greedy_decoding_of_its_own_output(kind):
    rng = np.random.default_rng(4)
    net = random_model(kind, rng)
    x, _ = problems(rng, 5, 4, 2)
    out = net.generate(x, 1, 6)
    assert out.shape == (5, 6) and out.dtype == np.int64
    t_in = np.concatenate([np.ones((5, 1), dtype=np.int64), out[:, :-1]], axis=1)
    np.testing.assert_array_equal(np.argmax(net.predict(x, t_in), axis=2), out)


def test_accuracy_counts_whole_answers_only():
    rng = np.random.default_rng(5)
    net = random_model("peeky", rng)
    x, _ = problems(rng, 6, 4, 2)
    out = net.generate(x, 2, 3)
    t = np.concatenate([np.full((6, 1), 2), out], axis=1)
    t[1, 3] = (t[1, 3] + 1) % 6  # one id wrong in one answer
    t[4, 1] = (t[4, 1] + 1) % 6
    assert net.accuracy(x, t) == pytest.approx(4 / 6)
    assert net.accuracy(x, t, batch_size=4) == pytest.approx(4 / 6)


def test_peeky_seq2seq_learns_to_reverse_short_sequences():
    # a task of a few seconds: the decoder must write the input backwards
    rng = np.random.default_rng(6)
    x = rng.integers(2, 6, (512, 3))
    t = np.concatenate([np.ones((512, 1), dtype=np.int64), x[:, ::-1]], axis=1)
    net = PeekySeq2seq(6, 8, 24, rng=0)
    opt = Adam(lr=0.02)
    for _ in range(4):
        for i in range(0, 512, 32):
            _, grads = net.loss_and_gradient(x[i:i + 32], t[i:i + 32])
            clip_grads(grads, 5.0)
            opt.update(net.params, grads)
    assert net.accuracy(x, t) > 0.9


def test_float32_stays_float32_and_weights_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    net = PeekySeq2seq(6, 3, 4, dtype=np.float32, rng=0)
    x, t = problems(rng, 3, 4, 3)
    loss, grads = net.loss_and_gradient(x, t)
    assert np.isfinite(loss) and all(g.dtype == np.float32 for g in grads.values())
    net.save_params(tmp_path / "s2s.npz")
    other = PeekySeq2seq(6, 3, 4, dtype=np.float32, rng=1)
    other.load_params(tmp_path / "s2s.npz")
    np.testing.assert_array_equal(other.generate(x, 1, 4), net.generate(x, 1, 4))


def test_summary_shows_both_chains():
    text = PeekySeq2seq(13, 16, 128, rng=0).summary()
    for name in ("EncoderEmbedding", "EncoderLSTM", "DecoderEmbedding", "DecoderPeek1", "DecoderLSTM",
                 "DecoderPeek2", "DecoderAffine"):
        assert name in text


@pytest.mark.parametrize("call, match", [
    (lambda net: net.loss(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 1), dtype=np.int64)),
     r"t must be a batch of id sequences \(N, T\) with T >= 2"),
    (lambda net: net.loss(np.zeros((2, 3)), np.zeros((2, 3), dtype=np.int64)), "x must be a batch of id"),
    (lambda net: net.predict(np.zeros((2, 3), dtype=np.int64), np.zeros((3, 2), dtype=np.int64)),
     "x and t_in must hold as many sequences, got 2 and 3"),
    (lambda net: net.generate(np.zeros((2, 3), dtype=np.int64), 6, 2), r"start_id 6 is outside \[0, 6\)"),
    (lambda net: net.generate(np.zeros((2, 3), dtype=np.int64), 1, 0), "length must be an integer >= 1"),
    (lambda net: net.accuracy(np.zeros((2, 3), dtype=np.int64), np.array([[1, 2], [3, 2]])),
     "every t must start with the same start id"),
])
def test_bad_calls_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call(Seq2seq(6, 3, 4, rng=0))
