"""Train a character-level LSTM language model on Tiny Shakespeare and sample text from it.

By default: an embedding of 64, one LSTM of 256 units and an output layer over the 65
characters, in float32; the training text (the first 90%, 1,003,854 characters) is read
as 64 parallel streams in windows of 50 characters (truncated backpropagation through
time, the state carried from window to window and reset every epoch); Adam, lr 2e-3
multiplied by 0.8 after every epoch, gradients clipped to a global norm of 5; 6 epochs.
After each epoch the loss is measured on the validation text (the last 10%). The loss is
in nats per character (natural log; divide by ln 2 for bits); the entropies of the
training text's unigram (3.31) and bigram (2.45) distributions are the baselines: a
model that knows only character frequencies, or only the previous character, does no
better. --time-limit (default 840 s) stops training after the epoch that would overrun
it, so the default run ends within 15 minutes even on a busy machine.

Writes char_lm.png (the loss of every window; training and validation loss per epoch,
with the baselines), char_lm.json (settings, history, baselines, samples, time),
char_lm_samples.txt (text generated at each --temperature) and char_lm_weights.npz
(net.load_params reads it into RnnLM(65, ...) built with the same sizes). The history in
the JSON is the Trainer's: per epoch the training loss (the mean of the epoch's window
losses), the validation loss, their perplexities, the mean gradient norm and the fraction
of windows clipped, the learning rate and 'time', the seconds of training since the run
began; and the loss of every window. Ctrl-C stops training cleanly: the files then hold
the completed epochs (the weights as of the last one) and the script exits with status
130. A run whose loss diverges (NaN, inf, or 100 times its first window loss) writes the
figure, the JSON and the weights of its completed epochs, then exits with status 1 and one
line on stderr saying where it diverged ("lower --lr"). With --checkpoint PATH the whole
training state is written to PATH after every epoch, so that a run stopped by Ctrl-C or
killed continues with the same command plus --resume, ending exactly where the
uninterrupted run would have (--time-limit counts the seconds of training of both processes
together; it, --epochs and the sampling options may change on a resume, another value of
any other option is refused with status 2).

Examples:
  python scripts/char_lm.py                                  # the defaults above
  python scripts/char_lm.py --hidden 512 --layers 2 --dropout 0.2 --epochs 20 --time-limit 0
  python scripts/char_lm.py --embed 256 --tie                # output layer = embedding transposed
  python scripts/char_lm.py --text my_corpus.txt --prime "Dear"
  python scripts/char_lm.py --epochs 20 --checkpoint lm.npz  # Ctrl-C, then:
  python scripts/char_lm.py --epochs 20 --checkpoint lm.npz --resume
"""

import math
import sys

import numpy as np

from bprop.datasets import BPTTBatches
from bprop.networks import RnnLM
from bprop.optim import Adam, GradientClipping, Trainer
from bprop.optim.schedules import ExponentialLR
import cli
import exits
from experiment import Outcome, script
from text_runs import QUICK_CHARS, load_corpus, ngram_baselines
import outputs
import plots
import training

#: characters of training and validation text, and the sizes, used by --quick
QUICK = {"train_chars": QUICK_CHARS[0], "val_chars": QUICK_CHARS[1], "embed": 16, "hidden": 32, "batch_size": 16,
         "time_size": 25, "lr": 1e-2, "epochs": 2, "sample_length": 80}
#: the validation text's streams (at most) and window
EVAL_BATCH_SIZE, EVAL_TIME_SIZE = 64, 100


