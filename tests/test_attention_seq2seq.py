"""AttentionSeq2seq: gradients of the whole model (float64, tiny sizes), its decoder written out by
hand, greedy generation and its attention maps, weights files, bad calls, learning the dates; and
scripts/attention_dates.py: --help, a --quick run as a program, a usage error, a resumed run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bprop.datasets.dates import make_dates
from bprop.layers import TimeLSTM
from bprop.layers.attention import Attention
from bprop.layers.gradcheck import assert_gradients_close, randomize
from bprop.networks import PeekySeq2seq
from bprop.networks.attention_seq2seq import AttentionSeq2seq
from bprop.optim import Adam, GradientClipping, Trainer


def random_model(rng, vocab=6, embed=3, hidden=4, dtype=np.float64):
    return randomize(AttentionSeq2seq(vocab, embed, hidden, dtype=dtype, rng=rng), rng)


def problems(rng, n, t_in, t_out, vocab=6, start=1):
    x = rng.integers(0, vocab, (n, t_in))
    t = rng.integers(0, vocab, (n, t_out))
    t[:, 0] = start
    return x, t


@pytest.mark.parametrize("n, t_in, t_out", [(1, 1, 2), (2, 4, 3), (3, 2, 5)])
def test_attention_seq2seq_gradient_matches_numerical(n, t_in, t_out):
    rng = np.random.default_rng(n + 10 * t_in + 100 * t_out)
    net = random_model(rng)
    x, t = problems(rng, n, t_in, t_out)
    analytic, numeric = net.gradient_check(x, t)
    assert_gradients_close(analytic, numeric)


def test_the_encoder_learns_through_the_attention_alone():
    # no initial state handed over (the decoder's Wh2 reads it, zeroed; c is forgotten by a
    # forget gate pinned at 0): the encoder's gradient then comes only through the contexts
    rng = np.random.default_rng(1)
    net = random_model(rng)
    net.params["Wh2"][...] = 0
    h = net.hidden_size
    net.params["Wx2"][:, h:2 * h] = 0
    net.params["b2"][h:2 * h] = -50.0
    x, t = problems(rng, 2, 4, 3)
    analytic, numeric = net.gradient_check(x, t)
    assert np.abs(analytic["Wx1"]).max() > 1e-3
    assert_gradients_close(analytic, numeric)


def test_scores_are_the_affine_of_context_then_decoder_state():
    rng = np.random.default_rng(2)
    net = random_model(rng)
    x, t = problems(rng, 2, 5, 4)
    p = net.params
    encoder = TimeLSTM(p["Wx1"], p["Wh1"], p["b1"])
    hs_enc = encoder.forward(p["W1"][x])
    decoder = TimeLSTM(p["Wx2"], p["Wh2"], p["b2"])
    decoder.set_initial_state(encoder.h, encoder.c)
    hs_dec = decoder.forward(p["W2"][t[:, :-1]])
    context = np.stack([Attention().forward(hs_enc, hs_dec[:, u]) for u in range(3)], axis=1)
    expected = np.concatenate([context, hs_dec], axis=2) @ p["W3"] + p["b3"]
    np.testing.assert_allclose(net.predict(x, t[:, :-1]), expected, rtol=1e-10, atol=1e-12)
    assert net.attention.attention_weights.shape == (2, 3, 5)


def test_generate_is_greedy_decoding_of_its_own_output_and_keeps_each_steps_attention():
    rng = np.random.default_rng(3)
    net = random_model(rng)
    x, _ = problems(rng, 5, 4, 2)
    out, weights = net.generate_with_attention(x, 1, 6)
    assert out.shape == (5, 6) and out.dtype == np.int64 and weights.shape == (5, 6, 4)
    np.testing.assert_array_equal(net.generate(x, 1, 6), out)
    t_in = np.concatenate([np.ones((5, 1), dtype=np.int64), out[:, :-1]], axis=1)
    np.testing.assert_array_equal(np.argmax(net.predict(x, t_in), axis=2), out)
    # the same weights as teacher forcing on the generated answer
    np.testing.assert_allclose(weights, net.attention.attention_weights, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, rtol=1e-12)


def test_accuracy_counts_whole_answers_only():
    rng = np.random.default_rng(4)
    net = random_model(rng)
    x, _ = problems(rng, 6, 4, 2)
    t = np.concatenate([np.full((6, 1), 2), net.generate(x, 2, 3)], axis=1)
    t[1, 3] = (t[1, 3] + 1) % 6
    assert net.accuracy(x, t) == pytest.approx(5 / 6)
    assert net.accuracy(x, t, batch_size=4) == pytest.approx(5 / 6)


def test_params_shapes_and_summary():
    net = AttentionSeq2seq(13, 16, 32, rng=0)
    assert sorted(net.params) == ["W1", "W2", "W3", "Wh1", "Wh2", "Wx1", "Wx2", "b1", "b2", "b3"]
    assert net.params["W3"].shape == (64, 13) and net.params["Wx2"].shape == (16, 128)
    text = net.summary()
    for name in ("EncoderEmbedding", "EncoderLSTM", "DecoderEmbedding", "DecoderLSTM", "DecoderAttention",
                 "DecoderAffine: TimeAffine(64 -> 13)"):
        assert name in text
    assert net.shapes["DecoderAttention"] == (1, 32) and net.shapes["DecoderAffine"] == (1, 13)


def test_float32_stays_float32_and_weights_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    net = AttentionSeq2seq(6, 3, 4, dtype=np.float32, rng=0)
    x, t = problems(rng, 3, 4, 3)
    loss, grads = net.loss_and_gradient(x, t)
    assert np.isfinite(loss) and all(g.dtype == np.float32 for g in grads.values())
    assert net.generate_with_attention(x, 1, 2)[1].dtype == np.float32
    net.save_params(tmp_path / "attention.npz")
    other = AttentionSeq2seq(6, 3, 4, dtype=np.float32, rng=1)
    assert not np.array_equal(other.params["W3"], net.params["W3"])  # drawn apart
    other.load_params(tmp_path / "attention.npz")
    for key, p in net.params.items():
        np.testing.assert_array_equal(other.params[key], p)
    np.testing.assert_array_equal(other.generate(x, 1, 4), net.generate(x, 1, 4))
    # a peeky decoder has the same keys, and a wider LSTM input: the file is refused by name
    with pytest.raises(ValueError, match=r"key 'Wx2' has shape \(3, 16\) .* this network's Wx2 has shape \(7, 16\)"):
        PeekySeq2seq(6, 3, 4, dtype=np.float32, rng=0).load_params(tmp_path / "attention.npz")


@pytest.mark.parametrize("call, match", [
    (lambda net: net.loss(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 1), dtype=np.int64)),
     r"AttentionSeq2seq: t must be a batch of id sequences \(N, T\) with T >= 2"),
    (lambda net: net.loss(np.zeros((2, 3)), np.zeros((2, 3), dtype=np.int64)), "x must be a batch of id"),
    (lambda net: net.predict(np.zeros((2, 3), dtype=np.int64), np.zeros((3, 2), dtype=np.int64)),
     "x and t_in must hold as many sequences, got 2 and 3"),
    (lambda net: net.generate(np.zeros((2, 3), dtype=np.int64), 6, 2),
     r"AttentionSeq2seq.generate: start_id 6 is outside \[0, 6\)"),
    (lambda net: net.generate(np.zeros((2, 3), dtype=np.int64), 1, 0), "length must be an integer >= 1, got 0"),
    (lambda net: net.generate(np.zeros(3, dtype=np.int64), 1, 2), r"x must be a batch of id sequences"),
    (lambda net: AttentionSeq2seq(6, 3, 0), "AttentionSeq2seq: hidden_size must be an integer >= 1, got 0"),
])
def test_bad_calls_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call(AttentionSeq2seq(6, 3, 4, rng=0))


def test_attention_seq2seq_learns_unseen_dates_from_a_small_set():
    # about 15 s: 12000 dates, 48 hidden units, four epochs; the test dates are days it never saw
    (x, t), test, vocab = make_dates(12000, 300, reverse=True, rng=0)
    net = AttentionSeq2seq(len(vocab), 16, 48, dtype=np.float32, rng=0)
    history = Trainer(net, Adam(lr=1e-2), (x, t), test, epochs=4, batch_size=128, rng=0, eval_train=False,
                      callbacks=[GradientClipping(5.0)], verbose=0).fit()
    assert history["val_seq_acc"][-1] >= 0.95
    assert net.accuracy(*test) == history["val_seq_acc"][-1]


# --- scripts/attention_dates.py ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def run_script(args, cwd, timeout):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "attention_dates.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_attention_dates_help_lists_its_options_as_plain_text(tmp_path):
    result = run_script(["--help"], tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    for flag in ("--seed", "--out", "--quick", "--epochs", "--hidden", "--variants", "--maps", "--reverse",
                 "--checkpoint", "--resume"):
        assert flag in result.stdout
    assert "``" not in result.stdout and ":class:" not in result.stdout


def test_attention_dates_quick_writes_figures_numbers_and_maps(tmp_path):
    result = run_script(["--quick", "--out", str(tmp_path), "--verbose", "0"], tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "AttentionSeq2seq  test accuracy per epoch:" in result.stdout
    for name in ("attention_dates.png", "attention_dates_maps.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "attention_dates.json").read_text())
    assert list(saved["histories"]) == ["peeky", "attention"]
    assert all(len(h["test_accuracy"]) == 1 for h in saved["histories"].values())
    maps = saved["attention_maps"]
    assert len(maps) == 4 and len({m["question"] for m in maps}) == 4
    for m in maps:
        weights = np.array(m["weights"])
        assert weights.shape == (10, len(m["question"])) and len(m["answer"]) == 10
        assert np.all(weights.sum(axis=1) <= 1 + 1e-6)  # padding cropped off
    rows = (tmp_path / "attention_dates.csv").read_text().splitlines()
    assert rows[0] == "model,epoch,train_loss,test_loss,test_accuracy,seconds" and len(rows) == 3


def test_attention_dates_refuses_more_test_dates_than_half_of_them(tmp_path):
    result = run_script(["--test-size", "20000", "--out", str(tmp_path)], tmp_path, timeout=60)
    assert result.returncode == 2
    assert "argument --test-size: at most 10957 (half the 21915 dates), got 20000" in result.stderr


def test_attention_dates_resumed_run_ends_as_the_uninterrupted_one(tmp_path, capsys):
    import attention_dates

    args = ["--train-size", "300", "--test-size", "40", "--hidden", "8", "--variants", "attention", "--maps", "2",
            "--verbose", "0", "--seed", "3"]
    full = attention_dates.main([*args, "--epochs", "2", "--out", str(tmp_path / "full")])
    check = str(tmp_path / "ck.npz")
    attention_dates.main([*args, "--epochs", "1", "--out", str(tmp_path / "cut"), "--checkpoint", check])
    resumed = attention_dates.main([*args, "--epochs", "2", "--out", str(tmp_path / "cut"), "--checkpoint", check,
                                    "--resume"])
    for key in ("train_loss", "test_loss", "test_accuracy"):
        assert resumed["histories"]["attention"][key] == full["histories"]["attention"][key]
    np.testing.assert_array_equal(resumed["attention_maps"][0]["weights"], full["attention_maps"][0]["weights"])
    assert (tmp_path / "ck_attention.npz").is_file()
