"""Random search over the learning rate and weight decay, judged on a validation split.

From 500 MNIST training images, 20% (100) are held out for validation and never
trained on; the test set is not touched. Each trial draws lr = 10**U(-6, -2) and
weight_decay = 10**U(-8, -4) (log-uniform), trains a 784 -> 6 x 100 ReLU -> 10
network (He initialisation, float32) with SGD, batch 100, for 50 epochs on the other
400 images, and records the validation accuracy after the last epoch. 100 trials.
The scatter shows where in the (lr, weight decay) plane good trials lie (lr matters
far more than weight decay in this range); the curves show the best trials.

Writes hyperparameter_search.png, hyperparameter_search.csv (every trial, best
first) and hyperparameter_search.json. Ctrl-C writes the trials finished so far and
exits with status 130.
"""

import numpy as np

from bprop.datasets import train_val_split
from bprop.layers import make_rng
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Trainer
import common


def trial(lr, weight_decay, data, epochs, seed):
    """Train one network; return its history (val_acc per epoch)."""
    (x_train, t_train), (x_val, t_val) = data
    net = MultiLayerNet(784, [100] * 6, 10, activation="relu", weight_init_std="he",
                        weight_decay_lambda=weight_decay, dtype=np.float32, rng=seed)
    return Trainer(net, SGD(lr=lr), x_train, t_train, x_val, t_val, epochs=epochs, batch_size=100,
                   rng=seed + 1000, verbose=0).fit()


#: MNIST's training images
N_TRAIN = 60000


def _check_split(args):
    n = min(args.train_size, N_TRAIN)
    n_val = round(n * args.val_fraction)
    if not 0 < n_val < n:
        return (f"argument --val-fraction: {args.val_fraction:g} of --train-size {n} leaves {n_val} "
                f"images for validation and {n - n_val} for training; both need at least one")
    return None


def main(argv=None):
    parser = common.make_parser(__doc__, quick="6 trials of 5 epochs")
    parser.add_argument("--trials", type=common.positive_int, default=100, help="default: 100")
    parser.add_argument("--epochs", type=common.positive_int, default=50, help="per trial (default: 50)")
    parser.add_argument("--train-size", type=common.positive_int, default=500,
                        help="images, validation split included (default: 500)")
    parser.add_argument("--val-fraction", type=common.open_fraction, default=0.2,
                        help="fraction held out for validation, in (0, 1) (default: 0.2)")
    parser.add_check(_check_split)
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs = min(args.trials, 6), min(args.epochs, 5)
    plt = common.pyplot(args.show)
    rng = make_rng(args.seed)
    (x_train, t_train), _ = common.load_data("mnist", dtype=np.float32)
    x_train, t_train = common.subset(x_train, t_train, args.train_size, rng)
    data = train_val_split(x_train, t_train, args.val_fraction, rng=rng)
    print(f"{args.trials} trials: 784-100x6-10 ReLU, SGD, batch 100, {args.epochs} epochs on "
          f"{len(data[0][0])} images, validated on {len(data[1][0])}")

    trials = []
    interrupted = False
    try:
        for i in range(args.trials):
            lr = 10 ** rng.uniform(-6, -2)
            wd = 10 ** rng.uniform(-8, -4)
            history = trial(lr, wd, data, args.epochs, args.seed + i)
            trials.append({"trial": i + 1, "lr": lr, "weight_decay": wd, "val_acc": history["val_acc"][-1],
                           "train_acc": history["train_acc"][-1], "val_curve": history["val_acc"],
                           "train_curve": history["train_acc"]})
            if args.trials <= 20 or (i + 1) % 10 == 0:
                best = max(t["val_acc"] for t in trials)
                print(f"  trial {i + 1:>3}: lr {lr:.2e}, weight decay {wd:.2e} -> val acc "
                      f"{history['val_acc'][-1]:.3f} (best so far {best:.3f})")
    except KeyboardInterrupt:
        interrupted = True
        common.interrupted(f"after {len(trials)} of {args.trials} trials", finished=bool(trials))
    ranked = sorted(trials, key=lambda t: -t["val_acc"])
    top = min(5, len(ranked))
    print(f"best {top} of {len(ranked)}:")
    for t in ranked[:top]:
        print(f"  val acc {t['val_acc']:.3f}  train acc {t['train_acc']:.3f}  lr {t['lr']:.2e}  "
              f"weight decay {t['weight_decay']:.2e}")

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    ax = axes[0]
    lr = np.array([t["lr"] for t in trials])
    wd = np.array([t["weight_decay"] for t in trials])
    acc = np.array([t["val_acc"] for t in trials])
    points = ax.scatter(lr, wd, c=acc, cmap="viridis", vmin=0, vmax=max(acc.max(), 0.1), s=45,
                        edgecolors="k", linewidths=0.4)
    fig.colorbar(points, ax=ax, label="validation accuracy")
    ax.scatter([ranked[0]["lr"]], [ranked[0]["weight_decay"]], marker="*", s=400, facecolors="none",
               edgecolors="r", linewidths=1.5, label=f"best: {ranked[0]['val_acc']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-6, 1e-2)
    ax.set_ylim(1e-8, 1e-4)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("weight decay")
    ax.set_title(f"{len(trials)} random trials, validation accuracy after {args.epochs} epochs")
    ax.legend(loc="upper left")
    ax = axes[1]
    n_best = min(10, len(ranked))
    for t in ranked[n_best:]:
        ax.plot(np.arange(1, args.epochs + 1), t["val_curve"], color="0.8", lw=0.8)
    for k, t in enumerate(ranked[:n_best]):
        ax.plot(np.arange(1, args.epochs + 1), t["val_curve"], color=f"C{k}", lw=1.6,
                label=f"lr {t['lr']:.1e}, wd {t['weight_decay']:.1e}: {t['val_acc']:.3f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"the {n_best} best trials (the others in grey)")
    ax.grid(True)
    ax.legend(loc="upper left", fontsize="x-small")
    fig.tight_layout()

    header = ["rank", "trial", "lr", "weight_decay", "val_acc", "train_acc"]
    rows = [[r + 1, t["trial"], t["lr"], t["weight_decay"], t["val_acc"], t["train_acc"]]
            for r, t in enumerate(ranked)]
    common.save_figure(fig, args.out, "hyperparameter_search.png")
    common.save_csv(header, rows, args.out, "hyperparameter_search.csv")
    results = {"settings": {"trials": args.trials, "epochs": args.epochs, "train_size": len(data[0][0]),
                            "val_size": len(data[1][0]), "seed": args.seed,
                            "lr_range": [1e-6, 1e-2], "weight_decay_range": [1e-8, 1e-4],
                            "trials_finished": len(trials)},
               "interrupted": interrupted,
               "best": {k: ranked[0][k] for k in ("lr", "weight_decay", "val_acc", "train_acc")},
               "trials": ranked}
    common.save_json(results, args.out, "hyperparameter_search.json")
    common.finish(plt, args.show, interrupted, args.out)
    return results


if __name__ == "__main__":
    common.run(main)
