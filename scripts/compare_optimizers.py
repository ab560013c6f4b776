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

Ranking: the optimizers are put in groups, best first. Optimizers whose intervals
(mean - std, mean + std) overlap, directly or through another one, share a group: the
seeds do not separate them, and a group is listed in the fixed order above, not ranked.
An order inside a group can reverse on another machine (another BLAS kernel rounds
differently), so only the groups are ordered.

The 30 runs of (b) go through bprop.optim.run_sweep: --workers processes on this machine
(one BLAS thread each, see --threads), or a Dask cluster with --scheduler. A run's result
depends only on its optimizer and seed, not on the worker or the order, so any --workers
gives the same numbers. Each run is committed to OUT/compare_optimizers.sqlite as it
finishes; the same command again executes only the runs missing there (all of them after
a change of --iterations, --batch-size or --seed), so a comparison stopped by Ctrl-C, a
crash or a killed process resumes where it stopped.

A run takes 2-2.5 s with one BLAS thread on this project's 2-core AMD EPYC machine
(OpenBLAS 0.3.31, SkylakeX kernels): the 30 took about 70 seconds one after another;
--quick takes seconds.

Writes compare_optimizers_paths.png, compare_optimizers_mnist.png,
compare_optimizers.csv (the accuracy table), compare_optimizers.json (everything) and
compare_optimizers.sqlite (every run). Ctrl-C during (b) writes the runs finished so far
(they start seed by seed, every optimizer on one seed before the next seed) and exits
with status 130.
"""

from pathlib import Path

import numpy as np

from bprop.optim import get_optimizer, mlp_config, train_mlp
import cli
import exits
from experiment import Outcome, script
import loaders
import outputs
import plots
import sweeps

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


def mnist_config(name, seed, data_seed, iterations, batch_size, train_size=None, test_size=None):
    """The configuration of one MNIST run of ``bprop.optim.train_mlp``: the deep net with
    optimizer ``name``, weights from ``seed`` and batch order from ``seed + 1000``, the
    images from ``data_seed`` (training subset first, then test subset)."""
    return mlp_config(seed, dataset="mnist", train_size=train_size, test_size=test_size,
                      data_seed=data_seed, hidden=[100] * 4, activation="relu", weight_init="he",
                      optimizer=name, lr=MNIST_LR[name], iterations=iterations, batch_size=batch_size,
                      train_eval_size=1000, dtype="float32")


def tie_groups(means, stds):
    """Group the optimizers that the seeds do not separate.

    Two optimizers are not separated when their intervals ``mean +- std`` overlap (touching
    counts); a group is a chain of such overlaps, so it is cut only where a gap separates
    every member above from every member below. Returns lists of indices into ``means``,
    the group with the highest means first, each list in increasing index order.
    """
    lo = np.asarray(means, dtype=np.float64) - np.asarray(stds, dtype=np.float64)
    hi = np.asarray(means, dtype=np.float64) + np.asarray(stds, dtype=np.float64)
    groups, reach = [], -np.inf
    for i in np.argsort(lo, kind="stable"):
        if groups and lo[i] <= reach:
            groups[-1].append(int(i))
            reach = max(reach, hi[i])
        else:
            groups.append([int(i)])
            reach = hi[i]
    return [sorted(g) for g in reversed(groups)]


def options(parser):
    parser.add_argument("--iterations", type=cli.positive_int, default=2000, help="default: 2000")
    parser.add_argument("--batch-size", type=cli.positive_int, default=128, help="default: 128")
    parser.add_argument("--seeds", type=cli.positive_int, default=5,
                        help="runs per optimizer (default: 5; with 1 there is no spread, so no ranking)")
    parser.add_argument("--path-steps", type=cli.positive_int, default=30,
                        help="steps on the valley (default: 30)")
    sweeps.add_sweep_args(parser)


def shorten(args):
    args.iterations, args.seeds = min(args.iterations, 100), min(args.seeds, 2)


def experiment(args, plt):
    train_size, test_size = (5000, 2000) if args.quick else (None, None)
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
    outputs.save_figure(fig_paths, args.out, "compare_optimizers_paths.png")

    # (b) MNIST
    seeds = [args.seed + i for i in range(args.seeds)]
    # Seed by seed: the runs start in this order, so a Ctrl-C leaves every optimizer with
    # about the same number of runs.
    configs = [mnist_config(name, s, args.seed, args.iterations, args.batch_size, train_size, test_size)
               for s in seeds for name in ORDER]
    (x_train, _), _, (x_test, _) = loaders.load_run_data(configs[0])  # as each run will pick them
    db = Path(args.out) / "compare_optimizers.sqlite"
    print(f"(b) 784-100x4-10 ReLU on {len(x_train)} MNIST images, {args.iterations} iterations "
          f"of batch {args.batch_size}, seeds {seeds}, on {sweeps.where_runs_execute(args)}; runs in {db}:")
    records, executed, interrupted = sweeps.sweep(train_mlp, configs, db, args)
    if executed is not None:
        print(f"{len(records)} runs: {executed} executed now, {len(records) - executed} already in {db}")
    # (mini-batch losses, test accuracy, seconds, seed) of each finished run, by optimizer
    runs = {name: [] for name in ORDER}
    for record in records:
        name = record["config"]["optimizer"]
        if record["status"] != "done":
            print(f"  {NAMES[name]} seed {record['seed']} failed: {record['error'].splitlines()[0]}")
            continue
        history = record["history"]
        runs[name].append((np.array(history["iter_loss"]), record["metrics"]["test_acc"],
                           history["time"][-1], record["seed"]))
    for s in seeds:
        accs = [f"{NAMES[name]} {r[1]:.4f}" for name in ORDER for r in runs[name] if r[3] == s]
        if accs:
            print(f"  seed {s}: test accuracy " + ", ".join(accs))

    names = [name for name in ORDER if runs[name]]
    losses, rows, results["mnist"] = {}, [], {}
    for name in names:
        losses[name] = np.array([r[0] for r in runs[name]])
        accs = np.array([r[1] for r in runs[name]])
        secs = [r[2] for r in runs[name]]
        final_loss = float(np.mean(losses[name][:, -100:]))
        rows.append([NAMES[name], MNIST_LR[name], len(accs), float(accs.mean()), float(accs.std()),
                     float(accs.min()), float(accs.max()), final_loss, float(np.mean(secs))])
        results["mnist"][name] = {"lr": MNIST_LR[name], "seeds": [r[3] for r in runs[name]],
                                  "test_accuracy": accs.tolist(), "mean": accs.mean(), "std": accs.std(),
                                  "final_loss_mean_last_100": final_loss, "seconds": secs}
    # With one run an optimizer has no spread: nothing can be said about the order.
    ranked = bool(names) and min(len(runs[name]) for name in names) >= 2
    groups = tie_groups([r[3] for r in rows], [r[4] for r in rows]) if ranked else []
    group_of = {i: g + 1 for g, members in enumerate(groups) for i in members}
    for i, row in enumerate(rows):
        row.insert(1, group_of.get(i))
        results["mnist"][names[i]]["group"] = group_of.get(i)
    results["groups"] = [[names[i] for i in members] for members in groups]
    results["interrupted"] = interrupted
    results["sweep"] = {"database": db, "runs": len(configs), "finished": len(records),
                        "executed_now": executed,
                        "failed": [{"optimizer": r["config"]["optimizer"], "seed": r["seed"], "error": r["error"]}
                                   for r in records if r["status"] != "done"]}
    header = ["optimizer", "group", "lr", "seeds", "test_acc_mean", "test_acc_std", "test_acc_min",
              "test_acc_max", "loss_last_100", "seconds_per_run"]
    print(outputs.format_table(header, rows))
    print(_ranking_text(groups, rows))
    outcome = Outcome(results, interrupted=interrupted)
    if rows:
        outcome.figures["compare_optimizers_mnist.png"] = _plot_mnist(plt, losses, rows, groups, len(x_test), args)
        outcome.tables["compare_optimizers.csv"] = (header, rows)
    return outcome


main = script(__doc__, "compare_optimizers", experiment, options=options, shorten=shorten,
              quick="100 iterations, 2 seeds, 5000 training and 2000 test images")


def _ranking_text(groups, rows):
    if not groups:
        return "one seed per optimizer (or fewer): no spread to compare, so no ranking"
    lines = ["groups by test accuracy, best first; inside a group the mean +- std intervals "
             "overlap, so the seeds do not separate its members:"]
    for g, members in enumerate(groups, 1):
        names = ", ".join(rows[i][0] for i in members)
        lines.append(f"  {g}. {names}" + (" (not separated)" if len(members) > 1 else ""))
    return "\n".join(lines)


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


def _plot_mnist(plt, losses, rows, groups, n_test, args):
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.6, 1]})
    colors = {name: f"C{ORDER.index(name)}" for name in losses}
    ax = axes[0]
    for name, runs in losses.items():
        smoothed = np.array([plots.smooth(r, 50) for r in runs])
        it = np.arange(1, smoothed.shape[1] + 1)
        ax.plot(it, smoothed.mean(axis=0), color=colors[name], lw=1.8, label=NAMES[name])
        ax.fill_between(it, smoothed.min(axis=0), smoothed.max(axis=0), color=colors[name], alpha=0.2, lw=0)
    n_seeds = sorted({r[3] for r in rows})
    seeds = f"{n_seeds[0]}-{n_seeds[-1]}" if len(n_seeds) > 1 else n_seeds[0]  # fewer after Ctrl-C
    ax.set_yscale("log")
    ax.set_xlabel("iteration (batch of %d)" % args.batch_size)
    plots.integer_ticks(ax)
    ax.set_ylabel("training loss (mean of last 50 batches)")
    ax.set_title(f"784-100x4-10 ReLU on MNIST: mean and min-max over {seeds} seeds")
    ax.grid(True, which="both")

    ax = axes[1]
    means = np.array([r[4] for r in rows])
    stds = np.array([r[5] for r in rows])
    y = np.arange(len(rows))[::-1]
    lo = max(0.0, float(np.min(means - stds)) - 0.02)
    # Each group's span (from its lowest mean - std to its highest mean + std) as a grey band:
    # the optimizers in one band are not separated by the seeds.
    for members in groups:
        ax.axvspan(min(means[i] - stds[i] for i in members), max(means[i] + stds[i] for i in members),
                   color="0.88", zorder=0)
    ax.barh(y, means, xerr=stds, color=list(colors.values()), alpha=0.8, capsize=4, zorder=2)
    ax.set_xlim(lo, min(1.0, float(np.max(means + stds)) + 0.01))
    # The numbers in a column right of the axes, level with their bars: inside, a label would
    # cover a short bar's error bar or a group's band.
    for yi, row in zip(y, rows):
        label = f" {row[4]:.4f} ± {row[5]:.4f}" + (f"  group {row[1]}" if row[1] is not None else "")
        ax.text(1.0, yi, label, va="center", fontsize="small", transform=ax.get_yaxis_transform())
    ax.set_yticks(y)
    ax.set_yticklabels([f"{row[0]} (lr {row[2]:g})" for row in rows])
    ax.set_xlabel(f"test accuracy ({n_test} images) after {args.iterations} iterations")
    if groups:
        title = ("final test accuracy, mean ± std over seeds\ngroup 1 is best; a grey band is one group: "
                 "its optimizers' intervals overlap, not separated")
    else:
        title = "final test accuracy (one seed: no spread, not ranked)"
    ax.set_title(title)
    ax.grid(True, axis="x", zorder=1)
    plots.place_legends(fig, [axes[0]])
    return fig


if __name__ == "__main__":
    exits.run(main)
