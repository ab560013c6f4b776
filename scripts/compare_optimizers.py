"""The main experiment: SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam side by side.

(a) On f(x, y) = x^2 / 20 + y^2, a valley 20 times steeper across than along, each
optimizer takes 30 steps from (-7, 2) toward the minimum at (0, 0) with the exact
gradient (x / 10, 2y). SGD zig-zags across the valley and crawls along it; momentum
rolls through; the adaptive methods rescale each coordinate.
Learning rates: SGD 0.95, Momentum 0.1, Nesterov 0.1, AdaGrad 1.5, RMSprop 0.3, Adam 0.3.

(b) A 784-100-100-100-100-10 ReLU network (He initialisation, float32) learns MNIST
with each optimizer: 2000 iterations of batch 128 drawn from shuffled passes over all
60000 training images (about 4.3 epochs), for 5 seeds each (the seed sets the weights
and the batch order; every optimizer sees the same ones). Learning rates: SGD,
Momentum, Nesterov and AdaGrad 0.01, RMSprop and Adam 0.001. The loss curves show the
mean over seeds of the mini-batch loss (smoothed over 50 iterations) with a band from
the lowest to the highest seed; the table gives the test accuracy (10000 images)
after the last iteration, mean +- standard deviation over the seeds.

Takes about 70 seconds on one core (30 runs of 2-2.5 s; one BLAS thread by default,
see --threads); --quick takes seconds.

Writes compare_optimizers_paths.png, compare_optimizers_mnist.png,
compare_optimizers.csv (the accuracy table) and compare_optimizers.json (everything).
"""

import time

import numpy as np

from bprop.layers import make_rng
from bprop.networks import MultiLayerNet
from bprop.optim import Trainer, get_optimizer
import common

ORDER = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
NAMES = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
         "rmsprop": "RMSprop", "adam": "Adam"}
PATH_LR = {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.3, "adam": 0.3}
MNIST_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "rmsprop": 0.001,
            "adam": 0.001}
START = (-7.0, 2.0)


def valley(x, y):
    """``f(x, y) = x**2 / 20 + y**2``."""
    return x ** 2 / 20.0 + y ** 2


def valley_path(name, lr, steps):
    """The ``(steps + 1, 2)`` path of optimizer ``name`` on :func:`valley` from START."""
    opt = get_optimizer(name, lr=lr)
    params = {"xy": np.array(START)}
    path = [params["xy"].copy()]
    for _ in range(steps):
        x, y = params["xy"]
        opt.update(params, {"xy": np.array([x / 10.0, 2.0 * y])})
        path.append(params["xy"].copy())
    return np.array(path)


def train_one(name, seed, data, iterations, batch_size):
    """Train the deep net once; return (mini-batch losses, test accuracy, seconds)."""
    (x_train, t_train), (x_test, t_test) = data
    net = MultiLayerNet(784, [100] * 4, 10, activation="relu", weight_init_std="he",
                        dtype=np.float32, rng=seed)
    trainer = Trainer(net, get_optimizer(name, lr=MNIST_LR[name]), x_train, t_train,
                      iterations=iterations, batch_size=batch_size, rng=seed + 1000, verbose=0,
                      train_eval_size=1000)
    start = time.perf_counter()
    history = trainer.fit()
    seconds = time.perf_counter() - start
    return np.array(history["iter_loss"]), net.accuracy(x_test, t_test), seconds


