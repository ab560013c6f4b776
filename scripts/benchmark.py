"""Time training epochs against the machine's matrix-multiply floor.

For each configuration (layer sizes, optimizer, dtype) this script times one epoch of
training (60000 MNIST-shaped samples, reshuffled, batch 100: loss_and_gradient and
update per batch, exactly what the Trainer does per step), and in the same process
the GEMM floor: the time np.matmul alone needs for the matrix products of that
epoch at the same shapes, layouts and dtype (forward x @ W, backward x.T @ dout
and dout @ W.T; the first layer needs no dx; a convolution counts as its im2col
products). The ratio epoch / floor says how much time goes to everything that is not
a matrix product: activations, softmax, bias sums, the optimizer, Python,
im2col/col2im and pooling bookkeeping, gathering each shuffled batch.

DeepConvNet's 3x3 convolutions run as the layers choose by default (--conv-algorithm auto:
Winograd's F(2x2, 3x3), bprop.layers.winograd, from 3 input channels up, im2col for the
first layer), and its floor counts the products the network actually runs: for a Winograd
layer, per chunk of the batch, 16 stacked products each for forward (tiles x filters), dW
and dx. --conv-algorithm im2col auto times the network both ways, one row each, so the two
floors and epochs stand side by side.

The configuration "lstm" is the character language model of char_lm.py instead (65 ids,
embedding 64, one LSTM of 256, 64 streams x 50 steps, Adam, clipping to norm 5): an epoch
is 100 windows of truncated BPTT over random ids (320,000 characters), and its floor
counts the LSTM's products step by step (h Wh forward, da Wh^T backward, T of each) and
over all N*T positions at once (x Wx, dWx, dWh, dx; the output layer's three).

The configuration "gpt" is the GPT of gpt_char.py (65 ids, 4 blocks of 4 heads, 128 wide,
context 64, batches of 12 windows, AdamW with weight decay 0.1, clipping to norm 1): an
epoch is 100 steps on windows of random ids (76,800 characters). Its floor counts, for
every block and all N*T positions at once, the products of the QKV projection, the output
projection and the MLP's two layers, each forward (x W), dW (x^T dout) and dx (dout W^T);
the attention as N*H stacked products of one head each, forward the scores Q K^T and the
weighted sum A V, backward dA = dY V^T, dV = A^T dY, dQ = dS K and dK = dS^T Q; and the
output layer's three. The embeddings, LayerNorms, GELU and softmax are no products.

Usage:
  python scripts/benchmark.py                 # the full table (a few minutes on 2 cores)
  python scripts/benchmark.py --quick         # seconds, a tenth of an epoch, one repeat
  python scripts/benchmark.py --json out.json --config a b-sgd
  python scripts/benchmark.py --threads 1 2   # each configuration on 1 and 2 BLAS threads
  python scripts/benchmark.py --config deep --conv-algorithm im2col auto --layers

Runs on MNIST when BPROP_DATA (or ~/.cache/bprop) holds it, else on random data of the
same shape (the timing does not depend on the values). The table names the BLAS library,
its kernel and the CPU count: timings hold for that machine only. Ctrl-C prints (and
writes with --json) the configurations timed so far, and exits with status 130.
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bprop.datasets import BPTTBatches, MiniBatchIterator, load_mnist
from bprop.layers import Affine, Convolution, TimeLSTM
from bprop.layers.convolution import set_algorithm
from bprop.layers.transformer_block import TransformerBlock
from bprop.layers.winograd import ALGORITHMS, step_products
from bprop.networks import DeepConvNet, MultiLayerNet, RnnLM, SimpleConvNet
from bprop.networks.gpt import GPT
from bprop.networks.files import atomic_write
from bprop.optim import clip_grads, get_optimizer
import cli
import exits

MLP_CONFIGS = {
    "a": ([784, 100, 10], "sgd"),
    "b-sgd": ([784, 100, 100, 100, 100, 10], "sgd"),
    "b-momentum": ([784, 100, 100, 100, 100, 10], "momentum"),
    "b-adam": ([784, 100, 100, 100, 100, 10], "adam"),
    "c": ([784, 1000, 1000, 10], "sgd"),
}
#: SimpleConvNet's defaults: 30 filters 5x5 on 1x28x28, 2x2 pooling, 100 hidden units
CONV = {"filters": 30, "kernel": 5, "hidden": 100}
#: the character language model of scripts/char_lm.py, and its epoch of BPTT windows
LM = {"vocab": 65, "embed": 64, "hidden": 256, "batch": 64, "time": 50, "windows": 100, "clip": 5.0}
#: the GPT of scripts/gpt_char.py, and its epoch of steps
GPT_LM = {"vocab": 65, "context": 64, "embed": 128, "heads": 4, "layers": 4, "batch": 12, "steps": 100, "clip": 1.0,
          "weight_decay": 0.1}
CONFIGS = list(MLP_CONFIGS) + ["conv", "deep", "lstm", "gpt"]
LR = {"sgd": 0.01, "momentum": 0.01, "adam": 0.001, "adamw": 0.002}


def blas_info():
    """Which BLAS NumPy calls and with how many threads (through threadpoolctl)."""
    return [
        {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture", "filepath")}
        for p in threadpool_info() if p.get("user_api") == "blas"
    ]


def blas_threads():
    """Threads the BLAS library would use now (under any active limit)."""
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else 0


def peak_memory_mb():
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def load_data(dtype, rng):
    try:
        (x, t), _ = load_mnist(dtype=dtype, download=False)
        return x, t, "mnist"
    except Exception:  # no data here: random pixels time the same
        x = rng.random((60000, 784), dtype=dtype)
        t = rng.integers(0, 10, 60000)
        return x, t, "synthetic"


def net_products(net, batch, time_size=1):
    """The matrix products of one training step of ``net`` as ``(m, k, n, layout)``, or
    ``(m, k, n, layout, stack)`` for ``stack`` products of those shapes at once (np.matmul
    over a stack of matrices).

    An Affine ``(D -> M)``: forward ``x @ W`` (B, D) @ (D, M), ``dW = x.T @ dout`` and
    ``dx = dout @ W.T``. A convolution as its im2col products, one row per output pixel,
    for each chunk of the batch the layer unrolls at a time (``Convolution.chunks``):
    forward ``col @ W_col.T`` (b*OH*OW, C*FH*FW) @ (C*FH*FW, FN), ``dW = dout.T @ col`` and
    ``dcol = dout @ W_col``. The first layer's input is data: no ``dx``.

    Over sequences of ``time_size`` steps a TimeAffine is an Affine on B*T rows, and a
    TimeLSTM ``(D -> H)`` is ``x Wx`` (B*T, D) @ (D, 4H) once, ``h Wh`` (B, H) @ (H, 4H) at
    every step, and backward ``da Wh^T`` at every step, then ``dWx``, ``dWh`` and ``dx``
    over all B*T rows (``dx`` unless ``input_grad`` is off). A TransformerBlock is
    :func:`block_products`.
    """
    products, first = [], True
    rows = batch * time_size
    out_shape = getattr(net, "input_shape", None)  # one sample's shape before each layer
    for name, layer in net.layers.items():
        in_shape, out_shape = out_shape, getattr(net, "shapes", {}).get(name)
        if isinstance(layer, TimeLSTM):
            d, h = layer.input_size, layer.hidden_size
            products += [(rows, d, 4 * h, "nn")] + [(batch, h, 4 * h, "nn")] * time_size
            # dh_prev = da Wh^T against a contiguous copy of Wh^T: "nn"
            products += [(batch, 4 * h, h, "nn")] * time_size + [(d, rows, 4 * h, "tn"), (h, rows, 4 * h, "tn")]
            if layer.input_grad:
                products.append((rows, 4 * h, d, "nt"))
        elif isinstance(layer, TransformerBlock):
            products += block_products(layer, batch, time_size)
        elif isinstance(layer, Convolution) and layer.runs_on == "winograd":
            fn, c = layer.W.shape[:2]
            products += step_products(c, fn, in_shape[1:], layer.pad, batch, net.dtype, input_grad=not first)
        elif isinstance(layer, Convolution):
            # the products the layer runs: one set per chunk of the batch it unrolls
            fn, c, fh, fw = layer.W.shape
            out_hw = net.shapes[name][1:]
            k = layer.fan_in
            for chunk in layer.chunks(batch, out_hw, net.dtype):
                pixels = (chunk.stop - chunk.start) * int(np.prod(out_hw))  # one im2col row each
                products += [(pixels, k, fn, "nt"), (fn, pixels, k, "tn")]
                if not first:  # dcol = dout @ W_col (stride 1: the same count as im2col(dout) @ W_flip)
                    products.append((pixels, fn, k, "nn"))
        elif isinstance(layer, Affine):
            d, m = layer.W.shape
            products += [(rows, d, m, "nn"), (d, rows, m, "tn")]
            if not first:
                products.append((rows, m, d, "nt"))
        else:
            continue
        first = False
    return products


def block_products(block, batch, time_size):
    """The products of one training step of a TransformerBlock (E wide, H heads of d = E/H,
    MLP F wide) on ``batch`` sequences of ``time_size`` = T positions, N*T rows:

    - per projection, ``x W`` (N*T, K) @ (K, M), ``dW = x^T dout`` and ``dx = dout W^T``, for
      the QKV projection (E -> 3E), the output projection (E -> E) and the MLP (E -> F -> E);
    - the attention, a stack of N*H products of one head each: forward ``S = Q K^T``
      (T, d) @ (d, T) and ``A V`` (T, T) @ (T, d); backward ``dA = dY V^T``, ``dV = A^T dY``,
      ``dQ = dS K`` and ``dK = dS^T Q``.
    """
    e, f, h = block.embed_dim, block.hidden_size, block.num_heads
    rows, t, d, heads = batch * time_size, time_size, e // h, batch * h

    def projection(k, m):
        return [(rows, k, m, "nn"), (k, rows, m, "tn"), (rows, m, k, "nt")]

    attention = [(t, d, t, "nt", heads), (t, t, d, "nn", heads),                            # forward
                 (t, d, t, "nt", heads), (t, t, d, "tn", heads), (t, t, d, "nn", heads), (t, t, d, "tn", heads)]
    return projection(e, 3 * e) + attention + projection(e, e) + projection(e, f) + projection(f, e)


def product_flops(products):
    """Floating-point operations of ``products`` (2 m k n per matrix product)."""
    return 2 * sum(m * k * n * (stack[0] if stack else 1) for m, k, n, _, *stack in products)


def gemm_operands(products, dtype, rng):
    """Random operands for ``products``, transposed as views where the layers transpose;
    a stack of products gets stacks of operands."""
    ops = []
    for m, k, n, layout, *stack in products:
        a = rng.random((*stack, *((m, k) if layout[0] == "n" else (k, m))), dtype=dtype)
        b = rng.random((*stack, *((k, n) if layout[1] == "n" else (n, k))), dtype=dtype)
        ops.append((a if layout[0] == "n" else a.swapaxes(-1, -2), b if layout[1] == "n" else b.swapaxes(-1, -2)))
    return ops


def time_floor(products, n_samples, batch, dtype, rng):
    ops = gemm_operands(products, dtype, rng)
    steps = -(-n_samples // batch)
    start = time.perf_counter()
    for _ in range(steps):
        for a, b in ops:
            np.matmul(a, b)
    return time.perf_counter() - start


def time_epoch(net, opt, batches, max_norm=None):
    start = time.perf_counter()
    for xb, tb in batches:
        _, grads = net.loss_and_gradient(xb, tb)
        if max_norm is not None:
            clip_grads(grads, max_norm)
        opt.update(net.params, grads)
    return time.perf_counter() - start


def build(name, dtype, batch, rng, algorithm="auto"):
    """``(network, optimizer name, products of one step, description)`` of a configuration;
    a conv net's convolutions run on ``algorithm`` where they can (see ``set_algorithm``)."""
    if name == "conv":
        net = SimpleConvNet(conv_param={"filter_num": CONV["filters"], "filter_size": CONV["kernel"],
                                        "pad": 0, "stride": 1},
                            hidden_size=CONV["hidden"], weight_init_std="he", dtype=dtype, rng=rng)
        return net, "sgd", net_products(net, batch), "conv30x5x5-pool-100-10"
    if name == "deep":
        # dropout on, as in training: loss_and_gradient runs in training mode
        net = DeepConvNet(dtype=dtype, rng=rng)
        set_algorithm(net, algorithm)
        return net, "sgd", net_products(net, batch), f"DeepConvNet, {algorithm}"
    sizes, opt_name = MLP_CONFIGS[name]
    net = MultiLayerNet(sizes[0], sizes[1:-1], sizes[-1], dtype=dtype, rng=rng)
    return net, opt_name, net_products(net, batch), "-".join(map(str, sizes))


