"""Train a small GPT on Tiny Shakespeare, character by character, and sample text from it.

By default the "baby GPT" that fits a CPU: 4 pre-norm transformer blocks of 4 heads, 128
wide, a context of 64 characters, no dropout, float32 (818,241 parameters). Every step
takes 12 windows of 65 characters at random places of the training text (the first 90%):
each window's first 64 are read and each of them predicts the character after it. AdamW
(betas 0.9 and 0.99) with weight decay 0.1 on the weight matrices and embeddings only (not
on biases nor on the LayerNorms' gains and shifts, as in GPT-2); the learning rate rises
linearly to 2e-3 over 100 steps, then falls along a half cosine to a tenth of it at step
5000 (WarmupCosine, per step); gradients clipped to a global norm of 1. Every 250 steps
(a round, which the progress lines call an epoch) the model is measured on 256 windows of
64 characters spread evenly over the validation text (the last 10%); when training ends,
on the whole validation text. Losses are in nats per character; the entropies of the
training text's unigram (3.31) and bigram (2.45) distributions, and the validation loss of
char_lm.py's LSTM (1.556), are the lines to compare with. --time-limit (default 900 s)
stops after the round whose successor would end past it, so the default run stops within
15 minutes of training even where the 5000 steps would take longer. The default run ends
at about 1.58 nats/char on the whole validation text (below 1.75 from step 2500 on), in
about 10 minutes of training on a shared 2-core machine.

Writes gpt_char.png (the loss of every step; training and validation loss after each
round, with the baselines), gpt_char_samples.txt (text generated after --prompt at each
--temperature), gpt_char_attention.png (the attention weights of every head of the last
block on the first 64 characters of a speech of the validation text), gpt_char.json (settings,
history, the final validation loss, parameters, samples, seconds) and gpt_char_weights.npz
(net.load_params reads it into a GPT built with the same sizes). --checkpoint PATH keeps
the whole training state after every round and --resume continues it, bit for bit as the
run never stopped (--time-limit and the sampling options may change on a resume: a run its
time limit stopped goes on when given more time). Ctrl-C keeps the completed rounds
(status 130); a diverging loss writes them and exits 1.

Examples:
  python scripts/gpt_char.py                                 # the defaults above
  python scripts/gpt_char.py --layers 6 --embed 192 --heads 6 --steps 8000 --time-limit 0
  python scripts/gpt_char.py --checkpoint gpt.npz            # Ctrl-C, then the same plus --resume
"""

import math
import sys

import numpy as np

from bprop.datasets import MiniBatchIterator, RandomWindows
from bprop.networks.gpt import GPT
from bprop.optim import GradientClipping, Trainer
from bprop.optim.adam_family import AdamW
from bprop.optim.cosine_schedules import WarmupCosine
from text_runs import load_corpus, ngram_baselines
import cli
import exits
from experiment import Outcome, script
import outputs
import plots
import training

#: the sizes --quick uses (and char_lm's 20000 training and 5000 validation characters)
QUICK = {"embed": 32, "heads": 2, "layers": 2, "context": 32, "batch_size": 8, "steps": 60, "warmup": 10,
         "lr": 3e-3, "eval_interval": 20, "eval_windows": 32, "sample_length": 80}
#: the validation loss of char_lm.py's default LSTM on Tiny Shakespeare (README)
LSTM_VAL_LOSS = 1.556
#: AdamW's betas (beta2 0.99 rather than 0.999: few characters per step make a noisy v)
BETAS = (0.9, 0.99)
#: the cosine ends at this fraction of --lr
MIN_LR_FRACTION = 0.1
#: validation windows per forward pass
EVAL_BATCH = 64


