"""Learn addition as text with an LSTM encoder-decoder: plain, reversed input, reversed + peeky.

The task: questions such as "16+75" (operands up to three digits, padded to 7 characters),
answers such as "91" (padded to 4, after the start symbol "_"); 45000 distinct training
problems and 5000 test problems that share none with them. Three models learn it, each
from the same seed: a Seq2seq reading the question as written (plain), one reading it
reversed ("57+61"), which puts the digits that decide the answer's first digits close to
the decoder (Sutskever et al., 2014), and a PeekySeq2seq, whose decoder also sees the
encoder's final state at every step, on reversed questions. After each epoch the test
accuracy is measured: the whole answer, generated greedily, must be right.

By default: embedding 16, 128 hidden units, float32, batch 128, Adam lr 2e-3 multiplied by
0.9 after every epoch, gradients clipped to a global norm of 5, 10 epochs per model.

Writes seq2seq_addition.png (test accuracy and training loss per epoch of the three
models) and seq2seq_addition.json (settings; per model and epoch the training loss, the
mean over the epoch's mini-batches per answer character, the test loss and accuracy and
the epoch's seconds; final accuracies, example answers, times). Ctrl-C stops cleanly: the
files then hold the models and epochs completed, and the script exits with status 130.
A model whose loss diverges (NaN, inf, or 100 times its first mini-batch loss) is recorded
as diverged and the others are trained; the files are written, then the script exits with
status 1 and one line on stderr saying where it diverged ("lower --lr").
With --checkpoint PATH each model's whole training state is written after every epoch to
PATH with the model's name before the suffix (run.npz: run_plain.npz, run_reversed.npz,
run_peeky.npz), so that a run stopped by Ctrl-C or killed continues with the same command
plus --resume, ending exactly where the uninterrupted run would have; a --resume with
another value of an option the models depend on is refused (status 2).

Examples:
  python scripts/seq2seq_addition.py
  python scripts/seq2seq_addition.py --variants peeky --epochs 25
  python scripts/seq2seq_addition.py --hidden 256 --lr 1e-3 --lr-decay 1
  python scripts/seq2seq_addition.py --checkpoint run.npz            # Ctrl-C, then:
  python scripts/seq2seq_addition.py --checkpoint run.npz --resume
"""

import argparse
import os
import time

import numpy as np

from bprop.datasets import make_addition
from bprop.layers import make_rng
from bprop.networks import PeekySeq2seq, Seq2seq
from bprop.optim import Adam, GradientClipping, Trainer
from bprop.optim.schedules import ExponentialLR
import cli
import exits
from experiment import Outcome, script
from seq2seq_runs import (best_variant, check_checkpoint, checkpoints_to_resume, diverged_line, examples,
                          plot_variants, variant_checkpoint, variant_history)
import training

#: variant -> (model class, reverse the questions, label in the figure)
VARIANTS = {
    "plain": (Seq2seq, False, "Seq2seq"),
    "reversed": (Seq2seq, True, "Seq2seq, reversed input"),
    "peeky": (PeekySeq2seq, True, "PeekySeq2seq, reversed input"),
}
QUICK = {"train_size": 2000, "test_size": 500, "hidden": 32, "epochs": 2}


def build_parser():
    parser = cli.make_parser(
        __doc__, quick=f"{QUICK['train_size']} training and {QUICK['test_size']} test problems, "
                       f"{QUICK['hidden']} hidden units, {QUICK['epochs']} epochs")
    add = parser.add_argument
    add("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
        help="models to train, in this order (default: all three)")
    add("--embed", type=cli.positive_int, default=16, help="embedding size (default: 16)")
    add("--hidden", type=cli.positive_int, default=128, help="LSTM units (default: 128)")
    add("--epochs", type=cli.positive_int, default=10, help="epochs per model (default: 10)")
    add("--batch-size", type=cli.positive_int, default=128, help="default: 128")
    add("--lr", type=cli.positive_float, default=2e-3, help="Adam's learning rate (default: 2e-3)")
    add("--lr-decay", type=cli.positive_float, default=0.9, metavar="GAMMA",
        help="multiply the learning rate by GAMMA after every epoch; 1 keeps it (default: 0.9)")
    add("--clip", type=cli.nonneg_float, default=5.0, metavar="NORM",
        help="clip the gradients to this global norm; 0: no clipping (default: 5)")
    add("--train-size", type=cli.positive_int, default=45000, help="training problems (default: 45000)")
    add("--test-size", type=cli.positive_int, default=5000, help="test problems (default: 5000)")
    add("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    add("--verbose", type=int, choices=(0, 1, 2), default=2,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 2)")
    add("--checkpoint", metavar="PATH", default=None,
        help="write each model's whole training state (weights, optimizer, random streams, history) "
             "after every epoch, atomically, to PATH with the model's name before the suffix: "
             "run.npz gives run_plain.npz, run_reversed.npz and run_peeky.npz (default: no checkpoint)")
    add("--resume", action="store_true",
        help="continue the run saved with --checkpoint: a model whose file holds its last epoch is "
             "taken as it is, an interrupted one continues from its last completed epoch, one without "
             "a file is trained; give the same options (--epochs may be raised): the results are an "
             "uninterrupted run's, bit for bit")
    parser.add_check(_check_sizes)
    parser.add_check(check_checkpoint)
    # each model's checkpoint holds the options; which models are trained may change on a resume
    training.add_resume_check(parser, checkpoints_to_resume, may_change=("variants",))
    return parser


