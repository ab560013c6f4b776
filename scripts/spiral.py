"""Spiral data: a linear softmax classifier against a two-layer ReLU network.

Three classes of 100 points each lie on the arms of a spiral (radius 0..1, angle
4j..4(j+1) plus N(0, 0.2) noise). Both models are trained by full-batch gradient
descent with lr 1.0 and the L2 penalty ``0.5 * 1e-3 * sum(W**2)``, starting from
weights 0.01 * N(0, 1):

- a linear classifier (2 -> 3 softmax), 1000 steps; the article reports a training
  accuracy of 0.49: a line cannot follow a spiral;
- a two-layer net (2 -> 100 ReLU -> 3), 10000 steps, the loss printed every 1000;
  the article reports 0.98.

Writes spiral.png (the data, the decision regions of both models on a 0.02 mesh, the
loss curves) and spiral.json (accuracies, losses, settings).
"""

import numpy as np

from bprop.datasets import make_spiral
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Trainer
import common

COLORS = ("#d62728", "#2ca02c", "#1f77b4")


def train(x, t, hidden, steps, lr, reg, seed, report_every=None):
    """Full-batch gradient descent on a softmax net with the given hidden layers."""
    net = MultiLayerNet(2, hidden, 3, activation="relu", weight_init_std=0.01,
                        weight_decay_lambda=reg, rng=seed)
    callbacks = []
    if report_every:
        def report(trainer, record):
            if record["epoch"] % report_every == 0:
                print(f"  step {record['epoch']:>5}: loss {record['train_loss']:.4f}, "
                      f"accuracy {record['train_acc']:.3f}")
        callbacks.append(report)
    # One batch of all the points: every epoch is one full-batch step.
    history = Trainer(net, SGD(lr=lr), x, t, epochs=steps, batch_size=len(x), rng=seed, verbose=0,
                      callbacks=callbacks).fit()
    return net, history


def main(argv=None):
    parser = common.make_parser(__doc__, quick="200 linear and 2000 two-layer steps instead of 1000 and 10000")
    parser.add_argument("--points", type=int, default=100, help="points per class (default: 100)")
    parser.add_argument("--hidden", type=int, default=100, help="hidden ReLU units (default: 100)")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate (default: 1.0)")
    parser.add_argument("--reg", type=float, default=1e-3, help="L2 strength lambda (default: 1e-3)")
    parser.add_argument("--linear-steps", type=int, default=1000, help="default: 1000")
    parser.add_argument("--steps", type=int, default=10000, help="two-layer steps (default: 10000)")
    args = parser.parse_args(argv)
    if args.quick:
        args.linear_steps, args.steps = min(args.linear_steps, 200), min(args.steps, 2000)
    plt = common.pyplot(args.show)

    x, t = make_spiral(args.points, 3, noise=0.2, rng=args.seed)
    print(f"linear softmax classifier, {args.linear_steps} full-batch steps")
    linear, h_lin = train(x, t, [], args.linear_steps, args.lr, args.reg, args.seed,
                          report_every=max(args.linear_steps // 5, 1))
    print(f"two-layer net 2-{args.hidden}-3, {args.steps} full-batch steps")
    net, h_net = train(x, t, [args.hidden], args.steps, args.lr, args.reg, args.seed,
                       report_every=max(args.steps // 10, 1))
    acc_lin, acc_net = h_lin["train_acc"][-1], h_net["train_acc"][-1]
    print(f"training accuracy: linear {acc_lin:.2f} (article: 0.49), "
          f"two-layer {acc_net:.2f} (article: 0.98)")

    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    _scatter(axes[0, 0], x, t)
    axes[0, 0].set_title(f"spiral data: 3 classes x {args.points} points")
    h = 0.02
    lo, hi = x.min(axis=0) - 1, x.max(axis=0) + 1
    gx, gy = np.meshgrid(np.arange(lo[0], hi[0], h), np.arange(lo[1], hi[1], h))
    mesh = np.column_stack([gx.ravel(), gy.ravel()])
    for ax, model, title in ((axes[0, 1], linear, f"linear classifier: accuracy {acc_lin:.2f}"),
                             (axes[1, 0], net, f"2-{args.hidden}-3 ReLU net: accuracy {acc_net:.2f}")):
        z = np.argmax(model.predict(mesh), axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5, 2.5], colors=COLORS, alpha=0.3)
        _scatter(ax, x, t)
        ax.set_title(title)
    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
    ax = axes[1, 1]
    ax.plot(h_lin["epoch"], h_lin["train_loss"], label="linear", color="C1")
    ax.plot(h_net["epoch"], h_net["train_loss"], label="two-layer", color="C0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("full-batch step")
    ax.set_ylabel("loss (cross-entropy + L2)")
    ax.set_title(f"training loss (SGD lr {args.lr:g}, L2 {args.reg:g}; lr 1 makes it spike)")
    ax.grid(True, which="both")
    ax.legend()
    fig.tight_layout()

    results = {
        "settings": {"points_per_class": args.points, "hidden": args.hidden, "lr": args.lr,
                     "reg": args.reg, "linear_steps": args.linear_steps, "steps": args.steps,
                     "seed": args.seed},
        "linear": {"train_accuracy": acc_lin, "final_loss": h_lin["train_loss"][-1],
                   "reported_accuracy": 0.49},
        "two_layer": {"train_accuracy": acc_net, "final_loss": h_net["train_loss"][-1],
                      "reported_accuracy": 0.98,
                      "loss_every_1000": h_net["train_loss"][999::1000]},
    }
    common.save_figure(fig, args.out, "spiral.png")
    common.save_json(results, args.out, "spiral.json")
    common.finish(plt, args.show)
    return results


def _scatter(ax, x, t):
    for label, color in enumerate(COLORS):
        sel = t == label
        ax.scatter(x[sel, 0], x[sel, 1], s=18, c=color, edgecolors="k", linewidths=0.4,
                   label=f"class {label}")
    ax.legend(loc="upper right")


if __name__ == "__main__":
    main()
