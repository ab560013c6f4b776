"""A sweep: many training runs at once, on this machine's cores or a Dask cluster, resumable.

The grid is every combination of --optimizers, --lrs, --hidden, --batch-sizes,
--weight-decays and --epochs, each run with --seeds seeds (--seed, --seed + 1, ...).
--random N draws N configurations instead: lr log-uniform in --lr-range, weight decay
log-uniform in --weight-decay-range (or from --weight-decays), the rest uniformly from
their lists; the draws depend only on --seed, so the same command draws the same ones.
Every run trains a fully connected ReLU network (He initialisation, float32) on
--train-size images of --dataset and evaluates it on --test-size test images after each
epoch (bprop.optim.train_mlp; the subsets depend on --seed only, the same for every run).

The runs go to --workers processes on this machine (one BLAS thread each, see --threads),
or to a Dask cluster: --scheduler local starts one here, --scheduler tcp://HOST:8786
uses a running one (see the README's "Sweeps"). Each finished run is committed to
OUT/sweep.sqlite at once. The same command again executes only what is missing there, so
a sweep stopped by Ctrl-C, a crash or a killed process resumes where it stopped; a run
that failed (a diverging loss) stays failed unless --retry-failed.

Writes sweep.sqlite (every run: configuration, history, final metrics, error, time,
worker), summary.csv (per configuration: runs, failures, and mean, std, min and max over
seeds of the final test and training accuracy and loss, best first), runs.csv (one line
per run), sweep_curves.png (test accuracy and training loss after each epoch: mean over
seeds with a min-max band) and sweep_final.png (final test accuracy per configuration,
each seed a point). Ctrl-C writes them from the runs finished so far, exit status 130.

Examples:
  python scripts/sweep.py                                       # 2 optimizers x 3 lrs x 3 seeds
  python scripts/sweep.py --optimizers sgd momentum adam --lrs 0.1 0.01 0.001 --seeds 5
  python scripts/sweep.py --hidden 100 100-100 50x4 --batch-sizes 32 128 --out results/arch
  python scripts/sweep.py --random 40 --lr-range 1e-4 1 --weight-decay-range 1e-8 1e-3
  python scripts/sweep.py --scheduler tcp://10.0.0.5:8786 --train-size 60000 --epochs 20
"""

import argparse
import math
import os

import numpy as np

from bprop.layers import make_rng
from bprop.optim import OPTIMIZERS, mlp_config, summarize, train_mlp
import common

#: the final metrics summarized, in the order of the CSV columns
METRICS = ("test_acc", "test_loss", "train_acc", "train_loss")
#: the settings a sweep varies, in the order of the CSV columns
SETTINGS = ("optimizer", "lr", "hidden", "batch_size", "weight_decay", "epochs")
#: configurations drawn in colour in the curves (the others in grey)
N_COLOURED = 10


