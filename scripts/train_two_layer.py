"""The first article: a 784-50-10 sigmoid network on MNIST, and numerical vs backprop gradients.

TwoLayerNet(784, 50, 10) (weights 0.01 * N(0, 1), zero biases) is trained with
SGD, lr 0.1, batch 100, for 6000 iterations on a 5000-image training subset (120
epochs; each epoch is a shuffled pass, each iteration its next batch). The loss of
every mini-batch is plotted against the iteration, and train/test accuracy after
every epoch (train on the 5000 images, test on all 10000).

--gradient-check also compares, on 3 training images and the untrained network,
the gradients from central differences (h = 1e-4, two forward passes per weight)
with those from backprop (one forward and one backward pass): the largest absolute
difference per parameter, and the time each took.

Writes train_two_layer.png and train_two_layer.json, plus gradient_check.json
with --gradient-check. Ctrl-C during training writes the completed epochs (curves and
numbers) and exits with status 130. A run whose loss diverges (NaN, inf, or 100 times its
first mini-batch loss) writes its completed epochs the same way, then exits with status 1
and one line on stderr saying where it diverged ("lower --lr").

Examples:
  python scripts/train_two_layer.py --gradient-check
  python scripts/train_two_layer.py --train-size 60000 --iterations 10000   # all of MNIST
"""

import time

import numpy as np

from bprop.datasets import random_subset
from bprop.layers import make_rng
from bprop.networks import TwoLayerNet
from bprop.optim import SGD, Callback, Trainer
import cli
import exits
from experiment import Outcome, script
import loaders
import outputs
import plots
import training


def gradient_check(x, t, hidden, seed):
    """Numerical and backprop gradients of a fresh float64 net on ``(x, t)``: differences and times."""
    net = TwoLayerNet(x.shape[1], hidden, 10, dtype=np.float64, rng=seed)
    x = x.astype(np.float64)
    start = time.perf_counter()
    numeric = net.numerical_gradient(x, t)
    t_numeric = time.perf_counter() - start
    start = time.perf_counter()
    backprop = net.gradient(x, t)
    t_backprop = time.perf_counter() - start
    diffs = {k: float(np.max(np.abs(backprop[k] - numeric[k]))) for k in net.params}
    return {"batch": len(x), "max_abs_diff": diffs, "seconds_numerical": t_numeric,
            "seconds_backprop": t_backprop, "speedup": t_numeric / t_backprop,
            "n_params": net.n_params()}


def options(parser):
    parser.add_argument("--train-size", type=cli.positive_int, default=5000,
                        help="training images, a random subset (default: 5000; 60000 for all)")
    parser.add_argument("--iterations", type=cli.positive_int, default=6000,
                        help="SGD steps (default: 6000)")
    parser.add_argument("--hidden", type=cli.positive_int, default=50,
                        help="hidden sigmoid units (default: 50)")
    parser.add_argument("--lr", type=cli.positive_float, default=0.1,
                        help="learning rate, > 0 (default: 0.1)")
    parser.add_argument("--batch-size", type=cli.positive_int, default=100, help="default: 100")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="of the trained network (default: float32, about twice as fast as the "
                             "article's float64; the gradient check is always float64)")
    parser.add_argument("--gradient-check", action="store_true",
                        help="compare numerical and backprop gradients (float64), and time both")


def shorten(args):
    args.train_size, args.iterations = min(args.train_size, 500), min(args.iterations, 200)


