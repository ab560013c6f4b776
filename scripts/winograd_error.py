"""The float32 error of im2col and Winograd F(2x2, 3x3) and F(4x4, 3x3) on DeepConvNet's convolutions.

A float32 DeepConvNet (He-initialised with --seed, or the weights of --weights) runs
forward and backward on MNIST test images. Each of its six 3x3 convolutions is then
computed again from exactly the float32 input, filters and output gradient it saw, by
im2col and by Winograd with output tiles of 2 and of 4, all in float32, and compared with
the same convolution in float64 (im2col: a direct sum of products). Printed per layer and
algorithm, for y, dx and dW: the largest absolute error, and the relative RMS error
``||err|| / ||reference||``. The numbers go to OUT/winograd_error.json.

Examples:
  python scripts/winograd_error.py                    # 100 test images, untrained weights
  python scripts/winograd_error.py --weights results/deep_convnet_mnist_weights.npz
"""

import json
from pathlib import Path

import numpy as np

from bprop.layers import Convolution
from bprop.layers.winograd import WinogradConv
from bprop.networks import DeepConvNet
import cli
import loaders

#: the algorithms compared: name -> Winograd tile (None: im2col)
ALGORITHMS = {"im2col": None, "winograd m=2": 2, "winograd m=4": 4}


def conv_inputs(net, x, t):
    """``{name: (x, dout)}``: what each Convolution of ``net`` saw in one forward (no
    dropout) and backward pass on ``x``, ``t``."""
    seen, h = {}, x.reshape((len(x),) + net.input_shape)
    with net.threads():
        for name, layer in net.layers.items():
            if isinstance(layer, Convolution):
                seen[name] = [h]
            h = layer.forward(h, train=False)
        net.last_layer.forward(h, t)
        d = net.last_layer.backward(1.0)
        for name, layer in reversed(net.layers.items()):
            if name in seen:
                seen[name].append(d)
            d = layer.backward(d)
    return {name: tuple(pair) for name, pair in seen.items()}


def conv_results(layer, x, dout, dtype, tile):
    """``(y, dx, dW)`` of ``layer``'s convolution of ``x`` in ``dtype``, by im2col
    (``tile`` None) or Winograd with that tile."""
    W, b = layer.W.astype(dtype), layer.b.astype(dtype)
    x, dout = x.astype(dtype), dout.astype(dtype)
    if tile is None:
        conv = Convolution(W, b, stride=layer.stride, pad=layer.pad, algorithm="im2col")
        y = conv.forward(x)
        return y, conv.backward(dout), conv.dW
    wino = WinogradConv(x, layer.pad, dtype, tile)
    y = wino.affine(W, b)
    dW, _, dx = wino.gradients(dout, W)
    return y, dx, dW


def errors(value, ref):
    """``(max |value - ref|, ||value - ref|| / ||ref||)``."""
    err = value.astype(np.float64) - ref
    return float(np.abs(err).max()), float(np.linalg.norm(err) / np.linalg.norm(ref))


def measure(net, x, t):
    """Rows ``{layer, shape, algorithm, y_max_abs, y_rel_rms, dx_..., dW_..., y_max}`` for
    every Convolution of ``net`` and every algorithm of :data:`ALGORITHMS`."""
    rows = []
    for name, (h, d) in conv_inputs(net, x, t).items():
        layer = net.layers[name]
        fn, c = layer.W.shape[:2]
        refs = conv_results(layer, h, d, np.float64, None)
        for algorithm, tile in ALGORITHMS.items():
            row = {"layer": name, "shape": f"{c}->{fn} {h.shape[2]}x{h.shape[3]}", "algorithm": algorithm,
                   "y_max": float(np.abs(refs[0]).max())}
            for what, value, ref in zip(("y", "dx", "dW"), conv_results(layer, h, d, np.float32, tile), refs):
                row[f"{what}_max_abs"], row[f"{what}_rel_rms"] = errors(value, ref)
            rows.append(row)
    return rows


def format_table(rows):
    """The rows as a plain-text table."""
    head = f"{'layer':6} {'shape':12} {'algorithm':13} {'max|y|':>8}"
    head += "".join(f" {w + ' max-abs':>11} {w + ' rel-RMS':>11}" for w in ("y", "dx", "dW"))
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{r['layer']:6} {r['shape']:12} {r['algorithm']:13} {r['y_max']:8.3g}"
        line += "".join(f" {r[w + '_max_abs']:11.2e} {r[w + '_rel_rms']:11.2e}" for w in ("y", "dx", "dW"))
        lines.append(line)
    return "\n".join(lines)


def main(argv=None):
    parser = cli.make_parser(__doc__, quick="20 images instead of --images")
    parser.add_argument("--images", type=cli.positive_int, default=100,
                        help="how many MNIST test images, the first ones (default: 100)")
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="a DeepConvNet's saved weights (train_convnet.py --deep writes them); "
                             "default: He-initialised from --seed")
    args = parser.parse_args(argv)
    n = 20 if args.quick else args.images
    _, (x_test, t_test) = loaders.load_data("mnist", dtype=np.float32)
    net = DeepConvNet(dtype=np.float32, rng=args.seed)
    if args.weights:
        net.load_params(args.weights)
    rows = measure(net, x_test[:n], t_test[:n])
    weights = args.weights or f"He-initialised, seed {args.seed}"
    print(f"float32 error against float64, DeepConvNet ({weights}), {n} MNIST test images")
    print(format_table(rows))
    path = Path(args.out) / "winograd_error.json"
    path.write_text(json.dumps({"images": n, "weights": weights, "rows": rows}, indent=1))
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
