"""Train a convolutional network on MNIST or Fashion-MNIST: SimpleConvNet, or DeepConvNet with --deep.

SimpleConvNet is conv(30 filters 5x5) - ReLU - 2x2 max pool - affine(100) - ReLU -
affine(10) - softmax; by default it is trained from He-initialised weights with Adam,
lr 0.001 decayed by 0.8 per epoch, batch 100, for 10 epochs in float32 (99.0% test
accuracy on MNIST, about 10-15 s per epoch on 2 cores). --deep trains the textbook's
VGG-like DeepConvNet instead (six 3x3 convolutions, three poolings, dropout; about
99.3-99.4% on MNIST, about 45 s per epoch with --threads 2 on 2 cores). Every epoch is a shuffled pass over
the 60000 training images; after each one the loss and accuracy are measured on a fixed
random 10000 of them and on the 10000 test images (the curves only: nothing is chosen
with the test set).

Writes PREFIX.png (mini-batch loss per iteration, loss and accuracy per epoch),
PREFIX_filters.png (the first-layer filters before and after training, as image
grids), PREFIX.json (settings, history, test accuracy, seconds per epoch) and
PREFIX_weights.npz (net.load_params reads it), with PREFIX convnet_mnist,
deep_convnet_mnist, convnet_fashion_mnist or deep_convnet_fashion_mnist. Ctrl-C stops
training cleanly: the files then hold the completed epochs (the weights and filters as
of the last one) and the script exits with status 130. A run whose loss diverges (NaN,
inf, or 100 times its first mini-batch loss) writes the files of its completed epochs, then
exits with status 1 and one line on stderr saying where it diverged ("lower --lr"). With
--checkpoint PATH the whole training state is written to PATH after every epoch, so that a
run stopped by Ctrl-C or killed continues with the same command plus --resume, ending
exactly where the uninterrupted run would have; a --resume with another value of an option
the run depends on is refused (status 2).

Examples:
  python scripts/train_convnet.py                          # SimpleConvNet, ~99%
  python scripts/train_convnet.py --deep --verbose 2       # DeepConvNet, ~99.3%+
  python scripts/train_convnet.py --dataset fashion-mnist --epochs 15
  python scripts/train_convnet.py --optimizer momentum --lr 0.01 --init 0.01
  python scripts/train_convnet.py --deep --checkpoint deep.npz             # Ctrl-C, then:
  python scripts/train_convnet.py --deep --checkpoint deep.npz --resume

Speed: the scripts use one BLAS thread by default (--threads). Convolution, pooling
and Affine layers split their work over the threads --threads gives (whole chunks of
the batch, each with one BLAS thread): on an idle 2-core machine --threads 2 trains
SimpleConvNet about 1.3x and DeepConvNet about 1.4x faster than one thread, with the
same results bit for bit (on one machine and BLAS kernel: the work is cut into the same
blocks at any thread count). When other processes keep the cores busy, stay with one.
"""

import time

import numpy as np

from bprop.datasets import MiniBatchIterator, random_subset
from bprop.layers import make_rng
from bprop.networks import DeepConvNet, SimpleConvNet
from bprop.optim import OPTIMIZERS, Trainer, get_optimizer
from bprop.optim.schedules import COMMAND_LINE_SCHEDULES, make_schedule
import cli
import exits
from experiment import Outcome, script
import loaders
import plots
import training


