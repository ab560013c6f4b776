"""Spiral data: a linear softmax classifier against a two-layer ReLU network.

Three classes of 100 points each lie on the arms of a spiral (radius 0..1, angle
4j..4(j+1) plus N(0, 0.2) noise). Both models are trained by full-batch gradient
descent with lr 1.0 and the L2 penalty 0.5 * 1e-3 * sum(W**2), starting from
weights 0.01 * N(0, 1):

- a linear classifier (2 -> 3 softmax), 1000 steps; the article reports a training
  accuracy of 0.49: a line cannot follow a spiral;
- a two-layer net (2 -> 100 ReLU -> 3), 10000 steps, the loss printed every 1000;
  the article reports 0.98.

Writes spiral.png (the data, the decision regions of both models on a 0.02 mesh, the
loss curves) and spiral.json (accuracies, losses, settings). Ctrl-C writes the models
as of their last completed step, and exits with status 130. A model whose loss diverges
(NaN, inf, or 100 times its first loss) is kept as of its last step before that and the
other is trained; the files are written, then the script exits with status 1 and one line
on stderr saying where it diverged ("lower --lr").
"""

import numpy as np

from bprop.datasets import make_spiral
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Callback, Trainer
import cli
import exits
import plots
import training
from experiment import Outcome, script

COLORS = ("#d62728", "#2ca02c", "#1f77b4")
#: training accuracies the article reports
REPORTED = {"linear": 0.49, "two_layer": 0.98}


class Report(Callback):
    """A Trainer callback printing the loss and accuracy every ``every`` steps (epochs)."""

    def __init__(self, every):
        self.every = every

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every == 0:
            print(f"  step {epoch:>5}: loss {logs['train_loss']:.4f}, accuracy {logs['train_acc']:.3f}")


def train(x, t, hidden, steps, lr, reg, seed, report_every=None):
    """Full-batch gradient descent on a softmax net with the given hidden layers.

    Returns ``(net, history, error, interrupted)``; after a Ctrl-C (``interrupted``) or a
    divergence (``error``, the ``TrainingDivergedError``) the net and the history's epochs
    are those of the last completed step.
    """
    net = MultiLayerNet(2, hidden, 3, activation="relu", weight_init_std=0.01,
                        weight_decay_lambda=reg, rng=seed)
    last_step = training.LastEpoch(net)
    callbacks = [last_step] + ([Report(report_every)] if report_every else [])
    # One batch of all the points: every epoch is one full-batch step.
    trainer = Trainer(net, SGD(lr=lr), (x, t), epochs=steps, batch_size=len(x), rng=seed, verbose=0,
                      callbacks=callbacks)
    history, error, interrupted = training.fit_to_last_epoch(trainer, last_step)
    return net, history, error, interrupted


def options(parser):
    parser.add_argument("--points", type=cli.positive_int, default=100,
                        help="points per class (default: 100)")
    parser.add_argument("--hidden", type=cli.positive_int, default=100,
                        help="hidden ReLU units (default: 100)")
    parser.add_argument("--lr", type=cli.positive_float, default=1.0,
                        help="learning rate, > 0 (default: 1.0)")
    parser.add_argument("--reg", type=cli.nonneg_float, default=1e-3,
                        help="L2 strength lambda, >= 0 (default: 1e-3)")
    parser.add_argument("--linear-steps", type=cli.positive_int, default=1000,
                        help="linear classifier steps (default: 1000)")
    parser.add_argument("--steps", type=cli.positive_int, default=10000,
                        help="two-layer steps (default: 10000)")


def shorten(args):
    args.linear_steps, args.steps = min(args.linear_steps, 200), min(args.steps, 2000)


