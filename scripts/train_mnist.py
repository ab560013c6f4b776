"""Train a fully connected network on MNIST or Fashion-MNIST: the general command.

By default a 784-100-10 ReLU network (He initialisation) is trained with SGD, lr 0.1,
batch 100, for 10 epochs in float32 (about 97% test accuracy in a few seconds). Every
epoch is a shuffled pass over the 60000 training images; after each one the loss and
accuracy are measured on a fixed random 10000 of them and on the 10000 test images
(or on a validation split with --val-fraction, which early stopping then watches).

Writes PREFIX.png (mini-batch loss per iteration, loss and accuracy per epoch),
PREFIX.json (settings, history, test accuracy, time) and PREFIX_weights.npz (the
trained parameters, which net.load_params reads), with PREFIX train_mnist or
train_fashion_mnist. Ctrl-C stops training cleanly: the three files then hold the
completed epochs (the weights as of the last one) and the script exits with status 130.
A run whose loss diverges (NaN, inf, or 100 times its first mini-batch loss) writes the
same three files of its completed epochs, then exits with status 1 and one line on stderr
saying where it diverged ("lower --lr"). With --checkpoint PATH the whole training state is
written to PATH after every epoch, so that a run stopped by Ctrl-C or killed continues with
the same command plus --resume, ending exactly where the uninterrupted run would have; a
--resume with another value of an option the run depends on is refused (status 2).

Examples:
  python scripts/train_mnist.py                                          # 784-100-10, ~97%
  python scripts/train_mnist.py --hidden 100 100 --optimizer adam --lr 1e-3 --batchnorm
  python scripts/train_mnist.py --dataset fashion-mnist --dropout 0.2 --epochs 20
  python scripts/train_mnist.py --val-fraction 0.1 --patience 3 --epochs 50
  python scripts/train_mnist.py --epochs 20 --checkpoint run.npz            # Ctrl-C, then:
  python scripts/train_mnist.py --epochs 20 --checkpoint run.npz --resume

  # the fourth article's net: 784-15-10 sigmoid, weights N(0, 1)
  python scripts/train_mnist.py --hidden 15 --activation sigmoid --init 1.0 --lr 3.0 --batch-size 10
  # the fifth article's: 784-64-10 sigmoid, Xavier, full-batch gradient descent with lr 0.1
  python scripts/train_mnist.py --hidden 64 --activation sigmoid --init xavier --batch-size 60000 --epochs 1000
"""


import numpy as np

from bprop.datasets import class_names, random_subset, train_val_split
from bprop.layers import ACTIVATIONS, make_rng
from bprop.networks import MultiLayerNet
from bprop.optim import OPTIMIZERS, EarlyStopping, Trainer, get_optimizer
from bprop.optim.schedules import COMMAND_LINE_SCHEDULES, make_schedule
import cli
import exits
from experiment import Outcome, script
import loaders
import plots
import training


#: training images of both datasets, and of the --quick subset
N_TRAIN, N_TRAIN_QUICK = 60000, 2000


def build_parser():
    parser = cli.make_parser(__doc__, quick=f"{N_TRAIN_QUICK} training and 2000 test images, 2 epochs")
    add = parser.add_argument
    add("--dataset", choices=("mnist", "fashion-mnist"), default="mnist", help="default: mnist")
    add("--hidden", type=cli.positive_int, nargs="*", default=[100], metavar="N",
        help="hidden layer widths, e.g. --hidden 100 100 (default: 100; none: a linear classifier)")
    add("--activation", choices=sorted(ACTIVATIONS), default="relu", help="default: relu")
    add("--init", type=cli.weight_init, default=None,
        help="he, xavier, an activation's name (its default init) or a standard deviation > 0 "
             "(default: the activation's own: he for relu and leaky_relu, xavier for sigmoid and tanh)")
    add("--optimizer", choices=sorted(OPTIMIZERS), default="sgd", help="default: sgd")
    add("--lr", type=cli.positive_float, default=0.1, help="learning rate, > 0 (default: 0.1)")
    add("--epochs", type=cli.positive_int, default=10, help="default: 10")
    add("--batch-size", type=cli.positive_int, default=100, help="default: 100")
    add("--weight-decay", type=cli.nonneg_float, default=0.0,
        help="L2 strength lambda, >= 0 (default: 0)")
    add("--batchnorm", action="store_true", help="batch normalisation after every hidden Affine")
    add("--dropout", type=cli.fraction, default=0.0, metavar="RATIO",
        help="dropout ratio in [0, 1) after every hidden activation (default: 0, no dropout)")
    add("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    add("--train-size", type=cli.positive_int, default=None,
        help="train on a random subset of this many images")
    add("--val-fraction", type=cli.fraction, default=0.0,
        help="hold out this fraction, in [0, 1), of the training images for validation (default: "
             "0: the per-epoch curves use the test set, and nothing is chosen with it)")
    add("--patience", type=cli.positive_int, default=None,
        help="early stopping on validation loss (needs --val-fraction); the best epoch's weights are kept")
    add("--lr-schedule", choices=("none", *COMMAND_LINE_SCHEDULES), default="none",
        help="decay the lr per epoch (default: none)")
    add("--lr-gamma", type=cli.positive_float, default=0.5, help="decay factor, > 0 (default: 0.5)")
    add("--lr-step-size", type=cli.positive_int, default=5, help="epochs between step decays (default: 5)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 1)")
    training.add_checkpoint_args(parser)
    parser.add_check(_check_validation)
    return parser


