import json

import numpy as np

from bprop.datasets import MiniBatchIterator, load_mnist
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
    from bprop.networks import DeepConvNet

    products = benchmark.net_products(DeepConvNet(dtype=np.float32), 100)
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
    assert products[-3:] == [(3200, 256, 65, "nn"), (256, 3200, 65, "tn"), (3200, 65, 256, "nt")]
    results = benchmark.main(["--quick", "--config", "lstm", "--dtype", "float32", "--threads", "1"])
    assert results[0]["config"] == "lstm" and results[0]["samples"] == 64 * 50 * 4
    assert results[0]["ratio_to_floor"] > 0 and "LSTM LM 65-64-256" in capsys.readouterr().out


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