def build_parser():
    q = QUICK
    parser = cli.make_parser(__doc__, quick=f"20000 training and 5000 validation characters, {q['layers']} "
                             f"blocks of {q['heads']} heads {q['embed']} wide, context {q['context']}, "
                             f"{q['steps']} steps of {q['batch_size']} windows, lr {q['lr']:g}")
    add = parser.add_argument
    add("--layers", type=cli.positive_int, default=4, help="transformer blocks (default: 4)")
    add("--heads", type=cli.positive_int, default=4, help="attention heads per block (default: 4)")
    add("--embed", type=cli.positive_int, default=128, help="width of the model, a multiple of --heads (default: 128)")
    add("--context", type=cli.positive_int, default=64, help="characters the model reads (default: 64)")
    add("--dropout", type=cli.fraction, default=0.0, metavar="RATIO", help="dropout ratio in [0, 1) (default: 0)")
    add("--tie", action="store_true", help="the output layer is the token embedding transposed")
    add("--gelu", choices=("tanh", "none"), default="tanh",
        help="the MLPs' GELU: GPT-2's tanh form (default, about a fifth faster a step) or the exact one")
    add("--batch-size", type=cli.positive_int, default=12, help="windows per step (default: 12)")
    add("--steps", type=cli.positive_int, default=5000, help="updates, the cosine's length (default: 5000)")
    add("--warmup", type=cli.nonneg_int, default=100, help="steps of linear warm-up, < --steps (default: 100)")
    add("--lr", type=cli.positive_float, default=2e-3, help="AdamW's peak learning rate (default: 2e-3)")
    add("--weight-decay", type=cli.nonneg_float, default=0.1,
        help="AdamW's decoupled decay of the weight matrices and embeddings (default: 0.1)")
    add("--clip", type=cli.nonneg_float, default=1.0, metavar="NORM",
        help="clip the gradients to this global norm; 0: no clipping (default: 1)")
    add("--eval-interval", type=cli.positive_int, default=250, metavar="STEPS",
        help="steps per round: evaluation, checkpoint and time check after each (default: 250)")
    add("--eval-windows", type=cli.positive_int, default=256, metavar="N",
        help="validation windows measured after each round, spread evenly (default: 256)")
    add("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    add("--train-chars", type=cli.positive_int, default=None, metavar="N",
        help="train on the first N characters of the training text only")
    add("--text", metavar="PATH", default=None, help="train on this UTF-8 text file (its last 10%% for validation)")
    add("--time-limit", type=cli.nonneg_float, default=900.0, metavar="SECONDS",
        help="stop after the round whose successor would end past this many seconds of training, judged "
             "by the longest round so far; 0: no limit (default: 900)")
    add("--sample-length", type=cli.positive_int, default=600, help="characters per sample (default: 600)")
    add("--temperature", type=cli.nonneg_float, nargs="+", default=[0.5, 0.8, 1.0], metavar="T",
        help="one sample at each temperature; 0 is greedy (default: 0.5 0.8 1.0)")
    add("--top-k", type=cli.positive_int, default=None, metavar="K",
        help="draw each character from the K most likely only (default: from all)")
    add("--prompt", default="ROMEO:", help="text the samples start from (default: ROMEO:)")
    add("--attention-block", type=cli.positive_int, default=None, metavar="B",
        help="the block whose attention weights are drawn, 1 to --layers (default: the last)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1,
        help="0 silent, 1 progress bar (a line per round in a log), 2 a line per round (default: 1)")
    training.add_checkpoint_args(parser, may_change=("time_limit", "sample_length", "temperature", "top_k",
                                                     "prompt", "attention_block"))
    parser.add_check(_check_options)
    return parser


def _check_options(args):
    if args.embed % args.heads:
        return f"argument --embed: {args.embed} is not a multiple of --heads {args.heads}"
    if args.warmup >= args.steps and not args.quick:
        return f"argument --warmup: {args.warmup} steps must be fewer than --steps {args.steps}"
    if args.attention_block is not None and args.attention_block > args.layers:
        return f"argument --attention-block: {args.attention_block} is past the last of --layers {args.layers}"
    if not args.prompt:
        return "argument --prompt: expected at least one character"
    return None


def continue_after_time_limit(history, seconds):
    """Let a resumed run that its time limit stopped go on when ``seconds`` (the new
    --time-limit; 0: none) leaves room for another round as long as the longest so far.

    The Trainer ends a run whose history records a stop (``'stopped_epoch'``), which the time
    limit is the only one to set here; the history then reads as that of the run never stopped.
    """
    if history["stopped_epoch"] is not None:
        times = history["time"]
        if not seconds or times[-1] + float(np.max(np.diff(times, prepend=0.0))) <= seconds:
            history["stopped_epoch"] = None


def windows(ids, size):
    """The non-overlapping windows of ``ids``: inputs (n, size) and targets, n = (len - 1) // size."""
    n = (len(ids) - 1) // size
    return ids[:n * size].reshape(n, size), ids[1:n * size + 1].reshape(n, size)


def attention_weights(net, ids, block):
    """The attention weights (H, T, T) of block ``block`` (from 0) on ``ids (T,)``, in evaluation mode."""
    x = net.positions.forward(net.embedding.forward(ids[None], False), False)
    for b in net.blocks[:block]:
        x = b.forward(x, False)
    layer = net.blocks[block]
    _, weights = layer.attn.forward(layer.norm1.forward(x, False), False, need_weights=True,
                                    average_attn_weights=False)
    return weights[0].astype(np.float64)