def build_parser():
    parser = cli.make_parser(
        __doc__, quick=f"{QUICK['train_chars']} training and {QUICK['val_chars']} validation characters, "
                       f"a {QUICK['hidden']}-unit LSTM, {QUICK['batch_size']} streams x {QUICK['time_size']} "
                       f"steps, lr {QUICK['lr']:g}, {QUICK['epochs']} epochs")
    add = parser.add_argument
    add("--embed", type=cli.positive_int, default=64, help="embedding size (default: 64)")
    add("--hidden", type=cli.positive_int, default=256, help="units of every LSTM (default: 256)")
    add("--layers", type=cli.positive_int, default=1, help="stacked LSTMs (default: 1)")
    add("--dropout", type=cli.fraction, default=0.0, metavar="RATIO",
        help="dropout ratio in [0, 1) between layers (default: 0)")
    add("--tie", action="store_true",
        help="weight tying: the output layer is the embedding transposed (needs --embed equal to --hidden)")
    add("--batch-size", type=cli.positive_int, default=64, help="parallel streams (default: 64)")
    add("--time-size", type=cli.positive_int, default=50,
        help="characters per window, how far back the gradient flows (default: 50)")
    add("--epochs", type=cli.positive_int, default=6, help="default: 6")
    add("--lr", type=cli.positive_float, default=2e-3, help="Adam's learning rate (default: 2e-3)")
    add("--lr-decay", type=cli.positive_float, default=0.8, metavar="GAMMA",
        help="multiply the learning rate by GAMMA after every epoch; 1 keeps it (default: 0.8)")
    add("--clip", type=cli.nonneg_float, default=5.0, metavar="NORM",
        help="clip the gradients to this global norm; 0: no clipping (default: 5)")
    add("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    add("--train-chars", type=cli.positive_int, default=None, metavar="N",
        help="train on the first N characters of the training text only")
    add("--time-limit", type=cli.nonneg_float, default=840.0, metavar="SECONDS",
        help="stop after the epoch whose successor would end past this many seconds of training, "
             "judged by the longest epoch so far; 0: no limit (default: 840)")
    add("--sample-length", type=cli.positive_int, default=600, help="characters per sample (default: 600)")
    add("--temperature", type=cli.nonneg_float, nargs="+", default=[0.5, 0.8, 1.0], metavar="T",
        help="one sample at each temperature; 0 is greedy (default: 0.5 0.8 1.0)")
    add("--prime", default="ROMEO:", help="text the samples start from (default: ROMEO:)")
    add("--text", metavar="PATH", default=None,
        help="train on this UTF-8 text file instead (its last 10%% for validation)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 1)")
    # the time limit and the samples drawn after training may change on a resume
    training.add_checkpoint_args(parser, may_change=("time_limit", "sample_length", "temperature", "prime"))
    parser.add_check(_check_options)
    return parser


def _check_options(args):
    if args.tie and args.embed != args.hidden and not args.quick:
        return (f"argument --tie: the output layer is the embedding transposed, so --embed ({args.embed}) must "
                f"equal --hidden ({args.hidden})")
    if not args.prime:
        return "argument --prime: expected at least one character"
    return None


def plot(plt, history, baselines, title):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    ax = axes[0]
    it = np.arange(1, len(history["iter_loss"]) + 1)
    ax.plot(it, history["iter_loss"], color="C0", alpha=0.3, lw=0.6, label="window")
    ax.plot(it, plots.smooth(history["iter_loss"], 100), color="C0", lw=1.8, label="mean of last 100")
    ax.set_xlabel("window (iteration)")
    plots.integer_ticks(ax)
    ax.set_title("training loss of every window")
    ax = axes[1]
    ax.plot(history["epoch"], history["train_loss"], "o-", ms=4, label="training (mean over the epoch)")
    ax.plot(history["epoch"], history["val_loss"], "s--", ms=4, label="validation")
    plots.epoch_axis(ax, len(history["epoch"]))
    plots.mark_lone_points(ax)
    ax.set_title("loss after each epoch")
    for ax in axes:
        for (name, value), style in zip(baselines.items(), (":", "-.")):
            ax.axhline(value, color="gray", ls=style, lw=1.2, label=f"{name} baseline {value:.2f}")
        ax.set_ylabel("nats per character")
        ax.grid(True)
    # from below the lowest loss or baseline (both baselines stay in view) to a little above
    # the unigram one
    top = max(baselines.values()) + 0.4
    axes[0].set_ylim(min(history["iter_loss"] + list(baselines.values())) - 0.1, top)
    losses = [v for v in history["train_loss"] + history["val_loss"] if v is not None]
    axes[1].set_ylim(min(losses + list(baselines.values())) - 0.1, top)
    fig.suptitle(title)
    plots.place_legends(fig, axes)
    return fig


def shorten(args):
    for key in ("embed", "hidden", "batch_size", "time_size", "lr"):
        setattr(args, key, QUICK[key])
    args.epochs = min(args.epochs, QUICK["epochs"])
    args.sample_length = min(args.sample_length, QUICK["sample_length"])
    args.tie = False