def main(argv=None):
    parser = common.make_parser(__doc__, quick="100 iterations, 2 seeds, 5000 training and 2000 test images")
    parser.add_argument("--iterations", type=int, default=2000, help="default: 2000")
    parser.add_argument("--batch-size", type=int, default=128, help="default: 128")
    parser.add_argument("--seeds", type=int, default=5, help="runs per optimizer (default: 5)")
    parser.add_argument("--path-steps", type=int, default=30, help="steps on the valley (default: 30)")
    args = parser.parse_args(argv)
    train_size = test_size = None
    if args.quick:
        args.iterations, args.seeds = min(args.iterations, 100), min(args.seeds, 2)
        train_size, test_size = 5000, 2000
    plt = common.pyplot(args.show)
    results = {"settings": {"iterations": args.iterations, "batch_size": args.batch_size,
                            "seeds": args.seeds, "seed": args.seed, "path_steps": args.path_steps,
                            "path_lr": PATH_LR, "mnist_lr": MNIST_LR,
                            "network": "784-100-100-100-100-10 relu, He init, float32"}}

    # (a) the valley
    paths = {name: valley_path(name, PATH_LR[name], args.path_steps) for name in ORDER}
    results["paths"] = {}
    print(f"(a) {args.path_steps} steps on x^2/20 + y^2 from {START}:")
    for name, path in paths.items():
        end = path[-1]
        results["paths"][name] = {"lr": PATH_LR[name], "final_point": end.tolist(),
                                  "final_value": float(valley(*end)), "path": path.tolist()}
        print(f"  {NAMES[name]:<9} lr {PATH_LR[name]:<5g} ends at ({end[0]: .4f}, {end[1]: .4f}), "
              f"f = {valley(*end):.2e}")
    fig_paths = _plot_paths(plt, paths, args.path_steps)
    common.save_figure(fig_paths, args.out, "compare_optimizers_paths.png")

    # (b) MNIST
    rng = make_rng(args.seed)
    (x_train, t_train), (x_test, t_test) = common.load_data("mnist", dtype=np.float32)
    data = (common.subset(x_train, t_train, train_size, rng), common.subset(x_test, t_test, test_size, rng))
    seeds = [args.seed + i for i in range(args.seeds)]
    print(f"(b) 784-100x4-10 ReLU on {len(data[0][0])} MNIST images, {args.iterations} iterations "
          f"of batch {args.batch_size}, seeds {seeds}:")
    losses, rows, results["mnist"] = {}, [], {}
    for name in ORDER:
        runs = [train_one(name, s, data, args.iterations, args.batch_size) for s in seeds]
        losses[name] = np.array([r[0] for r in runs])
        accs = np.array([r[1] for r in runs])
        secs = [r[2] for r in runs]
        final_loss = float(np.mean(losses[name][:, -100:]))
        rows.append([NAMES[name], MNIST_LR[name], float(accs.mean()), float(accs.std()),
                     float(accs.min()), float(accs.max()), final_loss, float(np.mean(secs))])
        results["mnist"][name] = {"lr": MNIST_LR[name], "test_accuracy": accs.tolist(),
                                  "mean": accs.mean(), "std": accs.std(),
                                  "final_loss_mean_last_100": final_loss, "seconds": secs}
        print(f"  {NAMES[name]:<9} lr {MNIST_LR[name]:<6g} test accuracy {accs.mean():.4f} +- "
              f"{accs.std():.4f}, final loss {final_loss:.4f}, {np.mean(secs):.1f} s per run")
    header = ["optimizer", "lr", "test_acc_mean", "test_acc_std", "test_acc_min", "test_acc_max",
              "loss_last_100", "seconds_per_run"]
    print(common.format_table(header, rows))
    fig_mnist = _plot_mnist(plt, losses, rows, len(data[1][0]), args)

    common.save_figure(fig_mnist, args.out, "compare_optimizers_mnist.png")
    common.save_csv(header, rows, args.out, "compare_optimizers.csv")
    common.save_json(results, args.out, "compare_optimizers.json")
    common.finish(plt, args.show)
    return results


def _plot_paths(plt, paths, steps):
    fig, axes = plt.subplots(2, 3, figsize=(14, 6.6), sharex=True, sharey=True)
    gx, gy = np.meshgrid(np.linspace(-10, 10, 300), np.linspace(-5, 5, 200))
    for ax, (name, path) in zip(axes.ravel(), paths.items()):
        ax.contour(gx, gy, valley(gx, gy), levels=[0.05, 0.2, 0.5, 1, 2, 4, 7, 11, 16],
                   colors="0.7", linewidths=0.8)
        ax.plot(path[:, 0], path[:, 1], "o-", color="C3", ms=3, lw=1.2)
        ax.plot(*START, "ks", ms=6)
        ax.plot(0, 0, "b+", ms=12, mew=2)
        ax.set_title(f"{NAMES[name]} (lr {PATH_LR[name]:g}): f = {valley(*path[-1]):.1e}")
        ax.set_xlim(-10, 10)
        ax.set_ylim(-5, 5)
        ax.set_xticks([-10, -5, 0, 5, 10])
    for ax in axes[1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    fig.suptitle(f"{steps} steps on $f(x, y) = x^2/20 + y^2$ from {START}; + marks the minimum")
    fig.tight_layout()
    return fig


def _plot_mnist(plt, losses, rows, n_test, args):
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.6, 1]})
    ax = axes[0]
    for i, (name, runs) in enumerate(losses.items()):
        smoothed = np.array([common.smooth(r, 50) for r in runs])
        it = np.arange(1, smoothed.shape[1] + 1)
        ax.plot(it, smoothed.mean(axis=0), color=f"C{i}", lw=1.8, label=NAMES[name])
        ax.fill_between(it, smoothed.min(axis=0), smoothed.max(axis=0), color=f"C{i}", alpha=0.2, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (batch of %d)" % args.batch_size)
    ax.set_ylabel("training loss (mean of last 50 batches)")
    ax.set_title(f"784-100x4-10 ReLU on MNIST: mean and min-max over {args.seeds} seeds")
    ax.grid(True, which="both")
    ax.legend()
    ax = axes[1]
    names = [r[0] for r in rows]
    means = np.array([r[2] for r in rows])
    stds = np.array([r[3] for r in rows])
    y = np.arange(len(rows))[::-1]
    ax.barh(y, means, xerr=stds, color=[f"C{i}" for i in range(len(rows))], alpha=0.8, capsize=4)
    lo = max(0.0, float(np.min(means - stds)) - 0.02)
    ax.set_xlim(lo, min(1.0, float(np.max(means + stds)) + 0.01))
    for yi, m, s in zip(y, means, stds):
        ax.text(lo + 0.004 * (1 - lo), yi, f"{m:.4f} ± {s:.4f}", va="center", fontsize="small",
                bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1})
    ax.set_yticks(y)
    ax.set_yticklabels([f"{n} (lr {r[1]:g})" for n, r in zip(names, rows)])
    ax.set_xlabel(f"test accuracy ({n_test} images) after {args.iterations} iterations")
    ax.set_title("final test accuracy, mean ± std over seeds")
    ax.grid(True, axis="x")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