def speech_start(text, length):
    """Where the first speech of ``text`` with ``length`` characters after it begins (0: none)."""
    start = text.find("\n\n") + 2
    return start if 2 <= start <= len(text) - length else 0


def plot_attention(plt, weights, snippet, block):
    heads = len(weights)
    cols = min(heads, 2)
    rows = -(-heads // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 7.2 * rows), squeeze=False, layout="constrained")
    labels = [{" ": "\u2423", "\n": "\u23ce"}.get(c, c) for c in snippet]
    for h, ax in enumerate(axes.flat):
        if h >= heads:
            ax.axis("off")
            continue
        image = ax.imshow(weights[h], cmap="Greys", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels, fontsize=6, family="monospace")
        ax.set_yticks(range(len(labels)), labels, fontsize=6, family="monospace")
        ax.tick_params(length=0)
        ax.set_xlabel("the position attended to")
        ax.set_ylabel("the position reading (it predicts the next character)")
        ax.set_title(f"head {h + 1}")
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.6)
    fig.suptitle(f"GPT block {block}: the attention of each head on a piece of the validation text")
    return fig


def plot(plt, history, lines, title):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    ax = axes[0]
    step = np.arange(1, len(history["iter_loss"]) + 1)
    ax.plot(step, history["iter_loss"], color="C0", alpha=0.3, lw=0.6, label="step")
    ax.plot(step, plots.smooth(history["iter_loss"], 100), color="C0", lw=1.8, label="mean of last 100")
    ax.set_title("training loss of every step")
    ax = axes[1]
    ax.plot(history["iteration"], history["train_loss"], "o-", ms=4, label="training (mean over the round)")
    ax.plot(history["iteration"], history["val_loss"], "s--", ms=4, label="validation (evenly spread windows)")
    plots.mark_lone_points(ax)
    ax.set_title("loss after each round")
    styles = (":", "-.", "--")
    for ax in axes:
        for (name, value), style in zip(lines.items(), styles):
            ax.axhline(value, color="gray" if "LSTM" not in name else "C3", ls=style, lw=1.2,
                       label=f"{name} {value:.3f}")
        ax.set_xlabel("step")
        plots.integer_ticks(ax)
        ax.set_ylabel("nats per character")
        ax.grid(True)
    top = max(lines.values()) + 0.4
    axes[0].set_ylim(min(history["iter_loss"] + list(lines.values())) - 0.1, top)
    losses = [v for v in history["train_loss"] + history["val_loss"] if v is not None]
    axes[1].set_ylim(min(losses + list(lines.values())) - 0.1, top)
    fig.suptitle(title)
    plots.place_legends(fig, axes)
    return fig


def shorten(args):
    for key in ("embed", "heads", "context", "batch_size", "lr", "eval_interval"):
        setattr(args, key, QUICK[key])
    for key in ("layers", "steps", "warmup", "eval_windows", "sample_length"):
        setattr(args, key, min(getattr(args, key), QUICK[key]))
    args.warmup = min(args.warmup, args.steps - 1)
    if args.attention_block is not None:
        args.attention_block = min(args.attention_block, args.layers)