def experiment(args, plt, settings):
    dtype = np.dtype(args.dtype)

    train, val, vocab, name = load_corpus(args)
    missing = sorted(set(args.prime) - set(vocab.chars))
    if missing:
        build_parser().error(f"argument --prime: {''.join(missing)!r} not in the text's {len(vocab)} characters")
    baselines = ngram_baselines(train, len(vocab))
    net = RnnLM(len(vocab), args.embed, args.hidden, num_layers=args.layers, dropout=args.dropout,
                tie_weights=args.tie, dtype=dtype, rng=args.seed)
    optimizer = Adam(lr=args.lr)
    # The validation text is read in wider windows (the state carries over anyway) and as many
    # streams as it has characters for, up to 64.
    try:
        train_batches = BPTTBatches(train, args.batch_size, args.time_size)
        val_batches = BPTTBatches(val, min(EVAL_BATCH_SIZE, max(len(val) - 1, 1)), EVAL_TIME_SIZE)
    except ValueError as err:
        sys.exit(f"error: {err}")
    last_epoch = training.LastEpoch(net)
    time_limit = training.TimeLimit(args.time_limit)
    callbacks = [last_epoch, time_limit, settings] + ([GradientClipping(args.clip)] if args.clip else [])
    trainer = training.make_trainer(args, lambda: Trainer(
        net, optimizer, train_batches, val_batches, epochs=args.epochs, callbacks=callbacks,
        schedule=ExponentialLR(args.lr_decay, base_lr=args.lr), verbose=args.verbose,
        checkpoint=args.checkpoint, resume=args.resume))
    print(f"{name}: {len(train)} training and {len(val)} validation characters, {len(vocab)} distinct; "
          f"baselines: unigram {baselines['unigram']:.2f}, bigram {baselines['bigram']:.2f} nats/char")
    print(f"RnnLM: embedding {args.embed}, {args.layers} x LSTM {args.hidden}"
          f"{', dropout ' + str(args.dropout) if args.dropout else ''}{', tied' if args.tie else ''} "
          f"({net.n_params()} parameters, {args.dtype}); {optimizer!r} x {args.lr_decay:g} per epoch, "
          f"clip {args.clip:g}; {args.batch_size} streams x {args.time_size} steps, {len(train_batches)} "
          f"windows per epoch")

    history, error, interrupted, seconds = training.run_training(trainer, last_epoch, args, "epoch", args.epochs)
    diverged = None if error is None else str(error)
    done = history.n_epochs
    if not interrupted and time_limit.reason and args.verbose:
        print(f"stopped after epoch {done}: {time_limit.reason}")

    samples = {}
    if done and diverged is None:
        prime = vocab.encode(args.prime)
        for temperature in args.temperature:
            ids = net.generate(prime, args.sample_length, rng=args.seed, temperature=temperature)
            samples[f"{temperature:g}"] = args.prime + vocab.decode(ids)
    val_loss = history["val_loss"][-1] if done else None
    if done:
        print(f"validation loss {val_loss:.4f} nats/char ({val_loss / math.log(2):.3f} bits, perplexity "
              f"{history['val_perplexity'][-1]:.2f}) after {done} epoch(s); training took {seconds:.0f} s"
              + (" in this process" if args.resume else ""))
    for temperature, text in samples.items():
        print(f"\n--- sample at temperature {temperature} ---\n{text}")

    results = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
        "corpus": name, "train_chars": len(train), "val_chars": len(val), "vocab_size": len(vocab),
        "n_params": net.n_params(), "baselines": baselines, "val_loss": val_loss, "epochs_done": done,
        "seconds": seconds, "stopped_by_time_limit_after_epoch": history["stopped_epoch"],
        "interrupted_after_epoch": done if interrupted else None, "diverged": diverged,
        "samples": samples, "history": dict(history),
    }
    figures = {}
    if done:
        figures["char_lm.png"] = plot(plt, history, baselines,
                                      f"{name}: LSTM {args.layers}x{args.hidden}, embedding {args.embed}; "
                                      f"validation {val_loss:.3f} nats/char after {done} epoch(s), "
                                      f"{training.format_time(seconds)}")
    if samples:
        path = outputs.output_dir(args.out) / "char_lm_samples.txt"
        path.write_text("".join(f"--- temperature {t} ---\n{text}\n\n" for t, text in samples.items()),
                        encoding="utf-8")
        print(f"wrote {path}")
    # after a divergence, the weights of the last completed epoch
    training.save_weights(net, args.out, "char_lm", history, stopped_early=bool(interrupted or diverged))
    return Outcome(results, figures=figures, interrupted=interrupted, failure=exits.lr_failure(error, args.lr))


main = script(__doc__, "char_lm", experiment, parser=build_parser, shorten=shorten, settings=True)


if __name__ == "__main__":
    exits.run(main)