def experiment(args, plt):
    test_size = 2000 if args.quick else None
    rng = make_rng(args.seed)

    dtype = np.dtype(args.dtype)
    (x_train, t_train), (x_test, t_test) = loaders.load_data("mnist", dtype=dtype)
    x_train, t_train = random_subset(x_train, t_train, args.train_size, rng)
    x_test, t_test = random_subset(x_test, t_test, test_size, rng)
    results = {"settings": {k: getattr(args, k) for k in
                            ("train_size", "iterations", "hidden", "lr", "batch_size", "dtype", "seed")}}
    results["settings"]["test_size"] = len(x_test)

    if args.gradient_check:
        hidden = 10 if args.quick else args.hidden
        check = gradient_check(x_train[:3], t_train[:3], hidden, args.seed)
        print(f"gradient check on {check['batch']} images, 784-{hidden}-10 net "
              f"({check['n_params']} parameters):")
        for k, d in check["max_abs_diff"].items():
            print(f"  {k}: max |backprop - numerical| = {d:.3e}")
        print(f"  numerical {check['seconds_numerical']:.3f} s, backprop {check['seconds_backprop'] * 1e3:.3f} ms: "
              f"backprop is {check['speedup']:.0f}x faster")
        results["gradient_check"] = check
        outputs.save_json(check, args.out, "gradient_check.json")

    net = TwoLayerNet(784, args.hidden, 10, dtype=dtype, rng=rng)
    trainer = Trainer(net, SGD(lr=args.lr), (x_train, t_train), (x_test, t_test), batch_size=args.batch_size,
                      iterations=args.iterations, rng=rng, verbose=0, callbacks=[Reporter(12)])
    print(f"training {net.summary().splitlines()[-1].split()[-1]} parameters on {len(x_train)} images, "
          f"{args.iterations} iterations of batch {args.batch_size} "
          f"({trainer.steps_per_epoch} per epoch)")
    start = time.perf_counter()
    history, error, interrupted = training.fit(trainer, catch_interrupt=True)
    seconds = time.perf_counter() - start
    if interrupted:
        exits.interrupted(f"during epoch {history.n_epochs + 1}", finished=history.n_epochs > 0)
    # after a divergence in the first epoch there is no accuracy yet
    train_acc, test_acc = (history["train_acc"][-1], history["val_acc"][-1]) if history.n_epochs else (None, None)
    if error is None:
        print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} ({seconds:.1f} s)")

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ax = axes[0]
    steps = np.arange(1, len(history["iter_loss"]) + 1)
    ax.plot(steps, history["iter_loss"], color="C0", alpha=0.35, lw=0.7, label="mini-batch loss")
    ax.plot(steps, plots.smooth(history["iter_loss"], 50), color="C0", lw=2, label="mean of last 50")
    ax.set_xlabel("iteration")
    plots.integer_ticks(ax)
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(f"784-{args.hidden}-10 sigmoid net, SGD lr {args.lr:g}, batch {args.batch_size}")
    ax.grid(True)
    ax = axes[1]
    train_accs, test_accs = history.get("train_acc", []), history.get("val_acc", [])
    ax.plot(history["epoch"], train_accs, "-", color="C0", label=f"train ({len(x_train)} images)")
    ax.plot(history["epoch"], test_accs, "--", color="C1", label=f"test ({len(x_test)} images)")
    plots.epoch_axis(ax, len(history["epoch"]))
    plots.mark_lone_points(ax)
    ax.set_ylabel("accuracy")
    if history.n_epochs:
        ax.set_ylim(max(0.0, min(test_accs + train_accs) - 0.02), 1.0)
    ax.set_title("accuracy per epoch"
                 + (f": test {test_acc:.4f} at the end" if history.n_epochs else "")
                 + (f" (interrupted after epoch {history.n_epochs})" if interrupted else "")
                 + (f" (diverged in epoch {error.epoch})" if error else ""))
    ax.grid(True)
    plots.place_legends(fig, {axes[0]: {}, ax: {"spots": ("lower right",) + plots.LEGEND_SPOTS}})

    results.update({"train_accuracy": train_acc, "test_accuracy": test_acc, "seconds": seconds,
                    "interrupted_after_epoch": history.n_epochs if interrupted else None,
                    "diverged": None if error is None else str(error), "history": dict(history)})
    return Outcome(results, figures={"train_two_layer.png": fig}, interrupted=interrupted,
                   failure=exits.lr_failure(error, args.lr))


main = script(__doc__, "train_two_layer", experiment, options=options, shorten=shorten,
              quick="500 training images, 200 iterations, 2000 test images, a 784-10-10 net "
                       "for the gradient check")


class Reporter(Callback):
    """A Trainer callback printing the epoch's numbers about ``times`` times in a run."""

    def __init__(self, times):
        self.times = times

    def on_epoch_end(self, trainer, epoch, logs):
        total = trainer.n_epochs
        if epoch % max(total // self.times, 1) == 0 or epoch == total:
            print(f"  epoch {epoch:>4} (iteration {logs['iteration']:>5}): "
                  f"train loss {logs['train_loss']:.4f}, train acc {logs['train_acc']:.4f}, "
                  f"test acc {logs['val_acc']:.4f}")


if __name__ == "__main__":
    exits.run(main)
