"""Train a small residual network on Fashion-MNIST (or MNIST), built from Residual blocks with batch norm.

The network (bprop.networks.resnet.small_resnet) is the CIFAR ResNet of He et al. (2016)
scaled to 28x28 images: a 3x3 convolution of --width channels, three stages of basic
blocks (conv3x3 - BN - ReLU - conv3x3 - BN, plus the shortcut, then ReLU) at width, 2x and
4x channels (the first block of stages 2 and 3 has stride 2 and a 1x1 convolution with
batch norm as its shortcut), global average pooling and one affine layer. By default the
first convolution has stride 2 (--stem-stride), so that the stages work on 14x14, 7x7 and
4x4 maps; --stem-stride 1 keeps 28x28, 14x14 and 7x7 (at width 16, the same multiply-adds
per image as width 32 with the strided stem, and a slower step). It is trained in float32
with AdamW and the 1cycle schedule (the rate rises from max-lr/25 to --lr over the first 25%
of the updates, then falls as a cosine), batch 128, 16 epochs on shuffled passes over the
60000 training images, each image mirrored left to right with probability 1/2 (--no-flip:
never; --shift N also moves each by up to N pixels). After each epoch the loss and accuracy
are measured on the 10000 test images (the curves only: nothing is chosen with the test
set); the training curve is the loss of the training mini-batches (without augmentation,
--no-flip, the loss and accuracy on a fixed random 10000 training images). --label-smoothing
smooths the targets.

Writes PREFIX.png (mini-batch loss, loss and accuracy per epoch), PREFIX.json (settings,
history, test accuracy, seconds per epoch) and PREFIX_weights.npz, with PREFIX
resnet_fashion_mnist or resnet_mnist. Ctrl-C writes the completed epochs and exits with
status 130; a loss that diverges writes them and exits with status 1 and one line ("lower
--lr"). With --checkpoint PATH the training state is written after every epoch, and the
same command with --resume continues it exactly.

Examples:
  python scripts/train_resnet.py --threads 2            # Fashion-MNIST, 16 epochs
  python scripts/train_resnet.py --width 16 --stem-stride 1 --no-flip --epochs 8
"""

import argparse

import numpy as np

from bprop.datasets import MiniBatchIterator, random_subset
from bprop.datasets.augment import AugmentedImages
from bprop.layers import make_rng
from bprop.networks.resnet import small_resnet
from bprop.optim import AdamW, Trainer
from bprop.optim.cosine_schedules import OneCycleLR
import cli
import exits
from experiment import Outcome, script
import loaders
import plots
import training


def build_parser():
    parser = cli.make_parser(__doc__, quick="1000 training and 500 test images, width 4, 1 epoch (seconds)")
    add = parser.add_argument
    add("--dataset", choices=("mnist", "fashion-mnist"), default="fashion-mnist", help="default: fashion-mnist")
    add("--width", type=cli.positive_int, default=32, help="channels of the first stage (default: 32)")
    add("--blocks", type=cli.positive_int, nargs=3, default=[1, 1, 1], metavar="N",
        help="basic blocks in each of the three stages (default: 1 1 1; 3 3 3 is ResNet-20)")
    add("--stem-stride", type=cli.positive_int, default=2,
        help="stride of the first convolution: 2 runs the stages on 14x14, 7x7 and 4x4 maps, 1 on 28x28, "
             "14x14 and 7x7 (default: 2)")
    add("--lr", type=cli.positive_float, default=0.004, help="peak learning rate of the 1cycle schedule (default: 0.004)")
    add("--weight-decay", type=cli.nonneg_float, default=0.01,
        help="AdamW's decoupled weight decay, >= 0 (default: 0.01)")
    add("--epochs", type=cli.positive_int, default=16, help="default: 16")
    add("--batch-size", type=cli.positive_int, default=128, help="default: 128")
    add("--train-size", type=cli.positive_int, default=None, help="train on a random subset of this many images")
    add("--label-smoothing", type=cli.fraction, default=0.0, metavar="EPS",
        help="cross-entropy against (1 - EPS) one-hot + EPS / 10, in [0, 1) (default: 0)")
    add("--shift", type=cli.nonneg_int, default=0,
        help="augmentation: move each training image by up to this many pixels each way, zeros coming in "
             "(default: 0, no move)")
    add("--flip", action=argparse.BooleanOptionalAction, default=True,
        help="augmentation: mirror half of the training images left to right (default: on; --no-flip)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 1)")
    training.add_checkpoint_args(parser)
    return parser


