"""What the sequence-to-sequence scripts share: one checkpoint file per variant, the history and
examples they report, and the line that ends a diverged run (seq2seq_addition.py,
attention_dates.py)."""

import os
from pathlib import Path

import numpy as np

import cli
import exits
import plots


def variant_checkpoint(path, name):
    """The checkpoint of the variant ``name``: ``path`` with ``_name`` before its suffix."""
    path = Path(path)
    return str(path.with_name(f"{path.stem}_{name}{path.suffix}"))


def checkpoints_to_resume(args):
    """The variants' checkpoint files a --resume continues from (those that exist)."""
    if not args.resume:
        return []
    paths = [variant_checkpoint(args.checkpoint, name) for name in args.variants]
    return [p for p in paths if os.path.isfile(p)]


def check_checkpoint(args):
    """None, or the usage error of --checkpoint and --resume: a folder, a place that cannot
    be written, or a --resume with no variant's file to continue from."""
    if args.resume and not args.checkpoint:
        return "argument --resume: needs --checkpoint PATH, the file to continue from"
    if not args.checkpoint:
        return None
    if os.path.isdir(args.checkpoint):
        return f"argument --checkpoint: {args.checkpoint!r} is a folder, not a file"
    try:
        cli.writable_dir(os.path.dirname(os.path.abspath(args.checkpoint)))
    except ValueError as err:
        return f"argument --checkpoint: {err}"
    paths = [variant_checkpoint(args.checkpoint, name) for name in args.variants]
    if args.resume and not any(os.path.isfile(p) for p in paths):
        return f"argument --resume: there is no checkpoint at {' or '.join(map(repr, paths))}"
    return None


def variant_history(history):
    """What the JSON and the figure keep of a Trainer's history, per epoch: the training loss
    (the epoch's mini-batch losses), the test loss and accuracy, and the epoch's seconds."""
    # a key of the epochs is in the history once an epoch is recorded
    return {"epoch": list(history["epoch"]), "train_loss": list(history.get("train_loss", [])),
            "test_loss": list(history.get("val_loss", [])), "test_accuracy": list(history.get("val_seq_acc", [])),
            "time": np.diff(history.get("time", []), prepend=0.0).tolist()}


def examples(model, x_test, t_test, vocab, reverse, n=8):
    """The first ``n`` test questions with the model's answers and the right ones, as text."""
    guess = model.generate(x_test[:n], int(t_test[0, 0]), t_test.shape[1] - 1)
    questions = vocab.decode(x_test[:n, ::-1] if reverse else x_test[:n])
    return [{"question": q.strip(), "answer": a.strip(), "right": r.strip(), "correct": a == r}
            for q, a, r in zip(questions, vocab.decode(guess), vocab.decode(t_test[:n, 1:]))]


def diverged_line(errors, args):
    """None, or the line that names the first model that diverged (and the others)."""
    if not errors:
        return None
    first, *others = errors
    also = f" (and {', '.join(others)})" if others else ""
    return exits.diverged_line(errors[first], exits.lower("--lr", args.lr, errors[first].lr),
                                what=f"training of the {first} model{also}")


def best_variant(histories, labels, digits):
    """``'best LABEL 99.94% after 4 epochs'``: the variant of ``histories`` whose last test
    accuracy is highest, that accuracy with ``digits`` decimals of a percent, and its epochs."""
    best = max(histories, key=lambda k: histories[k]["test_accuracy"][-1])
    epochs = histories[best]["epoch"][-1]
    return (f"best {labels[best]} {histories[best]['test_accuracy'][-1]:.{digits}%} after {epochs} "
            f"epoch{'s' if epochs > 1 else ''}")


def plot_variants(plt, histories, labels, title, target, texts):
    """Test accuracy (whole answers) and training loss per epoch of each variant, in two panels;
    ``labels`` names each variant, ``target`` is the accuracy drawn as a dotted line, ``texts``
    the accuracy panel's axis label and title and the loss panel's axis label."""
    accuracy_label, accuracy_title, loss_label = texts
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    for i, (name, history) in enumerate(histories.items()):
        axes[0].plot(history["epoch"], history["test_accuracy"], "o-", ms=4, color=f"C{i}", label=labels[name])
        axes[1].plot(history["epoch"], history["train_loss"], "o-", ms=4, color=f"C{i}", label=labels[name])
    axes[0].axhline(target, color="gray", ls=":", lw=1.2, label=f"{target:.0%}")
    axes[0].set_ylim(-0.02, 1.02)  # a point at 0 or 1 whole, not cut by the frame
    axes[0].set_ylabel(accuracy_label)
    axes[0].set_title(accuracy_title)
    axes[1].set_yscale("log")
    axes[1].set_ylabel(loss_label)
    axes[1].set_title("training loss, mean over each epoch")
    n_epochs = max((len(h["epoch"]) for h in histories.values()), default=1)
    for ax in axes:
        plots.epoch_axis(ax, n_epochs)
        plots.mark_lone_points(ax)
        ax.grid(True, which="both")
    fig.suptitle(title)
    plots.place_legends(fig, {axes[0]: {"spots": ("center right",) + plots.LEGEND_SPOTS}, axes[1]: {}})
    return fig