def time_layers(net, x, t, batch, steps=10):
    """Median forward and backward time of each layer over ``steps`` training steps, in ms.

    Returns rows ``(name, forward_ms, backward_ms)``, the loss layer last. The layers are
    called one by one exactly as ``loss_and_gradient`` calls them (training mode).
    """
    times = {name: ([], []) for name in list(net.layers) + ["loss"]}
    threads = getattr(net, "threads", contextlib.nullcontext)  # as the network's own passes run
    batches = MiniBatchIterator(x, t, batch, rng=0)
    for step, (xb, tb) in enumerate(batches):
        if step > steps:  # the first step warms up and is not counted
            break
        h = net._as_input(xb)
        with threads():
            for name, layer in net.layers.items():
                start = time.perf_counter()
                h = layer.forward(h, True)
                times[name][0].append(time.perf_counter() - start)
        start = time.perf_counter()
        net.last_layer.forward(h, tb)
        d = net.last_layer.backward(1.0)
        times["loss"][0].append(time.perf_counter() - start)
        times["loss"][1].append(0.0)
        with threads():
            for name, layer in reversed(net.layers.items()):
                start = time.perf_counter()
                d = layer.backward(d)
                times[name][1].append(time.perf_counter() - start)
    return [(name, 1e3 * statistics.median(f[1:]), 1e3 * statistics.median(b[1:]))
            for name, (f, b) in times.items()]