def shorten(args):
    args.train_size, args.epochs, args.width = min(args.train_size or 1000, 1000), 1, 4


def experiment(args, plt, settings):
    test_size, train_eval_size = (500, 500) if args.quick else (None, 10000)
    rng = make_rng(args.seed)
    prefix = f"resnet_{args.dataset.replace('-', '_')}"

    (x_train, t_train), (x_test, t_test) = loaders.load_data(args.dataset, dtype=np.float32)
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    x_train, t_train = random_subset(x_train, t_train, args.train_size, rng)
    x_test, t_test = random_subset(x_test, t_test, test_size, rng)

    net = small_resnet(args.width, args.blocks, rng=rng, label_smoothing=args.label_smoothing,
                       stem_stride=args.stem_stride)
    optimizer = AdamW(lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    last_epoch = training.LastEpoch(net)
    augment = args.shift > 0 or args.flip
    # Augmented batches are new pictures every time: the training accuracy is then measured
    # on the Trainer's own mini-batches, not on a fixed subset.
    train_data = (AugmentedImages(x_train, t_train, args.batch_size, flip=args.flip, shift=args.shift, rng=rng)
                  if augment else (x_train, t_train))
    trainer = training.make_trainer(args, lambda: Trainer(
        net, optimizer, train_data, MiniBatchIterator(x_test, t_test, 500, shuffle=False),
        epochs=args.epochs, batch_size=args.batch_size, rng=rng, verbose=args.verbose,
        eval_train=False if augment else train_eval_size,
        schedule=OneCycleLR(args.lr, steps, pct_start=0.25), callbacks=[last_epoch, settings],
        checkpoint=args.checkpoint, resume=args.resume))
    print(f"{args.dataset}: ResNet width {args.width}, blocks {args.blocks} ({net.n_params()} parameters), "
          f"{optimizer!r} with 1cycle to lr {args.lr:g}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{len(x_train)} training images")
    history, error, interrupted, seconds = training.run_training(trainer, last_epoch, args, "epoch", args.epochs)
    epoch_seconds = np.diff([0.0] + history.get("time", [])).tolist()
    # the test set is the per-epoch validation set: its accuracy after the last epoch is measured
    test_acc = history["val_acc"][-1] if history.n_epochs and error is None else None
    if test_acc is not None:
        print(f"test accuracy {test_acc:.4f} ({len(x_test)} images) after {history.n_epochs} epochs; "
              f"training took {seconds:.0f} s, {np.mean(epoch_seconds):.1f} s per epoch (with the "
              f"evaluation of {(0 if augment else min(train_eval_size, len(x_train))) + len(x_test)} images)")

    results = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
        "n_params": net.n_params(), "summary": net.summary(), "test_accuracy": test_acc,
        "seconds": seconds, "seconds_per_epoch": epoch_seconds,
        "diverged": None if error is None else str(error),
        "interrupted_after_epoch": history.n_epochs if interrupted else None, "history": dict(history),
    }
    figures = {}
    if history.n_epochs:
        augmented = ", ".join(["flip"] * args.flip + [f"shift {args.shift}"] * (args.shift > 0)) or "no augmentation"
        title = (f"{args.dataset} ResNet (width {args.width}, blocks {args.blocks}, stem stride {args.stem_stride}), "
                 f"{augmented}, AdamW 1cycle lr {args.lr:g}"
                 + (f", test accuracy {test_acc:.4f}" if test_acc is not None else ""))
        figures[f"{prefix}.png"] = plots.plot_history(plt, history, title)
    training.save_weights(net, args.out, prefix, history, stopped_early=bool(interrupted or error))
    return Outcome(results, figures=figures, interrupted=interrupted, failure=exits.lr_failure(error, args.lr),
                   results_name=f"{prefix}.json")


main = script(__doc__, "train_resnet", experiment, parser=build_parser, shorten=shorten, settings=True)


if __name__ == "__main__":
    exits.run(main)
