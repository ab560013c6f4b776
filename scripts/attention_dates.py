"""Rewrite dates as ISO 8601 with seq2seq: a peeky decoder against one with attention.

The task: dates from 1970 to 2029 written as people write them ("TUESDAY, NOVEMBER 29, 2005",
"8/23/08", "27 sep 1994", "27.09.94", twelve formats, names in any case), to be rewritten as
"2005-11-29"; 45000 training problems and 5000 test problems on dates no training problem
holds. Two models learn it from the same seed and with the same sizes: a PeekySeq2seq, whose
decoder sees the encoder's final state at every step, and an AttentionSeq2seq, whose decoder
weighs every encoder step at every output step. Both read the questions reversed, as in the
textbook. After each epoch the test accuracy is measured: the whole date, generated greedily,
must be right. Then the attention of a few test dates is drawn: for each output character,
how much it looked at each input character.

By default: embedding 16, 64 hidden units, float32, batch 128, Adam lr 2e-3, gradients
clipped to a global norm of 5, 4 epochs per model. (The textbook's 256 hidden units and 10
epochs reach the same accuracy, in many times the time.)

Writes attention_dates.png (test accuracy and training loss per epoch of both models),
attention_dates.csv (per model and epoch: training loss, test loss, test accuracy, seconds),
attention_dates.json (settings, the histories, final accuracies, example answers, and the
attention maps drawn) and attention_dates_maps.png (the attention maps, input characters
across, output characters down). Ctrl-C stops cleanly: the files then hold the models and
epochs completed, and the script exits with status 130. A model whose loss diverges is
recorded as diverged and the other is trained; the files are written, then the script exits
with status 1 and one line on stderr ("lower --lr").
With --checkpoint PATH each model's whole training state is written after every epoch to
PATH with the model's name before the suffix (run.npz: run_peeky.npz, run_attention.npz),
and the same command plus --resume continues a stopped run to the uninterrupted result.

Examples:
  python scripts/attention_dates.py
  python scripts/attention_dates.py --variants attention --epochs 2 --maps 6
  python scripts/attention_dates.py --hidden 256 --epochs 10 --lr 1e-3     # the textbook's sizes
  python scripts/attention_dates.py --checkpoint run.npz                   # Ctrl-C, then:
  python scripts/attention_dates.py --checkpoint run.npz --resume
"""

import argparse
import os
import re
import time

import numpy as np

from bprop.datasets.dates import N_DATES, make_dates
from bprop.layers import make_rng
from bprop.networks import PeekySeq2seq
from bprop.networks.attention_seq2seq import AttentionSeq2seq
from bprop.optim import Adam, GradientClipping, Trainer
from bprop.optim.schedules import ExponentialLR
import cli
import exits
from experiment import Outcome, script
from seq2seq_runs import (best_variant, check_checkpoint, checkpoints_to_resume, diverged_line, examples,
                          plot_variants, variant_checkpoint, variant_history)
import training

#: variant -> (model class, label in the figures)
VARIANTS = {"peeky": (PeekySeq2seq, "PeekySeq2seq"), "attention": (AttentionSeq2seq, "AttentionSeq2seq")}
QUICK = {"train_size": 2000, "test_size": 200, "hidden": 16, "epochs": 1}
#: the kinds of question the attention maps show, in turn: a weekday, slashes, dots, day first
MAP_KINDS = (r"[A-Za-z]+, [A-Za-z]+ \d+, \d{4}", r"\d+/\d+/\d+", r"\d+\.\d+\.\d+", r"\d+ [A-Za-z]+ \d{4}",
             r"[A-Za-z]+ \d+, \d{4}", r"\d{4}-\d+-\d+")