def print_layers(name, rows):
    total = sum(f + b for _, f, b in rows)
    print(f"per layer, {name} (median of 10 steps, ms):")
    width = max(10, *(len(layer) for layer, _, _ in rows))  # PositionalEmbedding1 is 20
    print(f"  {'layer':<{width}} {'forward':>8} {'backward':>9} {'share':>6}")
    for layer, f, b in rows:
        print(f"  {layer:<{width}} {f:>8.2f} {b:>9.2f} {100 * (f + b) / total:>5.1f}%")
    print(f"  {'step':<{width}} {total:>18.2f}")


def bench(name, dtype, x, t, repeats, batch, seed, layers=False, algorithm="auto"):
    rng = np.random.default_rng(seed)
    net, opt_name, products, description = build(name, dtype, batch, rng, algorithm)
    if name in ("conv", "deep"):
        x = x.reshape(-1, 1, 28, 28)
    opt = get_optimizer(opt_name, lr=LR[opt_name])
    batches = MiniBatchIterator(x, t, batch, rng=rng)
    n = len(x)
    # warm-up: caches, BLAS threads, allocator; and the floor's operands
    warm = MiniBatchIterator(x[: 20 * batch], t[: 20 * batch], batch, rng=rng)
    time_epoch(net, opt, warm)
    time_floor(products, 20 * batch, batch, dtype, rng)
    epochs, floors = [], []
    for _ in range(repeats):  # interleaved, so a slow moment of the machine hits both
        epochs.append(time_epoch(net, opt, batches))
        floors.append(time_floor(products, n, batch, dtype, rng))
    med, floor = statistics.median(epochs), statistics.median(floors)
    flops = product_flops(products)
    if layers:
        print_layers(f"{name} {np.dtype(dtype).name} {blas_threads()} thread(s)", time_layers(net, x, t, batch))
    return {
        "config": name,
        "network": description,
        "optimizer": opt_name,
        "dtype": np.dtype(dtype).name,
        "samples": n,
        "batch_size": batch,
        "epoch_s_median": med,
        "epoch_s_min": min(epochs),
        "epoch_s_max": max(epochs),
        "samples_per_s": n / med,
        "floor_s_median": floor,
        "floor_gflops": flops * (-(-n // batch)) / floor / 1e9,
        "ratio_to_floor": med / floor,
        "epoch_s_all": epochs,
        "floor_s_all": floors,
    }


def bench_sequences(config, network, net, opt, opt_name, batches, products, tokens, clip, dtype, repeats, rng,
                    rows=None):
    """A language model's configuration: as :func:`bench`, an epoch being the steps of
    ``batches`` (windows of ``time_size`` ids, each step clipped to the norm ``clip``) and
    its floor ``products`` once per step. ``rows``, the windows as arrays ``(x, t)``: also
    print the time of each layer. A stateful model starts every epoch from a zero state."""
    steps = len(batches)
    batch, time_size = next(iter(batches))[0].shape
    time_epoch(net, opt, list(batches)[:2], clip)  # warm-up
    time_floor(products, 2, 1, dtype, rng)
    epochs, floors = [], []
    for _ in range(repeats):
        if hasattr(net, "reset_state"):
            net.reset_state()
        epochs.append(time_epoch(net, opt, batches, clip))
        floors.append(time_floor(products, steps, 1, dtype, rng))
    med, floor = statistics.median(epochs), statistics.median(floors)
    if rows is not None:
        print_layers(f"{config} {np.dtype(dtype).name} {blas_threads()} thread(s)", time_layers(net, *rows, batch))
    return {
        "config": config,
        "network": network,
        "optimizer": opt_name,
        "dtype": np.dtype(dtype).name,
        "samples": tokens,
        "batch_size": batch,
        "time_size": time_size,
        "epoch_s_median": med,
        "epoch_s_min": min(epochs),
        "epoch_s_max": max(epochs),
        "samples_per_s": tokens / med,
        "floor_s_median": floor,
        "floor_gflops": product_flops(products) * steps / floor / 1e9,
        "ratio_to_floor": med / floor,
        "epoch_s_all": epochs,
        "floor_s_all": floors,
    }


def bench_lm(dtype, repeats, seed, quick=False, layers=False):
    """The "lstm" configuration: an epoch of BPTT windows of random ids (:func:`bench_sequences`)."""
    rng = np.random.default_rng(seed)
    batch, steps = LM["batch"], LM["time"]
    net = RnnLM(LM["vocab"], LM["embed"], LM["hidden"], dtype=dtype, rng=rng)
    opt = get_optimizer("adam", lr=LR["adam"])
    windows = LM["windows"] // 25 if quick else LM["windows"]  # a window is a large step: 4 will do
    ids = rng.integers(0, LM["vocab"], batch * steps * windows + 1)
    batches = BPTTBatches(ids, batch, steps)
    rows = (batches.x.reshape(-1, steps), batches.t.reshape(-1, steps)) if layers else None  # windows as rows
    return bench_sequences("lstm", f"LSTM LM {LM['vocab']}-{LM['embed']}-{LM['hidden']}", net, opt, "adam", batches,
                           net_products(net, batch, steps), batches.n_tokens, LM["clip"], dtype, repeats, rng, rows)


def bench_gpt(dtype, repeats, seed, quick=False, layers=False):
    """The "gpt" configuration: an epoch of steps on windows of random ids (:func:`bench_sequences`)."""
    c = GPT_LM
    rng = np.random.default_rng(seed)
    net = GPT(c["vocab"], c["context"], c["embed"], c["heads"], c["layers"], gelu_approximate="tanh", dtype=dtype,
              rng=rng)
    opt = get_optimizer("adamw", lr=LR["adamw"], weight_decay=c["weight_decay"])
    steps = c["steps"] // 25 if quick else c["steps"]
    ids = rng.integers(0, c["vocab"], (steps * c["batch"], c["context"] + 1))
    x, t = ids[:, :-1], ids[:, 1:]  # each window's ids and the ids that follow them
    batches = [(x[i:i + c["batch"]], t[i:i + c["batch"]]) for i in range(0, len(x), c["batch"])]
    return bench_sequences("gpt", f"GPT {c['layers']}x{c['embed']} {c['heads']} heads T{c['context']}", net, opt,
                           "adamw", batches, net_products(net, c["batch"], c["context"]), x.size, c["clip"], dtype,
                           repeats, rng, (x, t) if layers else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", choices=CONFIGS, default=CONFIGS,
                        help="configurations to time (default: all)")
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64"], default=["float32", "float64"],
                        help="default: both")
    parser.add_argument("--repeats", type=cli.positive_int, default=5,
                        help="timed epochs per configuration (default: 5)")
    parser.add_argument("--batch-size", type=cli.positive_int, default=100, help="default: 100")
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of an epoch and one repeat: checks the script, not the speed")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the results as JSON (its folder is created and checked first)")
    parser.add_argument("--threads", type=cli.nonneg_int, nargs="+", default=[0], metavar="N",
                        help="BLAS thread counts to time each configuration with; 0 is the BLAS "
                             "default (default: 0). Epoch and floor always run with the same count")
    parser.add_argument("--seed", type=cli.nonneg_int, default=0, help="default: 0")
    parser.add_argument("--conv-algorithm", nargs="+", choices=ALGORITHMS, default=["auto"],
                        help="what DeepConvNet's convolutions run on, and its floor counts; several: one row "
                             "each (default: auto)")
    parser.add_argument("--layers", action="store_true",
                        help="also print the forward and backward time of each layer of a step")
    args = parser.parse_args(argv)
    if args.json:
        if os.path.isdir(args.json):
            parser.error(f"argument --json: {args.json!r} is a folder, not a file")
        try:
            cli.writable_dir(os.path.dirname(os.path.abspath(args.json)))
        except ValueError as err:
            parser.error(f"argument --json: cannot write {args.json!r}: {err}")
    repeats = 1 if args.quick else args.repeats

    rng = np.random.default_rng(args.seed)
    results = []
    source = None
    interrupted = False
    try:
        for dtype_name in args.dtype:
            dtype = np.dtype(dtype_name)
            x, t, source = load_data(dtype, rng)
            if args.quick:
                x, t = x[:6000], t[:6000]
            runs = [(name, algorithm) for name in args.config
                    for algorithm in (args.conv_algorithm if name == "deep" else ["auto"])]
            for name, algorithm in runs:
                for threads in args.threads:
                    with threadpool_limits(limits=threads or None, user_api="blas"):
                        if name in ("lstm", "gpt"):
                            bench_model = bench_lm if name == "lstm" else bench_gpt
                            r = bench_model(dtype, repeats, args.seed, args.quick, args.layers)
                        else:
                            r = bench(name, dtype, x, t, repeats, args.batch_size, args.seed, args.layers,
                                      algorithm)
                        r["threads"] = blas_threads()
                    results.append(r)
                    print(f"  {name:<11} {dtype_name} {r['threads']} thread(s): epoch "
                          f"{r['epoch_s_median']:.3f} s, floor {r['floor_s_median']:.3f} s, "
                          f"x{r['ratio_to_floor']:.2f}", file=sys.stderr)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted by Ctrl-C after {len(results)} configuration(s); "
              "printing what is finished", flush=True)

    blas = blas_info()
    header = f"{'config':<11} {'dtype':<8} {'thr':>3} {'network':<24} {'opt':<9} {'epoch s (min-max)':<22} " \
             f"{'samples/s':>10} {'floor s':>8} {'GFLOP/s':>8} {'x floor':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        span = f"{r['epoch_s_median']:.3f} ({r['epoch_s_min']:.3f}-{r['epoch_s_max']:.3f})"
        print(f"{r['config']:<11} {r['dtype']:<8} {r['threads']:>3} {r['network']:<24} {r['optimizer']:<9} "
              f"{span:<22} {r['samples_per_s']:>10.0f} {r['floor_s_median']:>8.3f} "
              f"{r['floor_gflops']:>8.1f} {r['ratio_to_floor']:>8.2f}")
    print(f"data: {source}, {results[0]['samples'] if results else 0} samples per epoch, "
          f"{repeats} timed epoch(s) each, median shown")
    for b in blas:
        print(f"BLAS: {b.get('internal_api')} {b.get('version')} ({b.get('architecture')}), "
              f"{b.get('num_threads')} thread(s) by default")
    print(f"peak memory: {peak_memory_mb():.0f} MiB; numpy {np.__version__}; "
          f"python {platform.python_version()}; {os.cpu_count()} CPU(s)")
    if args.json:
        report = {"results": results, "blas": blas, "data": source, "repeats": repeats,
                  "peak_memory_mb": peak_memory_mb(), "numpy": np.__version__,
                  "python": platform.python_version(), "cpus": os.cpu_count(), "quick": args.quick,
                  "interrupted": interrupted}
        with atomic_write(args.json) as (f, _):
            f.write(json.dumps(report, indent=2).encode())
        print(f"wrote {args.json}")
    if interrupted:
        print("stopped by Ctrl-C", flush=True)
        raise SystemExit(exits.INTERRUPTED_STATUS)
    return results


if __name__ == "__main__":
    exits.run(main)
