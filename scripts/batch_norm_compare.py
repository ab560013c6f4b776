"""Batch normalisation: training curves with and without it, across initial weight scales.

A 784-100-100-100-100-100-10 ReLU network is trained on 1000 MNIST images (SGD, lr
0.01, batch 100, 20 epochs, float32) from Gaussian initial weights of 16 standard
deviations between 1 and 1e-4 (logarithmically spaced), once plain and once with a
BatchNormalization after every hidden Affine layer. Each panel shows the training
accuracy (on the 1000 images, in inference mode) per epoch for one scale. Without
batch normalisation only scales near He's sqrt(2/100) = 0.14 learn: smaller ones stay
at chance (the signal vanishes through the layers), larger ones diverge. With it, the
network learns from scales over two orders of magnitude smaller as well; at the
largest scales it learns slowly (the gradients of W shrink as W grows), and below
about 1e-3 the layers' variance falls under BatchNormalization's eps (1e-5).
A run whose loss becomes NaN or infinite stops there and is marked "diverged".

Writes batch_norm_compare.png, batch_norm_compare.csv (final accuracies per scale)
and batch_norm_compare.json (every curve). Ctrl-C writes the scales finished so far
(both runs done) and exits with status 130.
"""

import numpy as np

from bprop.datasets import random_subset
from bprop.layers import make_rng
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Trainer
import cli
import exits
from experiment import Outcome, script
import loaders
import plots
import training


def train(x, t, x_test, t_test, scale, batchnorm, epochs, seed):
    """Train once; return (train accuracy per epoch, test accuracy or None, diverged)."""
    net = MultiLayerNet(784, [100] * 5, 10, activation="relu", weight_init_std=scale,
                        use_batchnorm=batchnorm, dtype=np.float32, rng=seed)
    trainer = Trainer(net, SGD(lr=0.01), (x, t), epochs=epochs, batch_size=100, rng=seed + 1000, verbose=0)
    history, error, _ = training.fit(trainer)
    if error is not None:  # maybe in epoch 1, before any 'train_acc' was recorded
        return history.get("train_acc", []), None, True
    return history["train_acc"], net.accuracy(x_test, t_test), False


def options(parser):
    parser.add_argument("--train-size", type=cli.positive_int, default=1000,
                        help="training images (default: 1000)")
    parser.add_argument("--epochs", type=cli.positive_int, default=20, help="default: 20")
    parser.add_argument("--scales", type=cli.positive_int, default=16,
                        help="number of weight scales from 1 to 1e-4 (default: 16)")


def shorten(args):
    args.train_size, args.epochs, args.scales = min(args.train_size, 300), min(args.epochs, 3), 4


def experiment(args, plt):
    rng = make_rng(args.seed)
    (x_train, t_train), (x_test, t_test) = loaders.load_data("mnist", dtype=np.float32)
    x_train, t_train = random_subset(x_train, t_train, args.train_size, rng)

    scales = np.logspace(0, -4, num=args.scales)
    rows, curves = [], []
    print(f"784-100x5-10 ReLU on {len(x_train)} MNIST images, SGD lr 0.01, batch 100, {args.epochs} epochs")
    print("weight std  train acc (BN / plain)  test acc (BN / plain)")
    interrupted = False
    try:
        for scale in scales:
            bn = train(x_train, t_train, x_test, t_test, scale, True, args.epochs, args.seed)
            plain = train(x_train, t_train, x_test, t_test, scale, False, args.epochs, args.seed)
            curves.append({"scale": scale, "batchnorm": bn[0], "plain": plain[0],
                           "batchnorm_diverged": bn[2], "plain_diverged": plain[2]})
            row = [float(scale), bn[0][-1] if bn[0] else None, plain[0][-1] if plain[0] else None,
                   bn[1], plain[1]]
            rows.append(row)
            print(f"  {scale:9.2e}  {_fmt(row[1], bn[2])} / {_fmt(row[2], plain[2])}"
                  f"       {_fmt(bn[1], bn[2])} / {_fmt(plain[1], plain[2])}")
    except KeyboardInterrupt:
        interrupted = True
        exits.interrupted(f"after {len(curves)} of {len(scales)} weight scales", finished=bool(curves))

    n = len(curves)
    cols = 4 if n >= 4 else n
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 2.7 * nrows), sharex=True, sharey=True,
                             squeeze=False)
    epochs = np.arange(1, args.epochs + 1)
    for ax, c in zip(axes.ravel(), curves):
        for key, style, label in (("batchnorm", "-", "with batch norm"), ("plain", "--", "without")):
            acc = c[key]
            color = "C0" if key == "batchnorm" else "C1"
            ax.plot(epochs[:len(acc)], acc, style, color=color, lw=1.8, label=label)
            if c[f"{key}_diverged"]:
                ax.text(0.5, 0.5 if key == "plain" else 0.6, f"{label}: diverged", transform=ax.transAxes,
                        ha="center", color=color, fontsize="small")
        ax.set_title(f"weight std {c['scale']:.2g}")
        ax.set_ylim(0, 1.02)
        ax.grid(True)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax in axes.ravel()[:n]:
        plots.epoch_axis(ax, args.epochs, label=None)
        plots.mark_lone_points(ax, values=False)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("train accuracy")
    fig.suptitle(f"784-100x5-10 ReLU on {len(x_train)} MNIST images: training accuracy with and "
                 "without batch normalisation, by initial weight scale")
    plots.place_legends(fig, {axes[0, 0]: {"spots": ("lower right",) + plots.LEGEND_SPOTS}})

    header = ["weight_std", "train_acc_batchnorm", "train_acc_plain", "test_acc_batchnorm", "test_acc_plain"]
    results = {"settings": {"train_size": len(x_train), "epochs": args.epochs, "lr": 0.01,
                            "batch_size": 100, "seed": args.seed, "scales": len(scales)},
               "interrupted": interrupted,
               "table": [dict(zip(header, r)) for r in rows], "curves": curves}
    return Outcome(results, figures={"batch_norm_compare.png": fig},
                   tables={"batch_norm_compare.csv": (header, rows)}, interrupted=interrupted)


main = script(__doc__, "batch_norm_compare", experiment, options=options, shorten=shorten,
              quick="4 scales, 3 epochs, 300 training images")


def _fmt(value, diverged):
    return "diverged" if diverged else ("   -   " if value is None else f"{value:.4f}")


if __name__ == "__main__":
    exits.run(main)
