"""Overfitting and two remedies: weight decay and dropout.

A deep network (784 -> 6 x 100 ReLU -> 10, He initialisation, float32) trained on
only 300 MNIST images (SGD, lr 0.01, batch 100, 200 epochs) learns them perfectly
while its test accuracy stalls far below: it overfits. The same training with an L2
penalty 0.5 * 0.1 * sum(W**2) (weight decay 0.1), then with dropout (ratio 0.2
after every hidden activation), narrows the gap between train and test accuracy.
Both also slow learning down: within 200 epochs neither reaches the plain net's test
accuracy (dropout's is still rising; try --epochs 500).

Accuracy per epoch is measured on the 300 training images and on a fixed random
1000 of the test images (to keep 600 evaluations cheap); the final test accuracy is
on all 10000.

Writes regularization.png (train/test accuracy per epoch for each setting, and the
gap), regularization.csv (final numbers) and regularization.json (every curve).
Ctrl-C writes the settings finished so far and exits with status 130. A setting whose loss
diverges (a --weight-decay too large for lr 0.01, say) is marked "diverged" with the epochs
it completed and the others are trained; the files are written, then the script exits with
status 1 and one line on stderr saying where it diverged.
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
import outputs
import plots
import training


def options(parser):
    parser.add_argument("--train-size", type=cli.positive_int, default=300,
                        help="training images (default: 300)")
    parser.add_argument("--epochs", type=cli.positive_int, default=200, help="default: 200")
    parser.add_argument("--weight-decay", type=cli.positive_float, default=0.1,
                        help="L2 strength lambda of the second setting, > 0 (default: 0.1)")
    parser.add_argument("--dropout", type=cli.open_fraction, default=0.2, metavar="RATIO",
                        help="dropout ratio of the third setting, in (0, 1) (default: 0.2)")


def shorten(args):
    args.epochs = min(args.epochs, 30)


def experiment(args, plt):
    rng = make_rng(args.seed)
    (x_train, t_train), (x_test, t_test) = loaders.load_data("mnist", dtype=np.float32)
    x_train, t_train = random_subset(x_train, t_train, args.train_size, rng)
    x_curve, t_curve = random_subset(x_test, t_test, 1000, rng)

    settings = {
        "no regularization": {},
        f"weight decay {args.weight_decay:g}": {"weight_decay_lambda": args.weight_decay},
        f"dropout {args.dropout:g}": {"use_dropout": True, "dropout_ratio": args.dropout},
    }
    # what to change when a setting diverges
    hints = dict(zip(settings, ("the learning rate 0.01 is fixed: try another --seed",
                                exits.lower("--weight-decay", args.weight_decay),
                                "try another --dropout or --seed")))
    print(f"784-100x6-10 ReLU on {len(x_train)} MNIST images, SGD lr 0.01, batch 100, {args.epochs} epochs")
    histories, rows, failure = {}, [], None
    interrupted = False
    try:
        for name, kwargs in settings.items():
            net = MultiLayerNet(784, [100] * 6, 10, activation="relu", weight_init_std="he",
                                dtype=np.float32, rng=args.seed, **kwargs)
            trainer = Trainer(net, SGD(lr=0.01), (x_train, t_train), (x_curve, t_curve), epochs=args.epochs,
                              batch_size=100, rng=args.seed + 1000, verbose=0)
            history, error, _ = training.fit(trainer)
            histories[name] = history
            if error is not None:
                rows.append([name, None, None, None])
                print(f"  {name:<20} diverged at epoch {error.epoch}")
                failure = failure or exits.diverged_line(error, hints[name], what=f"training with {name}")
                continue
            train_acc, test_acc = history["train_acc"][-1], net.accuracy(x_test, t_test)
            rows.append([name, train_acc, test_acc, train_acc - test_acc])
            print(f"  {name:<20} train {train_acc:.4f}  test {test_acc:.4f}  gap {train_acc - test_acc:.4f}")
    except KeyboardInterrupt:
        interrupted = True
        exits.interrupted(f"after {len(rows)} of {len(settings)} settings", finished=bool(rows))

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    for ax in axes[len(histories):3]:
        ax.text(0.5, 0.5, "not trained (interrupted)", transform=ax.transAxes, ha="center")
    for ax, (name, h) in zip(axes, histories.items()):
        # a setting that diverged has the epochs it completed (maybe none)
        ax.plot(h["epoch"], h.get("train_acc", []), "-", color="C0", label="train")
        ax.plot(h["epoch"], h.get("val_acc", []), "-", color="C1", label="test (1000 images)")
        ax.set_title(name + (" (diverged)" if h["diverged"] else ""))
        plots.epoch_axis(ax, len(h["epoch"]))
        plots.mark_lone_points(ax)
        ax.set_ylim(0, 1.02)
        ax.grid(True)
    axes[0].set_ylabel("accuracy")
    ax = axes[3]
    for k, (name, h) in enumerate(histories.items()):
        gap = np.array(h.get("train_acc", []), dtype=float) - np.array(h.get("val_acc", []), dtype=float)
        ax.plot(h["epoch"], gap, color=f"C{k + 2}", label=name)
    ax.set_title("train - test accuracy")
    plots.epoch_axis(ax, max((len(h["epoch"]) for h in histories.values()), default=1))
    plots.mark_lone_points(ax)
    ax.grid(True)
    fig.suptitle(f"Overfitting {len(x_train)} MNIST images with a 784-100x6-10 ReLU net, and two remedies")
    plots.place_legends(fig, {axes[0]: {"spots": ("lower right",) + plots.LEGEND_SPOTS}, ax: {}})

    header = ["setting", "train_acc", "test_acc", "gap"]
    print(outputs.format_table(header, rows))
    results = {"settings": {"train_size": len(x_train), "epochs": args.epochs, "lr": 0.01, "batch_size": 100,
                            "weight_decay": args.weight_decay, "dropout": args.dropout, "seed": args.seed},
               "table": [dict(zip(header, r)) for r in rows], "interrupted": interrupted,
               "curves": {name: {**{k: h.get(k, []) for k in ("train_acc", "val_acc", "train_loss", "val_loss")},
                                 "diverged": h["diverged"]}
                          for name, h in histories.items()}}
    return Outcome(results, figures={"regularization.png": fig}, tables={"regularization.csv": (header, rows)},
                   interrupted=interrupted, failure=failure)


main = script(__doc__, "regularization", experiment, options=options, shorten=shorten,
              quick="30 epochs")


if __name__ == "__main__":
    exits.run(main)