def build_parser():
    parser = cli.make_parser(__doc__, quick="500 training and 500 test images, 1 epoch (seconds)")
    add = parser.add_argument
    add("--dataset", choices=("mnist", "fashion-mnist"), default="mnist", help="default: mnist")
    add("--deep", action="store_true", help="train DeepConvNet instead of SimpleConvNet")
    add("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="default: adam")
    add("--lr", type=cli.positive_float, default=0.001, help="learning rate, > 0 (default: 0.001)")
    add("--epochs", type=cli.positive_int, default=10, help="default: 10")
    add("--batch-size", type=cli.positive_int, default=100, help="default: 100")
    add("--init", type=cli.weight_init, default="he",
        help="weight init: he, xavier or a standard deviation > 0 (default: he)")
    add("--weight-decay", type=cli.nonneg_float, default=0.0, help="L2 strength lambda, >= 0 (default: 0)")
    add("--lr-schedule", choices=("none", *COMMAND_LINE_SCHEDULES), default="exponential",
        help="decay the lr per epoch: lr * gamma**epoch (exponential) or "
             "lr * gamma**(epoch // step-size) (step) (default: exponential)")
    add("--lr-gamma", type=cli.positive_float, default=0.8, help="decay factor, > 0 (default: 0.8)")
    add("--lr-step-size", type=cli.positive_int, default=5, help="epochs between step decays (default: 5)")
    add("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    add("--train-size", type=cli.positive_int, default=None, help="train on a random subset of this many images")
    add("--verbose", type=int, choices=(0, 1, 2), default=1,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 1)")
    training.add_checkpoint_args(parser)
    return parser


def shorten(args):
    args.train_size, args.epochs = min(args.train_size or 500, 500), 1


def experiment(args, plt, settings):
    test_size, train_eval_size = (500, 500) if args.quick else (None, 10000)
    rng = make_rng(args.seed)
    dtype = np.dtype(args.dtype)
    name = "deep_convnet" if args.deep else "convnet"
    prefix = f"{name}_{args.dataset.replace('-', '_')}"

    (x_train, t_train), (x_test, t_test) = loaders.load_data(args.dataset, dtype=dtype)
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    x_train, t_train = random_subset(x_train, t_train, args.train_size, rng)
    x_test, t_test = random_subset(x_test, t_test, test_size, rng)

    if args.deep:
        net = DeepConvNet(weight_init_std=args.init, weight_decay_lambda=args.weight_decay, dtype=dtype, rng=rng)
    else:
        net = SimpleConvNet(weight_init_std=args.init, weight_decay_lambda=args.weight_decay, dtype=dtype, rng=rng)
    filters_before = net.params["W1"].copy()
    optimizer = get_optimizer(args.optimizer, lr=args.lr)
    last_epoch = training.LastEpoch(net)
    # The test set in small batches: a 1000-image batch would unroll a 450 MB im2col matrix in
    # DeepConvNet. (The Trainer evaluates the training subset in batches of 1000.)
    test_batches = MiniBatchIterator(x_test, t_test, 200, shuffle=False)
    trainer = training.make_trainer(args, lambda: Trainer(
        net, optimizer, (x_train, t_train), test_batches, epochs=args.epochs, batch_size=args.batch_size,
        rng=rng, verbose=args.verbose, eval_train=train_eval_size,
        schedule=make_schedule(args.lr_schedule, args.lr, args.lr_step_size, args.lr_gamma),
        callbacks=[last_epoch, settings], checkpoint=args.checkpoint, resume=args.resume))
    print(f"{args.dataset}: {type(net).__name__} ({net.n_params()} parameters, init {args.init}), "
          f"{optimizer!r}, batch {args.batch_size}, {args.epochs} epochs, {args.dtype}, "
          f"{len(x_train)} training images")
    if args.verbose:
        print(net.summary())
    history, error, interrupted, seconds = training.run_training(trainer, last_epoch, args, "epoch", args.epochs)
    diverged = None if error is None else str(error)
    epoch_seconds = np.diff([0.0] + history.get("time", [])).tolist()
    test_acc = None
    done = history.n_epochs
    if interrupted:
        # The test set is the per-epoch validation set: its accuracy after the last
        # completed epoch is already measured.
        test_acc = history["val_acc"][-1]
        print(f"test accuracy {test_acc:.4f} ({len(x_test)} images) after epoch {done}")
    elif diverged is None:
        eval_start = time.perf_counter()
        test_acc = net.accuracy(x_test, t_test, batch_size=200)
        eval_seconds = time.perf_counter() - eval_start
        print(f"test accuracy {test_acc:.4f} ({len(x_test)} images); training took {seconds:.1f} s, "
              f"{np.mean(epoch_seconds):.1f} s per epoch (including the per-epoch evaluation of "
              f"{min(train_eval_size, len(x_train)) + len(x_test)} images; the test set alone takes "
              f"{eval_seconds:.1f} s)")

    results = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
        "network": type(net).__name__, "n_params": net.n_params(), "summary": net.summary(),
        "test_accuracy": test_acc, "seconds": seconds, "seconds_per_epoch": epoch_seconds,
        "diverged": diverged, "interrupted_after_epoch": history.n_epochs if interrupted else None,
        "history": dict(history),
    }
    figures = {}
    if history["epoch"]:
        title = (f"{args.dataset} {type(net).__name__}, {args.optimizer} lr {args.lr:g}, batch {args.batch_size}"
                 + (f", test accuracy {test_acc:.4f}" if test_acc is not None else ", diverged")
                 + (f" (interrupted after epoch {history.n_epochs})" if interrupted else ""))
        figures[f"{prefix}.png"] = plots.plot_history(plt, history, title)
        figures[f"{prefix}_filters.png"] = _plot_filters(plt, filters_before, net.params["W1"],
                                                         f"{type(net).__name__}: first-layer filters")
    # after a divergence, the weights of the last completed epoch
    training.save_weights(net, args.out, prefix, history, stopped_early=bool(interrupted or diverged))
    return Outcome(results, figures=figures, interrupted=interrupted, failure=exits.lr_failure(error, args.lr),
                   results_name=f"{prefix}.json")


main = script(__doc__, "train_convnet", experiment, parser=build_parser, shorten=shorten, settings=True)


def _filter_grid(W, columns):
    """(FN, C, FH, FW) filters (channel-averaged) as one image, each scaled to [0, 1], 1-pixel gaps."""
    w = W.astype(np.float64).mean(axis=1)
    lo = w.min(axis=(1, 2), keepdims=True)
    span = w.max(axis=(1, 2), keepdims=True) - lo
    w = (w - lo) / np.where(span > 0, span, 1.0)
    fn, fh, fw = w.shape
    rows = -(-fn // columns)
    grid = np.full((rows * (fh + 1) - 1, columns * (fw + 1) - 1), np.nan)
    for k in range(fn):
        r, c = divmod(k, columns)
        grid[r * (fh + 1):r * (fh + 1) + fh, c * (fw + 1):c * (fw + 1) + fw] = w[k]
    return grid


def _plot_filters(plt, before, after, title):
    columns = min(10, len(before))
    fig, axes = plt.subplots(2, 1, figsize=(columns * 0.9, 2 * (-(-len(before) // columns)) * 0.9 + 1.2))
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    for ax, W, label in ((axes[0], before, "before training"), (axes[1], after, "after training")):
        ax.imshow(_filter_grid(W, columns), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label)
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    exits.run(main)