def experiment(args, plt, settings):
    train, val, vocab, name = load_corpus(args)
    missing = sorted(set(args.prompt) - set(vocab.chars))
    if missing:
        build_parser().error(f"argument --prompt: {''.join(missing)!r} not in the text's {len(vocab)} characters")
    if len(val) < args.context + 1:
        sys.exit(f"error: the validation text has {len(val)} characters, fewer than --context {args.context} + 1")
    baselines = ngram_baselines(train, len(vocab))
    lines = {f"{k} baseline": v for k, v in baselines.items()}
    if args.text is None:
        lines["LSTM (char_lm.py)"] = LSTM_VAL_LOSS
    net = GPT(len(vocab), args.context, args.embed, args.heads, args.layers, tie_weights=args.tie,
              dropout=args.dropout, gelu_approximate=args.gelu, rng=args.seed, dtype=np.dtype(args.dtype))
    optimizer = AdamW(args.lr, *BETAS, weight_decay=args.weight_decay).decay_only(net.decay_keys)
    x_val, t_val = windows(val, args.context)
    every = np.unique(np.linspace(0, len(x_val) - 1, min(args.eval_windows, len(x_val))).round().astype(int))
    try:
        train_batches = RandomWindows(train, args.batch_size, args.context, args.eval_interval, rng=args.seed)
    except ValueError as err:
        sys.exit(f"error: {err}")
    val_batches = MiniBatchIterator(x_val[every], t_val[every], EVAL_BATCH, shuffle=False)
    last_round, time_limit = training.LastEpoch(net), training.TimeLimit(args.time_limit)
    callbacks = [last_round, time_limit, settings] + ([GradientClipping(args.clip)] if args.clip else [])
    schedule = WarmupCosine(args.warmup, args.steps, eta_min=MIN_LR_FRACTION * args.lr, base_lr=args.lr)
    trainer = training.make_trainer(args, lambda: Trainer(
        net, optimizer, train_batches, val_batches, iterations=args.steps, callbacks=callbacks, schedule=schedule,
        verbose=args.verbose, checkpoint=args.checkpoint, resume=args.resume))
    if args.resume:
        continue_after_time_limit(trainer.history, args.time_limit)
    print(f"{name}: {len(train)} training and {len(val)} validation characters, {len(vocab)} distinct; "
          f"baselines: unigram {baselines['unigram']:.2f}, bigram {baselines['bigram']:.2f} nats/char")
    print(f"GPT: {args.layers} blocks x {args.heads} heads, {args.embed} wide, context {args.context}"
          f"{', dropout ' + str(args.dropout) if args.dropout else ''}{', tied' if args.tie else ''} "
          f"({net.n_params()} parameters, {args.dtype}); {optimizer!r}, {schedule!r}, clip {args.clip:g}; "
          f"{args.steps} steps of {args.batch_size} windows, rounds of {args.eval_interval}")

    history, error, interrupted, seconds = training.run_training(trainer, last_round, args, "round")
    diverged = None if error is None else str(error)
    done = history.n_epochs
    if not interrupted and time_limit.reason and args.verbose:
        print(f"stopped after round {done}: {time_limit.reason}")
    steps_done = history["iteration"][-1] if done else 0
    trained = history["time"][done - 1] if done else 0.0  # seconds of training, all processes of the run

    val_loss, samples, attention, figures = None, {}, None, {}
    if done and diverged is None:
        val_loss = trainer.evaluate(MiniBatchIterator(x_val, t_val, EVAL_BATCH, shuffle=False))["loss"]
        print(f"validation loss {val_loss:.4f} nats/char ({val_loss / math.log(2):.3f} bits, perplexity "
              f"{math.exp(val_loss):.2f}) on the whole validation text after {steps_done} steps and "
              f"{training.format_time(trained)} of training")
        prompt = vocab.encode(args.prompt)
        for temperature in args.temperature:
            ids = net.generate(prompt, args.sample_length, temperature, args.top_k, rng=args.seed)
            samples[f"{temperature:g}"] = args.prompt + vocab.decode(ids)
            print(f"\n--- sample at temperature {temperature:g} ---\n{samples[f'{temperature:g}']}")
        text = vocab.decode(val)
        first = speech_start(text, args.context)
        snippet = text[first:first + args.context]
        block = args.attention_block or args.layers
        weights = attention_weights(net, val[first:first + args.context], block - 1)
        attention = {"block": block, "text": snippet, "weights": weights}
        figures["gpt_char_attention.png"] = plot_attention(plt, weights, snippet, block)
    if done:
        shown = f"validation {val_loss:.3f} nats/char, " if val_loss is not None else ""
        figures["gpt_char.png"] = plot(plt, history, lines, f"{name}: GPT of {args.layers} blocks of {args.heads} "
                                       f"heads, {args.embed} wide, context {args.context}; {shown}{steps_done} steps, "
                                       f"{training.format_time(trained)}")
    if samples:
        path = outputs.output_dir(args.out) / "gpt_char_samples.txt"
        path.write_text("".join(f"--- temperature {t} ---\n{s}\n\n" for t, s in samples.items()), encoding="utf-8")
        print(f"wrote {path}")
    results = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
        "corpus": name, "train_chars": len(train), "val_chars": len(val), "vocab_size": len(vocab),
        "n_params": net.n_params(), "baselines": baselines, "lstm_val_loss": LSTM_VAL_LOSS,
        "val_loss": val_loss, "val_windows": len(x_val), "rounds_done": done, "steps_done": steps_done,
        "seconds": seconds, "training_seconds": trained, "stopped_by_time_limit_after_round": history["stopped_epoch"],
        "interrupted_after_round": done if interrupted else None, "diverged": diverged,
        "samples": samples, "attention": attention, "history": dict(history),
    }
    training.save_weights(net, args.out, "gpt_char", history, stopped_early=bool(interrupted or diverged))
    return Outcome(results, figures=figures, interrupted=interrupted, failure=exits.lr_failure(error, args.lr))


main = script(__doc__, "gpt_char", experiment, parser=build_parser, shorten=shorten, settings=True)


if __name__ == "__main__":
    exits.run(main)