def _check_validation(args):
    if args.patience is not None and args.val_fraction == 0:
        return (f"argument --patience: early stopping (--patience {args.patience}) needs a validation "
                "split: add e.g. --val-fraction 0.1")
    if args.val_fraction > 0:
        n = min(args.train_size or N_TRAIN, N_TRAIN_QUICK if args.quick else N_TRAIN)
        n_val = round(n * args.val_fraction)
        if not 0 < n_val < n:
            return (f"argument --val-fraction: {args.val_fraction:g} of {n} training images leaves "
                    f"{n_val} for validation and {n - n_val} for training; both need at least one")
    return None


def shorten(args):
    args.train_size = min(args.train_size or N_TRAIN_QUICK, N_TRAIN_QUICK)
    args.epochs = min(args.epochs, 2)


def experiment(args, plt, settings):
    test_size = 2000 if args.quick else None
    rng = make_rng(args.seed)
    dtype = np.dtype(args.dtype)
    prefix = "train_" + args.dataset.replace("-", "_")

    (x_train, t_train), (x_test, t_test) = loaders.load_data(args.dataset, dtype=dtype)
    x_train, t_train = random_subset(x_train, t_train, args.train_size, rng)
    x_test, t_test = random_subset(x_test, t_test, test_size, rng)
    if args.val_fraction > 0:
        (x_train, t_train), (x_val, t_val) = train_val_split(x_train, t_train, args.val_fraction, rng=rng)
        val_name = "validation"
    else:
        x_val, t_val, val_name = x_test, t_test, "test"

    init = args.init if args.init is not None else ACTIVATIONS[args.activation].default_init
    net = MultiLayerNet(784, args.hidden, 10, activation=args.activation, weight_init_std=init,
                        weight_decay_lambda=args.weight_decay, use_batchnorm=args.batchnorm,
                        use_dropout=args.dropout > 0, dropout_ratio=args.dropout, dtype=dtype, rng=rng)
    optimizer = get_optimizer(args.optimizer, lr=args.lr)
    last_epoch = training.LastEpoch(net)
    callbacks = [last_epoch, settings] + ([] if args.patience is None else [EarlyStopping(args.patience)])
    trainer = training.make_trainer(args, lambda: Trainer(
        net, optimizer, (x_train, t_train), (x_val, t_val), epochs=args.epochs, batch_size=args.batch_size,
        rng=rng, verbose=args.verbose, eval_train=10000, callbacks=callbacks,
        schedule=make_schedule(args.lr_schedule, args.lr, args.lr_step_size, args.lr_gamma),
        checkpoint=args.checkpoint, resume=args.resume))
    layers = "-".join(str(n) for n in [784, *args.hidden, 10])
    print(f"{args.dataset}: {layers} {args.activation} net ({net.n_params()} parameters, init {init}), "
          f"{optimizer!r}, batch {args.batch_size}, {args.epochs} epochs, {args.dtype}, "
          f"{len(x_train)} training images")
    history, error, interrupted, seconds = training.run_training(trainer, last_epoch, args, "epoch", args.epochs)
    diverged = None if error is None else str(error)
    test_acc = net.accuracy(x_test, t_test) if diverged is None else None
    if test_acc is not None:
        print(f"test accuracy {test_acc:.4f} ({len(x_test)} images)"
              + (f" after epoch {history.n_epochs}" if interrupted else "")
              + f", training took {seconds:.1f} s")

    results = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
        "layers": layers, "n_params": net.n_params(), "init": init,
        "test_accuracy": test_acc, "seconds": seconds, "diverged": diverged,
        "interrupted_after_epoch": history.n_epochs if interrupted else None,
        "history": dict(history),
    }
    figures = {}
    if history["epoch"]:
        if test_acc is None:
            end = ", diverged"
        else:
            end = f", test accuracy {test_acc:.4f}"
            if interrupted:
                end += f" (interrupted after epoch {history.n_epochs})"
        fig = plots.plot_history(
            plt, history, f"{args.dataset} {layers} {args.activation}, "
            f"{args.optimizer} lr {args.lr:g}, batch {args.batch_size}" + end,
            val_name=val_name, train_name="train (10000 images)")
        figures[f"{prefix}.png"] = fig
    # after a divergence, the weights of the last completed epoch
    saved = training.save_weights(net, args.out, prefix, history, stopped_early=bool(interrupted or diverged))
    if saved and args.verbose and not (interrupted or diverged):
        _per_class(net, x_test, t_test, class_names(args.dataset))
    return Outcome(results, figures=figures, interrupted=interrupted, failure=exits.lr_failure(error, args.lr),
                   results_name=f"{prefix}.json")


main = script(__doc__, "train_mnist", experiment, parser=build_parser, shorten=shorten, settings=True)


def _per_class(net, x, t, names):
    predicted = np.concatenate([np.argmax(net.predict(x[i:i + 1000]), axis=1) for i in range(0, len(x), 1000)])
    accs = [float(np.mean(predicted[t == c] == c)) if np.any(t == c) else float("nan") for c in range(10)]
    print("per-class test accuracy: " + ", ".join(f"{n} {a:.3f}" for n, a in zip(names, accs)))


if __name__ == "__main__":
    exits.run(main)