def layer_sizes(text):
    """--hidden: one architecture, '100' or '100-50' (widths) or '100x4' (4 layers of 100)."""
    try:
        if "x" in text:
            width, _, depth = text.partition("x")
            sizes = [int(width)] * int(depth)
        else:
            sizes = [int(w) for w in text.split("-")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected hidden widths such as 100, 100-50 or 100x4 (integers >= 1), got {text!r}")
    return sizes


def build_parser():
    parser = common.make_parser(
        __doc__, quick="1000 MNIST training and 500 test images, sgd and adam, 2 lrs, 2 epochs, 2 seeds",
        out=os.path.join(common.DEFAULT_OUT, "sweep"))
    add = parser.add_argument
    add("--dataset", choices=("mnist", "fashion-mnist", "spiral"), default="mnist",
        help="default: mnist (spiral: 2-D points in 3 arms, made here, no download)")
    add("--train-size", type=common.positive_int, default=None, metavar="N",
        help="training images, a random subset (default: all 60000)")
    add("--test-size", type=common.positive_int, default=None, metavar="N",
        help="test images, a random subset (default: all 10000)")
    grid = parser.add_argument_group("the grid (each option takes one or more values)")
    grid.add_argument("--optimizers", nargs="+", choices=sorted(OPTIMIZERS), default=["sgd", "adam"],
                      metavar="NAME", help=f"of {', '.join(OPTIMIZERS)} (default: sgd adam)")
    grid.add_argument("--lrs", nargs="+", type=common.positive_float, default=[0.1, 0.01, 0.001],
                      metavar="LR", help="learning rates (default: 0.1 0.01 0.001)")
    grid.add_argument("--hidden", nargs="+", type=layer_sizes, default=[[100]], metavar="SIZES",
                      help="architectures: 100, 100-50 (two layers), 100x4 (four of 100) (default: 100)")
    grid.add_argument("--batch-sizes", nargs="+", type=common.positive_int, default=[100], metavar="N",
                      help="default: 100")
    grid.add_argument("--weight-decays", nargs="+", type=common.nonneg_float, default=[0.0],
                      metavar="LAMBDA", help="L2 strengths (default: 0)")
    grid.add_argument("--epochs", nargs="+", type=common.positive_int, default=[5], metavar="N",
                      help="default: 5")
    grid.add_argument("--seeds", type=common.positive_int, default=3, metavar="N",
                      help="runs per configuration, with seeds --seed, --seed + 1, ... (default: 3)")
    search = parser.add_argument_group("random search")
    search.add_argument("--random", type=common.positive_int, default=None, metavar="N",
                        help="draw N configurations instead of the grid")
    search.add_argument("--lr-range", nargs=2, type=common.positive_float, default=[1e-4, 1.0],
                        metavar=("LOW", "HIGH"), help="log-uniform range of lr (default: 1e-4 1)")
    search.add_argument("--weight-decay-range", nargs=2, type=common.positive_float, default=None,
                        metavar=("LOW", "HIGH"),
                        help="log-uniform range of the weight decay (default: drawn from --weight-decays)")
    where = common.add_sweep_args(parser)
    where.add_argument("--max-attempts", type=common.positive_int, default=3, metavar="N",
                       help="executions of a run whose worker process dies before it is recorded as "
                            "failed (default: 3)")
    where.add_argument("--retry-failed", action="store_true",
                       help="execute again the runs recorded as failed in OUT/sweep.sqlite")
    parser.add_check(_check_arguments)
    return parser


def _check_arguments(args):
    for name in ("lr_range", "weight_decay_range"):
        low, high = getattr(args, name) or (1, 1)
        if low > high:
            return f"argument --{name.replace('_', '-')}: LOW must be <= HIGH, got {low:g} {high:g}"
    return None


def log_uniform(rng, low, high):
    """``10 ** U(log10 low, log10 high)``."""
    return float(10 ** rng.uniform(math.log10(low), math.log10(high)))


def make_settings(args):
    """The configurations of the sweep without their seeds: the grid, or --random draws."""
    data = {"dataset": args.dataset, "train_size": args.train_size, "test_size": args.test_size,
            "data_seed": args.seed}
    if args.random is None:
        return [dict(data, optimizer=o, lr=lr, hidden=h, batch_size=b, weight_decay=wd, epochs=e)
                for o in args.optimizers for lr in args.lrs for h in args.hidden
                for b in args.batch_sizes for wd in args.weight_decays for e in args.epochs]
    rng = make_rng(args.seed)
    settings = []
    for _ in range(args.random):
        lr = log_uniform(rng, *args.lr_range)
        wd = (log_uniform(rng, *args.weight_decay_range) if args.weight_decay_range
              else float(args.weight_decays[rng.integers(len(args.weight_decays))]))
        pick = {name: values[rng.integers(len(values))] for name, values in
                (("optimizer", args.optimizers), ("hidden", args.hidden),
                 ("batch_size", args.batch_sizes), ("epochs", args.epochs))}
        settings.append(dict(data, lr=lr, weight_decay=wd, **pick))
    return settings


def label(config, varying):
    """A short name of a configuration from the settings that vary in the sweep."""
    parts = []
    for name in varying or ("optimizer",):
        value = config[name]
        if name == "hidden":
            parts.append("-".join(map(str, value)))
        elif name == "optimizer":
            parts.append(value)
        elif name in ("lr", "weight_decay"):
            parts.append(f"{'lr' if name == 'lr' else 'wd'} {value:.2g}")
        else:
            parts.append(f"{'batch' if name == 'batch_size' else name} {value}")
    return ", ".join(parts)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.quick:
        args.train_size, args.test_size = min(args.train_size or 1000, 1000), min(args.test_size or 500, 500)
        args.optimizers, args.lrs = args.optimizers[:2], args.lrs[:2]
        args.epochs, args.seeds = [min(min(args.epochs), 2)], min(args.seeds, 2)
        args.random = min(args.random, 4) if args.random else None
    plt = common.pyplot(args.show)
    settings = make_settings(args)
    seeds = [args.seed + i for i in range(args.seeds)]
    configs = [mlp_config(seed, **s) for s in settings for seed in seeds]
    varying = [name for name in SETTINGS if len({repr(s[name]) for s in settings}) > 1]
    db = common.output_dir(args.out) / "sweep.sqlite"
    print(f"{len(settings)} configurations x {len(seeds)} seeds = {len(configs)} runs on {args.dataset}, "
          f"on {common.where_runs_execute(args)}; results in {db}")

    runs, executed, interrupted = common.sweep(train_mlp, configs, db, args, max_attempts=args.max_attempts,
                                               retry_failed=args.retry_failed)
    failed = [r for r in runs if r["status"] == "failed"]
    if executed is not None:
        print(f"{len(runs)} runs: {executed} executed now, {len(runs) - executed} already in {db}; "
              f"{len(failed)} failed")
    for record in failed[:5]:
        print(f"  failed: {label(record['config'], varying)}, seed {record['seed']}: "
              f"{record['error'].splitlines()[0][:160]}")
    if len(failed) > 5:
        print(f"  ... and {len(failed) - 5} more failed runs (all in runs.csv)")

    summary = sorted(summarize(runs, METRICS), key=_rank)
    header = [*SETTINGS, "runs", "failed"] + [f"{m}_{s}" for m in METRICS for s in ("mean", "std", "min", "max")]
    rows = [[_cell(row["config"][name]) for name in SETTINGS] + [row["runs"], row["failed"]]
            + [row["metrics"][m][s] for m in METRICS for s in ("mean", "std", "min", "max")]
            for row in summary]
    shown = [name for name in SETTINGS if name in varying] or ["optimizer"]
    print(common.format_table(
        [*shown, "runs", "failed", "test_acc mean", "std", "min", "max"],
        [[_text(row["config"][name]) for name in shown] + [row["runs"], row["failed"]]
         + [row["metrics"]["test_acc"][s] for s in ("mean", "std", "min", "max")] for row in summary]))

    common.save_csv(header, rows, args.out, "summary.csv")
    run_header = ["key", *SETTINGS, "seed", "status", *METRICS, "wall_time", "worker", "attempts", "error"]
    common.save_csv(run_header, [[r["key"], *(_cell(r["config"][n]) for n in SETTINGS), r["seed"], r["status"],
                                  *(r["metrics"].get(m) for m in METRICS), r["wall_time"], r["worker"],
                                  r["attempts"], (r["error"] or "").splitlines()[0] if r["error"] else ""]
                                 for r in runs], args.out, "runs.csv")
    title = (f"{args.dataset}, {args.train_size or 'all'} training images, "
             f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} per configuration")
    if summary:
        common.save_figure(_plot_curves(plt, runs, summary, varying, title), args.out, "sweep_curves.png")
        common.save_figure(_plot_final(plt, runs, summary, varying, title), args.out, "sweep_final.png")
    common.finish(plt, args.show, interrupted, args.out)
    return {"runs": len(runs), "executed": executed, "failed": len(failed),
            "summary": summary, "interrupted": interrupted}


def _rank(row):
    mean = row["metrics"]["test_acc"]["mean"]
    return -mean if not math.isnan(mean) else math.inf


def _cell(value):
    return "-".join(map(str, value)) if isinstance(value, list) else value


def _text(value):
    return f"{value:g}" if isinstance(value, float) else str(_cell(value))


def _group_runs(runs, summary):
    """For each summary row, its finished runs and its failed ones."""
    by_key = {r["key"]: r for r in runs}
    groups = []
    for row in summary:
        records = [by_key[k] for k in row["keys"]]
        groups.append(([r for r in records if r["status"] == "done"],
                       [r for r in records if r["status"] == "failed"]))
    return groups


def _plot_curves(plt, runs, summary, varying, title):
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.2))
    for rank, (row, (done, _)) in enumerate(zip(summary, _group_runs(runs, summary))):
        if not done:
            continue
        coloured = rank < N_COLOURED
        style = {"color": f"C{rank}", "lw": 1.8} if coloured else {"color": "0.75", "lw": 0.8}
        for ax, key in ((axes[0], "val_acc"), (axes[1], "train_loss")):
            curves = np.array([r["history"][key] for r in done], dtype=float)
            epochs = np.arange(1, curves.shape[1] + 1)
            ax.plot(epochs, curves.mean(axis=0), "o-" if coloured else "-", ms=3,
                    label=label(row["config"], varying) if coloured and ax is axes[0] else None, **style)
            if coloured and len(done) > 1 and len(epochs) > 1:
                ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=style["color"],
                                alpha=0.15, lw=0)
            elif coloured and len(done) > 1:  # one epoch: the band is a bar from min to max
                ax.vlines(epochs, curves.min(axis=0), curves.max(axis=0), color=style["color"],
                          alpha=0.3, lw=6)
    axes[0].set_ylabel("test accuracy")
    axes[0].set_title("test accuracy after each epoch: mean over seeds, band from min to max")
    axes[1].set_ylabel("training loss")
    axes[1].set_yscale("log")
    axes[1].set_title("training loss after each epoch")
    n_epochs = max((len(r["history"]["val_acc"]) for r in runs if r["status"] == "done"), default=1)
    for ax in axes:
        common.epoch_axis(ax, n_epochs)
        common.mark_lone_points(ax, values=False)
        ax.grid(True, which="both")
    with_curves = sum(1 for done, _ in _group_runs(runs, summary) if done)
    extra = f" (the best {N_COLOURED} in colour)" if with_curves > N_COLOURED else ""
    fig.suptitle(title)
    common.place_legends(fig, {axes[0]: {"fontsize": "x-small", "title": f"configuration{extra}",
                                         "title_fontsize": "x-small"}})
    return fig


