"""Logic gates from perceptrons: AND, NAND, OR by hand, XOR from their composition, then XOR learned.

A perceptron outputs step(x @ w + b): with hand-set weights it computes AND
(w = (0.5, 0.5), b = -0.7), NAND (-0.5, -0.5, 0.7) and OR (0.5, 0.5, -0.2). No single
perceptron computes XOR, because its two classes are not separable by a line;
two layers do: XOR(x) = AND(NAND(x), OR(x)). Finally a 2-8-2 sigmoid network
learns XOR from the four examples by backpropagation (full-batch SGD, lr 1.0).

Writes perceptron_gates.png (the decision regions of each gate and of the trained
network, and its loss curve) and perceptron_gates.json (truth tables, predictions).
Ctrl-C while the network trains writes the gates and the network as of its last
completed step, and exits with status 130. When the network's loss diverges (NaN, inf, or
100 times its first loss) the files are written the same way, with the network as of its
last step before that, and the script exits with status 1 and one line on stderr saying
where it diverged ("lower --lr").

Example:
  python scripts/perceptron_gates.py --out results/
"""

import numpy as np

from bprop.datasets import make_logic_gate
from bprop.layers import step_function
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Trainer
import cli
import exits
from experiment import Outcome, script
import training

#: (weights, bias) of the hand-set perceptrons
GATES = {
    "AND": ((0.5, 0.5), -0.7),
    "NAND": ((-0.5, -0.5), 0.7),
    "OR": ((0.5, 0.5), -0.2),
}


def perceptron(x, w, b):
    """``step(x @ w + b)``: 1 where the weighted sum exceeds 0. x : (N, 2) -> (N,) int."""
    return step_function(np.asarray(x, dtype=np.float64) @ np.asarray(w) + b).astype(np.int64)


def gate(name, x):
    """One of the hand-set gates (AND, NAND, OR), or XOR built from them in two layers."""
    if name == "XOR":
        return gate("AND", np.stack([gate("NAND", x), gate("OR", x)], axis=1))
    w, b = GATES[name]
    return perceptron(x, w, b)


def train_xor(hidden, lr, steps, seed):
    """A 2-hidden-2 sigmoid net trained on the four XOR examples; returns ``(net, history,
    error, interrupted)``, after a Ctrl-C (``interrupted``) or a divergence (``error``, the
    ``TrainingDivergedError``) as of the last completed step."""
    x, t = make_logic_gate("XOR")
    net = MultiLayerNet(2, [hidden], 2, activation="sigmoid", weight_init_std="xavier", rng=seed)
    last_step = training.LastEpoch(net)
    trainer = Trainer(net, SGD(lr=lr), (x, t), epochs=steps, batch_size=4, rng=seed, verbose=0,
                      callbacks=[last_step])
    history, error, interrupted = training.fit_to_last_epoch(trainer, last_step)
    return net, history, error, interrupted


def options(parser):
    parser.add_argument("--hidden", type=cli.positive_int, default=8,
                        help="hidden units of the XOR network (default: 8)")
    parser.add_argument("--lr", type=cli.positive_float, default=1.0,
                        help="learning rate of the XOR network, > 0 (default: 1.0)")
    parser.add_argument("--steps", type=cli.positive_int, default=2000,
                        help="full-batch training steps (default: 2000; 1000 with --quick)")


def shorten(args):
    args.steps = min(args.steps, 1000)