def build_parser():
    parser = cli.make_parser(
        __doc__, quick=f"{QUICK['train_size']} training and {QUICK['test_size']} test dates, "
                       f"{QUICK['hidden']} hidden units, {QUICK['epochs']} epoch")
    add = parser.add_argument
    add("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
        help="models to train, in this order (default: both)")
    add("--embed", type=cli.positive_int, default=16, help="embedding size (default: 16)")
    add("--hidden", type=cli.positive_int, default=64, help="LSTM units (default: 64)")
    add("--epochs", type=cli.positive_int, default=4, help="epochs per model (default: 4)")
    add("--batch-size", type=cli.positive_int, default=128, help="default: 128")
    add("--lr", type=cli.positive_float, default=2e-3, help="Adam's learning rate (default: 2e-3)")
    add("--lr-decay", type=cli.positive_float, default=1.0, metavar="GAMMA",
        help="multiply the learning rate by GAMMA after every epoch (default: 1, constant)")
    add("--clip", type=cli.nonneg_float, default=5.0, metavar="NORM",
        help="clip the gradients to this global norm; 0: no clipping (default: 5)")
    add("--train-size", type=cli.positive_int, default=45000, help="training problems (default: 45000)")
    add("--test-size", type=cli.positive_int, default=5000, help="test problems, one per test date (default: 5000)")
    add("--reverse", action=argparse.BooleanOptionalAction, default=True,
        help="read the questions reversed, as the textbook does (default: --reverse)")
    add("--maps", type=cli.nonneg_int, default=4, help="test dates whose attention is drawn (default: 4)")
    add("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    add("--verbose", type=int, choices=(0, 1, 2), default=2,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 2)")
    add("--checkpoint", metavar="PATH", default=None,
        help="write each model's whole training state after every epoch, atomically, to PATH with the "
             "model's name before the suffix: run.npz gives run_peeky.npz and run_attention.npz")
    add("--resume", action="store_true",
        help="continue the run saved with --checkpoint, with the same options (--epochs may be raised): "
             "the results are an uninterrupted run's, bit for bit")
    parser.add_check(_check_sizes)
    parser.add_check(check_checkpoint)
    training.add_resume_check(parser, checkpoints_to_resume, may_change=("variants", "maps"))
    return parser


def _check_sizes(args):
    if args.quick:
        return None
    if args.test_size > N_DATES // 2:
        return f"argument --test-size: at most {N_DATES // 2} (half the {N_DATES} dates), got {args.test_size}"
    most = 10 * (N_DATES - args.test_size)
    if args.train_size > most:
        return f"argument --train-size: at most {most} (10 per training date), got {args.train_size}"
    return None


def build_variant(name, data, args, settings):
    """The model of the variant ``name`` and the Trainer that trains it, the test problems as
    its validation data (``val_seq_acc``: whole answers right, after every epoch)."""
    rng = make_rng(args.seed)  # the weights, then the order of every epoch's batches
    model = VARIANTS[name][0](len(data.vocab), args.embed, args.hidden, dtype=np.dtype(args.dtype), rng=rng)
    path = None if args.checkpoint is None else variant_checkpoint(args.checkpoint, name)
    resume = bool(args.resume and os.path.isfile(path))
    trainer = training.make_trainer(argparse.Namespace(checkpoint=path, resume=resume), lambda: Trainer(
        model, Adam(lr=args.lr), data.train, data.test, epochs=args.epochs, batch_size=args.batch_size,
        rng=rng, schedule=ExponentialLR(args.lr_decay, base_lr=args.lr), eval_train=False,
        callbacks=[settings] + ([GradientClipping(args.clip)] if args.clip else []), verbose=args.verbose,
        checkpoint=path, resume=resume))
    return model, trainer


def pick_maps(questions, count):
    """Indices of ``count`` test questions, one of each kind of :data:`MAP_KINDS` in turn."""
    chosen = []
    for kind in MAP_KINDS * (count // len(MAP_KINDS) + 1):
        if len(chosen) == count:
            break
        chosen += [i for i, q in enumerate(questions) if re.fullmatch(kind, q.rstrip()) and i not in chosen][:1]
    return chosen


def attention_maps(model, data, reverse, count):
    """The attention of ``count`` test dates, in reading order: per date the question and the
    answer as text and the weights (answer characters, question characters without padding)."""
    x, t = data.test
    natural = data.vocab.decode(x[:, ::-1] if reverse else x)
    rows = pick_maps(natural, count)
    ids, weights = model.generate_with_attention(x[rows], int(t[0, 0]), t.shape[1] - 1)
    if reverse:
        weights = weights[:, :, ::-1]  # columns back in reading order
    maps = []
    for i, row in enumerate(rows):
        question, answer = natural[row].rstrip(), data.vocab.decode(ids[i])
        maps.append({"question": question, "answer": answer, "right": data.vocab.decode(t[row, 1:]),
                     "weights": weights[i, :, :len(question)].astype(np.float64)})
    return maps


def plot_maps(plt, maps):
    cols = min(2, len(maps))
    rows = -(-len(maps) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.6 * cols, 3.4 * rows), squeeze=False, layout="constrained")
    for ax, m in zip(axes.flat, maps):
        image = ax.imshow(m["weights"], cmap="Greys", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(m["question"])), [c if c != " " else "\u2423" for c in m["question"]])
        ax.set_yticks(range(len(m["answer"])), list(m["answer"]))
        ax.set_xlabel("input, in reading order")
        ax.set_ylabel("output")
        mark = "" if m["answer"] == m["right"] else f"  (wrong: {m['right']})"
        ax.set_title(f"{m['question']!r} -> {m['answer']}{mark}")
    for ax in list(axes.flat)[len(maps):]:
        ax.axis("off")
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.8)
    fig.suptitle("AttentionSeq2seq: where each output character looked")
    return fig