def experiment(args, plt):
    x, t = make_spiral(args.points, 3, noise=0.2, rng=args.seed)
    # name -> (title, net, history, steps asked): the models trained, or after Ctrl-C trained in part
    models, errors = {}, {}
    interrupted = False
    for key, hidden, steps, title, reports in (
            ("linear", [], args.linear_steps, "linear classifier", 5),
            ("two_layer", [args.hidden], args.steps, f"2-{args.hidden}-3 ReLU net", 10)):
        print(f"{title}, {steps} full-batch steps")
        net, history, error, interrupted = train(x, t, hidden, steps, args.lr, args.reg, args.seed,
                                                 report_every=max(steps // reports, 1))
        if error is not None:
            errors[key] = error
            print(f"  diverged at step {error.step}: loss {error.loss:.4g}")
        if history.n_epochs:
            models[key] = (title, net, history, steps)
        if interrupted:
            exits.interrupted(f"at step {history.n_epochs + 1} of {steps} of the {title}",
                               finished=bool(models))
            break
    accuracy = {key: m[2]["train_acc"][-1] for key, m in models.items()}
    print("training accuracy: " + ", ".join(
        f"{key.replace('_', '-')} {acc:.2f} (article: {REPORTED[key]})" for key, acc in accuracy.items()))

    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    _scatter(axes[0, 0], x, t)
    axes[0, 0].set_title(f"spiral data: 3 classes x {args.points} points")
    h = 0.02
    lo, hi = x.min(axis=0) - 1, x.max(axis=0) + 1
    gx, gy = np.meshgrid(np.arange(lo[0], hi[0], h), np.arange(lo[1], hi[1], h))
    mesh = np.column_stack([gx.ravel(), gy.ravel()])
    for ax, key in ((axes[0, 1], "linear"), (axes[1, 0], "two_layer")):
        if key not in models:
            why = "diverged at its first step" if key in errors else "not trained (interrupted)"
            ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center")
            continue
        title, model, history, steps = models[key]
        z = np.argmax(model.predict(mesh), axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5, 2.5], colors=COLORS, alpha=0.3)
        _scatter(ax, x, t)
        done = "" if history.n_epochs == steps else f" after {history.n_epochs} of {steps} steps"
        if key in errors:
            done += " (then diverged)"
        ax.set_title(f"{title}: accuracy {accuracy[key]:.2f}{done}")
    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
    ax = axes[1, 1]
    for key, label, color in (("linear", "linear", "C1"), ("two_layer", "two-layer", "C0")):
        if key in models:
            history = models[key][2]
            ax.plot(history["epoch"], history["train_loss"], label=label, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("full-batch step")
    ax.set_ylabel("loss (cross-entropy + L2)")
    ax.set_title(f"training loss (SGD lr {args.lr:g}, L2 {args.reg:g}; lr 1 makes it spike)")
    ax.grid(True, which="both")
    plots.place_legends(fig, list(axes.ravel()), outside="right")

    results = {
        "settings": {"points_per_class": args.points, "hidden": args.hidden, "lr": args.lr,
                     "reg": args.reg, "linear_steps": args.linear_steps, "steps": args.steps,
                     "seed": args.seed},
        "interrupted": interrupted,
    }
    for key, (title, net, history, steps) in models.items():
        results[key] = {"train_accuracy": accuracy[key], "final_loss": history["train_loss"][-1],
                        "reported_accuracy": REPORTED[key], "steps_done": history.n_epochs}
    for key, error in errors.items():
        results.setdefault(key, {"steps_done": 0})["diverged"] = str(error)
    if "two_layer" in models:
        results["two_layer"]["loss_every_1000"] = models["two_layer"][2]["train_loss"][999::1000]
    failure = None
    if errors:
        key, error = next(iter(errors.items()))
        name = "linear classifier" if key == "linear" else "two-layer net"
        failure = exits.lr_failure(error, args.lr, what=f"training of the {name}")
    return Outcome(results, figures={"spiral.png": fig}, interrupted=interrupted, failure=failure)


main = script(__doc__, "spiral", experiment, options=options, shorten=shorten,
              quick="200 linear and 2000 two-layer steps instead of 1000 and 10000")


def _scatter(ax, x, t):
    for label, color in enumerate(COLORS):
        sel = t == label
        ax.scatter(x[sel, 0], x[sel, 1], s=18, c=color, edgecolors="k", linewidths=0.4,
                   label=f"class {label}")


if __name__ == "__main__":
    exits.run(main)