def experiment(args, plt):
    steps = args.steps
    inputs = make_logic_gate("AND")[0]
    tables = {}
    for name in ("AND", "NAND", "OR", "XOR"):
        out = gate(name, inputs)
        expected = make_logic_gate(name)[1]
        if not np.array_equal(out, expected):
            raise AssertionError(f"{name} perceptron gives {out}, expected {expected}")
        tables[name] = out.tolist()
        print(f"{name:>4}: " + "  ".join(f"{a:.0f}{b:.0f}->{y}" for (a, b), y in zip(inputs, out)))

    net, history, error, interrupted = train_xor(args.hidden, args.lr, steps, args.seed)
    if interrupted:
        # The hand-set gates are finished; the network is written as of its last step, if any.
        exits.interrupted(f"at training step {history.n_epochs + 1} of {steps}")
    if interrupted or error:
        steps = history.n_epochs
    x, t = make_logic_gate("XOR")
    scores = net.predict(x)
    prob = np.exp(scores - scores.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    learned = np.argmax(scores, axis=1)
    exact = bool(np.array_equal(learned, t))
    final_loss = history["train_loss"][-1] if steps else None
    print(f"MLP 2-{args.hidden}-2 after {steps} steps: "
          + (f"loss {final_loss:.4f}, " if steps else "")
          + "XOR " + "  ".join(f"{a:.0f}{b:.0f}->{y} (p={p:.3f})"
                              for (a, b), y, p in zip(x, learned, prob[:, 1]))
          + ("  learned exactly" if exact else "  NOT learned"))

    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    mesh = np.column_stack([gx.ravel(), gy.ravel()])
    panels = [(n, gate(n, mesh), f"{n} perceptron") for n in ("AND", "NAND", "OR")]
    panels.append(("XOR", gate("XOR", mesh), "XOR = AND(NAND, OR), two layers"))
    for ax, (name, z, title) in zip(axes.ravel(), panels):
        ax.contourf(gx, gy, z.reshape(gx.shape), levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f7dcc8"])
        _points(ax, inputs, make_logic_gate(name)[1])
        ax.set_title(title)
    ax = axes[1, 1]
    mesh_scores = net.predict(mesh)
    p1 = np.exp(mesh_scores[:, 1] - np.logaddexp(mesh_scores[:, 0], mesh_scores[:, 1]))
    filled = ax.contourf(gx, gy, p1.reshape(gx.shape), levels=np.linspace(0, 1, 11), cmap="coolwarm",
                         alpha=0.6)
    ax.contour(gx, gy, p1.reshape(gx.shape), levels=[0.5], colors="k", linewidths=1)
    fig.colorbar(filled, ax=ax, label="P(output = 1)", fraction=0.046)
    _points(ax, x, t)
    ax.set_title(f"XOR learned by a 2-{args.hidden}-2 sigmoid net"
                 + (f"\n(interrupted after {steps} steps)" if interrupted else "")
                 + (f"\n(diverged at step {steps + 1})" if error else ""))
    ax = axes[1, 2]
    # after a divergence, the loss that diverged too (one more than the steps done)
    ax.plot(np.arange(1, len(history["iter_loss"]) + 1), history["iter_loss"], color="C3")
    ax.set_yscale("log")
    ax.set_xlabel("step (full batch of 4)")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(f"training the XOR net (SGD, lr {args.lr:g})")
    ax.grid(True, which="both")
    for ax in axes.ravel()[:5]:
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(-0.5, 1.5)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_xticks([-0.5, 0, 0.5, 1, 1.5])
        ax.set_yticks([-0.5, 0, 0.5, 1, 1.5])
        ax.set_aspect("equal")
    fig.suptitle("Perceptrons as logic gates: orange region outputs 1, blue outputs 0")
    fig.tight_layout()

    results = {
        "inputs": inputs.tolist(),
        "perceptrons": {name: {"weights": list(w), "bias": b} for name, (w, b) in GATES.items()},
        "truth_tables": tables,
        "mlp": {"hidden": args.hidden, "lr": args.lr, "steps": steps, "seed": args.seed,
                "predictions": learned.tolist(), "p_one": prob[:, 1].tolist(),
                "final_loss": final_loss, "learned_exactly": exact, "interrupted": interrupted,
                "diverged": None if error is None else str(error)},
    }
    return Outcome(results, figures={"perceptron_gates.png": fig}, interrupted=interrupted,
                   failure=exits.lr_failure(error, args.lr))


main = script(__doc__, "perceptron_gates", experiment, options=options, shorten=shorten,
              quick="fewer training steps (still learns XOR)")


def _points(ax, x, t):
    for label, marker, color in ((0, "o", "#1f4e9c"), (1, "s", "#c0392b")):
        sel = t == label
        ax.scatter(x[sel, 0], x[sel, 1], marker=marker, s=90, c=color, edgecolors="k", zorder=3,
                   label=f"output {label}")


if __name__ == "__main__":
    exits.run(main)