def shorten(args):
    args.train_size, args.test_size = QUICK["train_size"], QUICK["test_size"]
    args.hidden, args.epochs = QUICK["hidden"], min(args.epochs, QUICK["epochs"])


def experiment(args, plt, settings):
    data = make_dates(args.train_size, args.test_size, reverse=args.reverse, rng=args.seed)
    shown = data.train[0][0, ::-1] if args.reverse else data.train[0][0]
    print(f"dates: {args.train_size} training and {args.test_size} test problems, e.g. "
          f"{data.vocab.decode(shown).strip()!r} -> {data.vocab.decode(data.train[1][0, 1:])!r}; "
          f"{'reversed' if args.reverse else 'plain'} input, embedding {args.embed}, {args.hidden} hidden "
          f"units, batch {args.batch_size}, Adam lr {args.lr:g}, clip {args.clip:g}, {args.epochs} epochs, "
          f"{args.dtype}")

    histories, results, interrupted, errors, maps = {}, {}, False, {}, []
    trainer = None
    start = time.perf_counter()
    try:
        for name in args.variants:
            if args.verbose:
                print(f"{name}: {VARIANTS[name][1]}")
            model, trainer = build_variant(name, data, args, settings)
            history, error, _ = training.fit(trainer)
            if error is not None:
                errors[name] = error
            histories[name] = variant_history(history)
            accuracies = histories[name]["test_accuracy"]
            results[name] = {"test_accuracy": accuracies[-1] if accuracies else None,
                             "best_test_accuracy": max(accuracies, default=None),
                             "seconds": float(sum(histories[name]["time"])),
                             "diverged": None if error is None else str(error),
                             "examples": [] if error else examples(model, data.test[0], data.test[1], data.vocab,
                                                                   args.reverse)}
            if name == "attention" and error is None and args.maps:
                maps = attention_maps(model, data, args.reverse, args.maps)
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
    for name, history in histories.items():
        accuracies = " ".join(f"{a:.4f}" for a in history["test_accuracy"])
        print(f"{VARIANTS[name][1]:<17} test accuracy per epoch: {accuracies}  ({sum(history['time']):.0f} s)")
    for name, r in results.items():
        if not r["diverged"]:
            print(f"{VARIANTS[name][1]:<17} " + ", ".join(
                f"{e['question']} -> {e['answer']}" + ("" if e["correct"] else f" (not {e['right']})")
                for e in r["examples"][:3]))
    print(f"total time {seconds:.0f} s")
    output = {"settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
              "results": results, "histories": histories, "attention_maps": maps, "seconds": seconds,
              "interrupted": interrupted}
    plotted = {k: h for k, h in histories.items() if h["epoch"]}
    figures = {}
    if plotted:
        labels = {k: v[1] for k, v in VARIANTS.items()}
        title = (f"dates to ISO 8601 ({args.train_size} training problems, {args.hidden} hidden units): "
                 + best_variant(plotted, labels, 2))
        fig = plot_variants(plt, plotted, labels, title, 0.99,
                            ("test accuracy (whole date right)", "accuracy on dates never seen in training",
                             "training loss (nats per output character)"))
        figures["attention_dates.png"] = fig
    if maps:
        figures["attention_dates_maps.png"] = plot_maps(plt, maps)
    rows = [(name, e, h["train_loss"][i] if i < len(h["train_loss"]) else None, h["test_loss"][i],
             h["test_accuracy"][i], h["time"][i]) for name, h in histories.items() for i, e in enumerate(h["epoch"])]
    header = ("model", "epoch", "train_loss", "test_loss", "test_accuracy", "seconds")
    return Outcome(output, figures=figures, tables={"attention_dates.csv": (header, rows)}, interrupted=interrupted,
                   failure=diverged_line(errors, args))


main = script(__doc__, "attention_dates", experiment, parser=build_parser, shorten=shorten, settings=True)


if __name__ == "__main__":
    exits.run(main)