def _check_sizes(args):
    total = (QUICK["train_size"] + QUICK["test_size"]) if args.quick else args.train_size + args.test_size
    if total > 500000:  # make_addition: at most half of the 10**6 problems with three digits
        return (f"argument --train-size: {args.train_size} + --test-size {args.test_size} problems asked for; "
                "there are 1,000,000 with three-digit operands, ask for at most 500000 together")
    return None


def build_variant(name, data, args, settings):
    """The model of the variant ``name``, its test questions (reversed if it reads them so)
    and the Trainer that trains it: the test problems are its validation data, on which the
    whole-answer accuracy (``val_seq_acc``) is measured after every epoch. ``settings``, the
    script's :class:`training.RunSettings`, goes into the checkpoint."""
    cls, reverse, _ = VARIANTS[name]
    (x, t), (x_test, t_test) = data.train, data.test
    if reverse:
        x, x_test = x[:, ::-1].copy(), x_test[:, ::-1].copy()
    rng = make_rng(args.seed)  # the weights, then the order of every epoch's batches
    model = cls(len(data.vocab), args.embed, args.hidden, dtype=np.dtype(args.dtype), rng=rng)
    path = None if args.checkpoint is None else variant_checkpoint(args.checkpoint, name)
    # A model without a file had not finished an epoch when the run stopped: it starts afresh.
    resume = bool(args.resume and os.path.isfile(path))
    trainer = training.make_trainer(argparse.Namespace(checkpoint=path, resume=resume), lambda: Trainer(
        model, Adam(lr=args.lr), (x, t), (x_test, t_test), epochs=args.epochs, batch_size=args.batch_size,
        rng=rng, schedule=ExponentialLR(args.lr_decay, base_lr=args.lr), eval_train=False,
        callbacks=[settings] + ([GradientClipping(args.clip)] if args.clip else []), verbose=args.verbose,
        checkpoint=path, resume=resume))
    return model, x_test, trainer


def shorten(args):
    args.train_size, args.test_size = QUICK["train_size"], QUICK["test_size"]
    args.hidden, args.epochs = QUICK["hidden"], min(args.epochs, QUICK["epochs"])


def experiment(args, plt, settings):
    data = make_addition(args.train_size, args.test_size, rng=args.seed)
    t_test = data.test[1]
    print(f"addition: {args.train_size} training and {args.test_size} test problems, e.g. "
          f"{data.vocab.decode(data.train[0][0]).strip()!r} -> {data.vocab.decode(data.train[1][0, 1:]).strip()!r}; "
          f"embedding {args.embed}, {args.hidden} hidden units, batch {args.batch_size}, Adam lr {args.lr:g} "
          f"x {args.lr_decay:g} per epoch, clip {args.clip:g}, {args.epochs} epochs, {args.dtype}")

    histories, results, interrupted, errors = {}, {}, False, {}
    trainer = None  # the Trainer of the model being trained, until its results are in
    start = time.perf_counter()
    try:
        for name in args.variants:
            if args.verbose:
                print(f"{name}: {VARIANTS[name][2]}")
            model, x_test, trainer = build_variant(name, data, args, settings)
            history, error, _ = training.fit(trainer)
            if error is not None:
                errors[name] = error
            histories[name] = variant_history(history)
            accuracies = histories[name]["test_accuracy"]
            results[name] = {"test_accuracy": accuracies[-1] if accuracies else None,
                             "best_test_accuracy": max(accuracies, default=None),
                             "seconds": float(sum(histories[name]["time"])),
                             "diverged": None if error is None else str(error),
                             "examples": [] if error else examples(model, x_test, t_test, data.vocab,
                                                                   VARIANTS[name][1])}
            trainer = None
    except KeyboardInterrupt:
        interrupted = True
        if trainer is not None:
            histories[name] = variant_history(training.completed_epochs(trainer.history))
            training.resume_hint(argparse.Namespace(checkpoint=trainer.checkpoint), trainer)
        histories = {k: h for k, h in histories.items() if h["epoch"]}
        done = sum(len(h["epoch"]) for h in histories.values())
        exits.interrupted(f"after {done} epoch(s) in all", finished=done > 0)
    seconds = time.perf_counter() - start

    print()
    for name, r in results.items():
        if r["diverged"]:
            print(f"{VARIANTS[name][2]:<29} diverged")
            continue
        shown = ", ".join(f"{e['question']}={e['answer']}" + ("" if e["correct"] else f" (not {e['right']})")
                          for e in r["examples"][:4])
        print(f"{VARIANTS[name][2]:<29} test accuracy {r['test_accuracy']:.4f}  ({shown})")
    print(f"total time {seconds:.0f} s")
    output = {"settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
              "results": results, "histories": histories, "seconds": seconds, "interrupted": interrupted}
    plotted = {k: h for k, h in histories.items() if h["epoch"]}
    figures = {}
    if plotted:
        labels = {k: v[2] for k, v in VARIANTS.items()}
        title = f"addition with seq2seq ({args.train_size} training problems): " + best_variant(plotted, labels, 1)
        fig = plot_variants(plt, plotted, labels, title, 0.9,
                            ("test accuracy (whole answer right)", "accuracy on held-out problems",
                             "training loss (nats per answer character)"))
        figures["seq2seq_addition.png"] = fig
    return Outcome(output, figures=figures, interrupted=interrupted, failure=diverged_line(errors, args))


main = script(__doc__, "seq2seq_addition", experiment, parser=build_parser, shorten=shorten, settings=True)


if __name__ == "__main__":
    exits.run(main)