def _plot_final(plt, runs, summary, varying, title):
    n = len(summary)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.36 * n))
    y = np.arange(n)[::-1]
    finished = [r["metrics"]["test_acc"] for r in runs if r["status"] == "done"]
    low = min(finished) if finished else 0.0
    left = max(0.0, low - 0.05 * (1.0 - low) - 0.01)
    labelled = set()

    def once(name):  # a legend entry for the first artist of each kind only
        if name in labelled:
            return None
        labelled.add(name)
        return name

    for yi, row, (done, failed) in zip(y, summary, _group_runs(runs, summary)):
        accs = [r["metrics"]["test_acc"] for r in done]
        if accs:
            # each seed a point, spread a little vertically so that equal values stay visible
            offsets = np.linspace(-0.15, 0.15, len(accs)) if len(accs) > 1 else np.zeros(1)
            ax.scatter(accs, yi + offsets, s=22, color="C0", alpha=0.8, zorder=3, label=once("one seed"))
            mean = row["metrics"]["test_acc"]["mean"]
            ax.plot([mean, mean], [yi - 0.3, yi + 0.3], color="k", lw=2, zorder=4, label=once("mean"))
            ax.text(1.0, yi, f" {mean:.4f}", va="center", fontsize="small",
                    transform=ax.get_yaxis_transform())
        if failed:
            ax.scatter([left] * len(failed), [yi] * len(failed), marker="x", s=40, color="C3", zorder=3,
                       clip_on=False, label=once("failed (e.g. diverged)"))
            ax.text(left, yi + 0.25, f" {len(failed)} failed", fontsize="x-small", color="C3")
    ax.set_yticks(y)
    ax.set_yticklabels([label(row["config"], varying) for row in summary], fontsize="small")
    ax.set_xlim(left, 1.0)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("test accuracy after the last epoch")
    ax.set_title(f"final test accuracy per configuration, best first ({title})", fontsize="medium")
    ax.grid(True, axis="x")
    # the best (top) rows lie on the right, so the upper left is tried first
    common.place_legends(fig, {ax: {"fontsize": "small", "spots": ("upper left",) + common.LEGEND_SPOTS}})
    return fig


if __name__ == "__main__":
    common.run(main)
