"""Weight initialisation: how the initial scale shapes activations and learning.

(a) 1000 random inputs (N(0, 1), 100 features) pass through 5 layers of 100 units
whose weights are drawn from N(0, s^2) with s = 1, s = 0.01, Xavier (sqrt(1/100))
or He (sqrt(2/100)), for sigmoid, tanh and ReLU activations. The histograms of each
layer's activations show the problems: with s = 1, sigmoid and tanh saturate at their
ends (gradients vanish); with s = 0.01 the activations collapse toward one value
(every unit computes the same thing); Xavier keeps sigmoid and tanh spread out, and
He keeps ReLU's scale constant through depth where Xavier halves its variance per
layer. ReLU activations span many orders of magnitude, so their row shows log10 of
the positive activations (the zeros, about half, are left out).

(b) A 784-100-100-100-100-10 ReLU net learns MNIST (SGD lr 0.01, batch 128, 2000
iterations, float32) from each of std 0.01, Xavier and He initial weights; std 0.01
hardly learns at all in that time. A run whose loss diverges is one of the results: it
stops there, is marked "diverged" and the others go on.

Writes weight_init_activations.png, weight_init_mnist.png and weight_init_compare.json.
Ctrl-C during (b) writes the runs finished so far and exits with status 130.
"""

import time

import numpy as np

from bprop.datasets import random_subset
from bprop.layers import make_rng, relu, sigmoid, tanh
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Trainer
import cli
import exits
from experiment import Outcome, script
import loaders
import outputs
import plots
import training

ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}
INITS = {"std 1": lambda n: 1.0, "std 0.01": lambda n: 0.01,
         "Xavier": lambda n: np.sqrt(1.0 / n), "He": lambda n: np.sqrt(2.0 / n)}
MNIST_INITS = {"std 0.01": 0.01, "Xavier": "xavier", "He": "he"}


def forward_activations(activation, scale, rng, n=1000, width=100, depth=5):
    """Activations ``(depth, n, width)`` of a random ``depth``-layer net fed N(0, 1) inputs."""
    x = rng.standard_normal((n, width))
    out = []
    for _ in range(depth):
        w = rng.standard_normal((width, width)) * scale(width)
        x = ACTIVATIONS[activation](x @ w)
        out.append(x)
    return np.array(out)


def options(parser):
    parser.add_argument("--iterations", type=cli.positive_int, default=2000,
                        help="MNIST iterations (default: 2000)")


def shorten(args):
    args.iterations = min(args.iterations, 100)


def experiment(args, plt):
    train_size = 5000 if args.quick else None
    rng = make_rng(args.seed)
    results = {"settings": {"iterations": args.iterations, "seed": args.seed}, "activations": {}}

    # (a) histograms
    fig, axes = plt.subplots(3, 4, figsize=(15, 10.5))
    print("(a) standard deviation of each layer's activations (layers 1..5):")
    for i, act in enumerate(ACTIVATIONS):
        for j, init in enumerate(INITS):
            a = forward_activations(act, INITS[init], make_rng(args.seed))
            stds = a.reshape(5, -1).std(axis=1)
            entry = {"std_per_layer": stds.tolist()}
            if act == "sigmoid":
                entry["saturated_fraction"] = float(np.mean((a[-1] < 0.01) | (a[-1] > 0.99)))
            elif act == "tanh":
                entry["saturated_fraction"] = float(np.mean(np.abs(a[-1]) > 0.99))
            else:
                entry["zero_fraction"] = float(np.mean(a[-1] == 0))
            results["activations"][f"{act}/{init}"] = entry
            print(f"  {act:<7} {init:<8} " + "  ".join(f"{s:.3g}" for s in stds))
            ax = axes[i, j]
            for k in range(5):
                if act == "relu":
                    pos = a[k][a[k] > 0]
                    values, bins = np.log10(pos), np.linspace(-9, 6, 61)
                else:
                    values = a[k].ravel()
                    bins = np.linspace(0, 1, 41) if act == "sigmoid" else np.linspace(-1, 1, 41)
                ax.hist(values, bins=bins, histtype="step", lw=1.5, color=f"C{k}",
                        label=f"layer {k + 1}", density=True)
            ax.set_yticks([])
            ax.set_title(f"{act}, {init}\nstd {stds[0]:.2g} (layer 1) -> {stds[-1]:.2g} (layer 5)")
            if act == "relu":
                ax.set_xlabel("log10(activation), positive part")
    for i, act in enumerate(ACTIVATIONS):
        axes[i, 0].set_ylabel(f"{act}: density")
    fig.suptitle("Activations of 5 layers of 100 units for 1000 random inputs, by initial weight scale")
    plots.place_legends(fig, {axes[0, 0]: {"spots": ("upper center",) + plots.LEGEND_SPOTS}})
    outputs.save_figure(fig, args.out, "weight_init_activations.png")

    # (b) MNIST
    (x_train, t_train), _ = loaders.load_data("mnist", dtype=np.float32)
    x_train, t_train = random_subset(x_train, t_train, train_size, rng)
    print(f"(b) 784-100x4-10 ReLU on {len(x_train)} MNIST images, SGD lr 0.01, batch 128, "
          f"{args.iterations} iterations:")
    curves, results["mnist"] = {}, {}
    interrupted = False
    try:
        for name, init in MNIST_INITS.items():
            net = MultiLayerNet(784, [100] * 4, 10, activation="relu", weight_init_std=init,
                                dtype=np.float32, rng=args.seed)
            trainer = Trainer(net, SGD(lr=0.01), (x_train, t_train), iterations=args.iterations,
                              batch_size=128, rng=args.seed + 1000, verbose=0, eval_train=10000)
            start = time.perf_counter()
            history, error, _ = training.fit(trainer)
            curves[name] = history["iter_loss"]
            entry = {"final_loss_mean_last_100": float(np.mean(history["iter_loss"][-100:])),
                     "train_accuracy": None if error else history["train_acc"][-1],
                     "seconds": time.perf_counter() - start,
                     "diverged": None if error is None else str(error)}
            results["mnist"][name] = entry
            outcome = (f"diverged at iteration {error.step}" if error else
                       f"loss {entry['final_loss_mean_last_100']:.4f} (mean of the last 100 batches), "
                       f"train accuracy {entry['train_accuracy']:.4f}")
            print(f"  {name:<8}: {outcome}, {entry['seconds']:.1f} s")
    except KeyboardInterrupt:
        interrupted = True
        exits.interrupted(f"after {len(curves)} of {len(MNIST_INITS)} MNIST runs", finished=bool(curves))
    results["interrupted"] = interrupted

    fig2, ax = plt.subplots(figsize=(8, 5))
    for k, (name, losses) in enumerate(curves.items()):
        it = np.arange(1, len(losses) + 1)
        ax.plot(it, losses, color=f"C{k}", alpha=0.2, lw=0.6)
        ax.plot(it, plots.smooth(losses, 50), color=f"C{k}", lw=2, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (batch of 128)")
    plots.integer_ticks(ax)
    ax.set_ylabel("training loss")
    ax.set_title("784-100x4-10 ReLU on MNIST, SGD lr 0.01: loss by initial weights")
    ax.grid(True, which="both")
    plots.place_legends(fig2, [ax], outside="right")
    return Outcome(results, figures={"weight_init_mnist.png": fig2}, interrupted=interrupted)


main = script(__doc__, "weight_init_compare", experiment, options=options, shorten=shorten,
              quick="(b) with 100 iterations on 5000 training images")


if __name__ == "__main__":
    exits.run(main)
