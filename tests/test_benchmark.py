import json

import numpy as np

from bprop.datasets import MiniBatchIterator, load_mnist
from bprop.layers.winograd import step_products
from bprop.networks import MultiLayerNet
from bprop.optim import SGD
import benchmark


def test_benchmark_quick_prints_its_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    benchmark.main(["--quick", "--config", "a", "b-adam", "conv", "--dtype", "float32", "--threads", "1", "--json", str(out)])
    text = capsys.readouterr().out
    assert "x floor" in text and "b-adam" in text and "BLAS:" in text
    report = json.loads(out.read_text())
    assert [r["config"] for r in report["results"]] == ["a", "b-adam", "conv"]
    for r in report["results"]:
        assert r["epoch_s_median"] > 0 and r["floor_s_median"] > 0 and r["ratio_to_floor"] > 0


def test_benchmark_deep_config_lists_its_products_and_times_each_layer(capsys):
    from bprop.layers.convolution import set_algorithm
    from bprop.networks import DeepConvNet

    net = DeepConvNet(dtype=np.float32)
    set_algorithm(net, "im2col")  # the im2col floor (--conv-algorithm im2col)
    products = benchmark.net_products(net, 100)
    # Conv1's im2col (2.8 MiB, kept for backward) is unrolled in chunks of 37 images (1 MiB),
    # Conv2's (45 MiB) 2 images at a time
    assert products[:6] == [(29008, 9, 16, "nt"), (16, 29008, 9, "tn")] * 2 + [(20384, 9, 16, "nt"),
                                                                               (16, 20384, 9, "tn")]
    assert products[6:9] == [(1568, 144, 16, "nt"), (16, 1568, 144, "tn"), (1568, 16, 144, "nn")]
    assert products[6:156] == products[6:9] * 50
    flops = sum(m * k * n for m, k, n, _ in products)
    whole = [(78400, 9, 16), (78400, 144, 16), (19600, 144, 32), (25600, 288, 32), (6400, 288, 64),
             (6400, 576, 64)]
    expected = sum(m * k * n * 3 for m, k, n in whole) - 78400 * 9 * 16 + 3 * (100 * 1024 * 50 + 100 * 50 * 10)
    assert flops == expected
    assert products[-6:] == [(100, 1024, 50, "nn"), (1024, 100, 50, "tn"), (100, 50, 1024, "nt"),   # Affine1
                             (100, 50, 10, "nn"), (50, 100, 10, "tn"), (100, 10, 50, "nt")]        # Affine2
    # the per-layer table of --layers, on 4 batches (a whole --quick epoch of deep takes ~15 s)
    rng = np.random.default_rng(0)
    x, t = rng.random((400, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 400)
    rows = benchmark.time_layers(DeepConvNet(dtype=np.float32, rng=0), x, t, 100, steps=3)
    assert [r[0] for r in rows][:3] == ["Conv1", "Relu1", "Conv2"] and rows[-1][0] == "loss"
    assert all(f > 0 for _, f, _ in rows)
    benchmark.print_layers("deep float32 1 thread(s)", rows)
    text = capsys.readouterr().out
    assert "per layer, deep float32" in text and "Conv6" in text and "Pool3" in text


def test_benchmark_lstm_config_counts_the_steps_of_the_lstm_and_runs(capsys):
    from bprop.networks import RnnLM

    products = benchmark.net_products(RnnLM(65, 64, 256), 64, 50)
    # x Wx, 50 x h Wh, 50 x da Wh^T, dWx, dWh, dx (the embedding needs it); the output layer's three
    assert len(products) == 1 + 50 + 50 + 3 + 3
    assert products[:2] == [(3200, 64, 1024, "nn"), (64, 256, 1024, "nn")]
    assert products[51:53] == [(64, 1024, 256, "nn")] * 2  # da Wh^T, against a contiguous Wh^T
    assert products[-3:] == [(3200, 256, 65, "nn"), (256, 3200, 65, "tn"), (3200, 65, 256, "nt")]
    results = benchmark.main(["--quick", "--config", "lstm", "--dtype", "float32", "--threads", "1"])
    assert results[0]["config"] == "lstm" and results[0]["samples"] == 64 * 50 * 4
    assert results[0]["ratio_to_floor"] > 0 and "LSTM LM 65-64-256" in capsys.readouterr().out


def test_benchmark_gpt_config_counts_the_products_of_every_block_and_runs(capsys):
    from bprop.networks.gpt import GPT

    products = benchmark.net_products(GPT(65, 64, 128, 4, 4), 12, 64)
    rows, stack = 12 * 64, 12 * 4  # N*T positions; N*H heads of d = 32 in a stack
    # per block: the QKV projection's three, the attention's six (two forward, four backward),
    # the output projection's three and the MLP's six; then the output layer's three
    assert len(products) == 4 * 18 + 3
    assert products[:3] == [(rows, 128, 384, "nn"), (128, rows, 384, "tn"), (rows, 384, 128, "nt")]
    assert products[3:9] == [(64, 32, 64, "nt", stack), (64, 64, 32, "nn", stack), (64, 32, 64, "nt", stack),
                             (64, 64, 32, "tn", stack), (64, 64, 32, "nn", stack), (64, 64, 32, "tn", stack)]
    assert products[9:18] == [(rows, 128, 128, "nn"), (128, rows, 128, "tn"), (rows, 128, 128, "nt"),
                              (rows, 128, 512, "nn"), (128, rows, 512, "tn"), (rows, 512, 128, "nt"),
                              (rows, 512, 128, "nn"), (512, rows, 128, "tn"), (rows, 128, 512, "nt")]
    assert products[18:72] == products[:18] * 3
    assert products[-3:] == [(rows, 128, 65, "nn"), (128, rows, 65, "tn"), (rows, 65, 128, "nt")]
    per_block = 3 * 2 * rows * (128 * 384 + 128 * 128 + 2 * 128 * 512) + 6 * 2 * stack * 64 * 64 * 32
    assert benchmark.product_flops(products) == 4 * per_block + 3 * 2 * rows * 128 * 65
    # the floor's operands of a stacked product: one matrix per head, transposed as a view
    a, b = benchmark.gemm_operands(products[3:4], np.float32, np.random.default_rng(0))[0]
    assert a.shape == (stack, 64, 32) and b.shape == (stack, 32, 64) and b.base is not None
    results = benchmark.main(["--quick", "--config", "gpt", "--dtype", "float32", "--threads", "1"])
    assert results[0]["config"] == "gpt" and results[0]["optimizer"] == "adamw"
    assert results[0]["samples"] == 4 * 12 * 64 and results[0]["time_size"] == 64
    assert results[0]["ratio_to_floor"] > 0 and "GPT 4x128 4 heads T64" in capsys.readouterr().out


def test_benchmark_gpt_floor_holds_every_matrix_product_of_a_training_step(monkeypatch):
    """The floor's products, as (m, k, n) and stack size, are those np.matmul computes in one
    loss_and_gradient of a GPT (tied or not): none left out, none counted twice."""
    from collections import Counter

    from bprop.networks.gpt import GPT

    original, made = np.matmul, []

    def recording(a, b, *args, **kwargs):
        made.append((a.shape[-2], a.shape[-1], b.shape[-1]) + ((int(np.prod(a.shape[:-2])),) if a.ndim > 2 else ()))
        return original(a, b, *args, **kwargs)

    ids = np.random.default_rng(0).integers(0, 11, (3, 9))
    for tie in (False, True):
        net = GPT(11, 8, 24, 2, 2, tie_weights=tie, rng=0)  # heads of 12 over 8 positions: no shape twice by chance
        made.clear()
        monkeypatch.setattr(np, "matmul", recording)
        net.loss_and_gradient(ids[:, :-1], ids[:, 1:])
        monkeypatch.setattr(np, "matmul", original)
        counted = Counter(tuple(p[:3]) + tuple(p[4:]) for p in benchmark.net_products(net, 3, 8))
        assert Counter(made) == counted


def test_float32_training_matches_float64_accuracy(mnist_root):
    """Config (a) for 3 epochs on the first 20000 training images, from the same initial
    weights and batches: float32 must end within 0.3 points of float64's test accuracy
    (measured: 0.9219 both with OpenBLAS's Haswell kernels, 0.9217 and 0.9219 with SkylakeX)."""
    accuracies = {}
    start = MultiLayerNet(784, [100], 10, rng=0).params
    for dtype in (np.float32, np.float64):
        (x, t), (xt, tt) = load_mnist(dtype=dtype, root=mnist_root, download=False, verbose=0)
        x, t = x[:20000], t[:20000]
        net = MultiLayerNet(784, [100], 10, dtype=dtype, rng=0)
        for k in net.params:
            net.params[k][...] = start[k]
        opt = SGD(lr=0.1)
        batches = MiniBatchIterator(x, t, 100, rng=1)
        for _ in range(3):
            for xb, tb in batches:
                opt.update(net.params, net.gradient(xb, tb))
        accuracies[dtype] = net.accuracy(xt, tt)
    assert accuracies[np.float64] > 0.9
    assert abs(accuracies[np.float32] - accuracies[np.float64]) <= 0.003, accuracies


def test_benchmark_winograd_floor_holds_every_stacked_product_of_a_deep_conv_net_step(monkeypatch):
    """With --conv-algorithm winograd, DeepConvNet's floor counts the 16-deep stacked products
    its convolutions run in one loss_and_gradient, chunk by chunk: none left out, none twice."""
    from collections import Counter

    from bprop.layers.convolution import set_algorithm
    from bprop.networks import DeepConvNet

    original, made = np.matmul, []

    def recording(a, b, *args, **kwargs):
        if np.ndim(a) == 3:  # the stacked products: only Winograd's in this network
            made.append((a.shape[1], a.shape[2], b.shape[-1], a.shape[0]))
        return original(a, b, *args, **kwargs)

    net = DeepConvNet(dtype=np.float32, rng=0)
    assert set_algorithm(net, "winograd") == 6
    x = np.random.default_rng(0).random((7, 1, 28, 28), dtype=np.float32)
    monkeypatch.setattr(np, "matmul", recording)
    net.loss_and_gradient(x, np.arange(7))
    monkeypatch.setattr(np, "matmul", original)
    counted = Counter((m, k, n, stack[0]) for m, k, n, _, *stack in benchmark.net_products(net, 7) if stack)
    assert len(made) > 18 and Counter(made) == counted
    _, _, products, description = benchmark.build("deep", np.float32, 7, np.random.default_rng(0), "winograd")
    assert description == "DeepConvNet, winograd" and Counter(
        (m, k, n, stack[0]) for m, k, n, _, *stack in products if stack) == counted
    # the default, auto: Conv1 (one input channel) on im2col, the five others on Winograd
    _, _, products, description = benchmark.build("deep", np.float32, 7, np.random.default_rng(0))
    assert description == "DeepConvNet, auto"
    assert products[:2] == [(7 * 28 * 28, 9, 16, "nt"), (16, 7 * 28 * 28, 9, "tn")]
    assert Counter((m, k, n, stack[0]) for m, k, n, _, *stack in products if stack) == counted - Counter(
        (m, k, n, stack[0]) for m, k, n, _, *stack in step_products(1, 16, (28, 28), 1, 7, np.float32, False))
