"""A sweep: many training runs at once, on this machine's cores or a Dask cluster, resumable.

Every run trains the --model (bprop.optim.train_run): mlp, a fully connected network
(ReLU, He initialisation) of --hidden widths; lenet5, LeNet-5 (two convolutions, three
affine layers); simple_conv, SimpleConvNet (one convolution of 30 5x5 filters, a hidden
layer of --hidden units); char_lm, a character-level LSTM language model (an embedding of
64, one LSTM of --hidden units) on Tiny Shakespeare, its text read as --batch-sizes
parallel streams in windows of 50 characters, gradients clipped to a norm of 5. All in
float32. A classifier trains on --train-size images of --dataset (mlp: spiral too) and
is evaluated on --test-size test images after each epoch (the subsets depend on --seed
only, the same for every run); the language model trains on the first --train-size
characters of the training text and is evaluated on the first --test-size characters of
the validation text after each epoch.

The grid is every combination of --optimizers, --lrs, --hidden (mlp, simple_conv,
char_lm), --batch-sizes, --weight-decays (the classifiers) and --epochs, each run with
--seeds seeds (--seed, --seed + 1, ...); an option the model does not have is a usage
error. --random N draws N configurations instead: lr log-uniform in --lr-range, weight
decay log-uniform in --weight-decay-range (or from --weight-decays), the rest uniformly
from their lists; the draws depend only on --seed, so the same command draws the same ones.

The runs go to --workers processes on this machine (one BLAS thread each, see --threads),
or to a Dask cluster: --scheduler local starts one here, --scheduler tcp://HOST:8786
uses a running one (see the README's "Sweeps"). Each finished run is committed to
OUT/sweep.sqlite at once. The same command again executes only what is missing there, so
a sweep stopped by Ctrl-C, a crash or a killed process resumes where it stopped; a run
that failed (a diverging loss) stays failed unless --retry-failed.

Writes sweep.sqlite (every run: configuration, history, final metrics, error, time,
worker), summary.csv (per configuration: runs, failures, and mean, std, min and max over
seeds of the final metrics: test and training accuracy and loss of a classifier,
validation and training loss and perplexity of the language model; best first),
runs.csv (one line per run), sweep_curves.png (test accuracy, or the language model's
validation loss, and the training loss after each epoch: mean over seeds with a min-max
band) and sweep_final.png (the final test accuracy or validation loss per configuration,
each seed a point). Ctrl-C writes them from the runs finished so far, exit status 130.

Examples:
  python scripts/sweep.py                                       # mlp: 2 optimizers x 3 lrs x 3 seeds
  python scripts/sweep.py --optimizers sgd momentum adam --lrs 0.1 0.01 0.001 --seeds 5
  python scripts/sweep.py --hidden 100 100-100 50x4 --batch-sizes 32 128 --out results/arch
  python scripts/sweep.py --random 40 --lr-range 1e-4 1 --weight-decay-range 1e-8 1e-3
  python scripts/sweep.py --model lenet5 --lrs 0.003 0.001 --train-size 10000 --out results/lenet5
  python scripts/sweep.py --model char_lm --hidden 128 256 --train-size 200000 --epochs 3
  python scripts/sweep.py --scheduler tcp://10.0.0.5:8786 --train-size 60000 --epochs 20
"""

import argparse
import math
import os
from typing import NamedTuple

import numpy as np

from bprop.layers import make_rng
from bprop.optim import MODELS, OPTIMIZERS, run_config, summarize, train_run
import cli
import exits
import outputs
import plots
import sweeps


class Measure(NamedTuple):
    """What a sweep ranks, tabulates and plots the configurations of one kind of model by."""

    #: the final metrics summarized, in the order of the CSV columns; the first ranks them
    metrics: tuple
    #: the history key of the left-hand curves, one value per epoch
    curve: str
    #: the first metric (and the curve) in words
    label: str
    higher_is_better: bool


CLASSIFIER = Measure(("test_acc", "test_loss", "train_acc", "train_loss"), "val_acc", "test accuracy", True)
LANGUAGE_MODEL = Measure(("val_loss", "val_perplexity", "train_loss", "train_perplexity"), "val_loss",
                         "validation loss (nats per character)", False)
#: the measure of each model of ``bprop.optim.MODELS``
MEASURES = {"mlp": CLASSIFIER, "lenet5": CLASSIFIER, "simple_conv": CLASSIFIER, "char_lm": LANGUAGE_MODEL}
#: the final metrics of a classifier's sweep, in the order of the CSV columns
METRICS = CLASSIFIER.metrics
#: the settings a sweep varies, in the order of the CSV columns (those the model has)
SETTINGS = ("optimizer", "lr", "hidden", "batch_size", "weight_decay", "epochs")
#: the default --optimizers and --lrs of each model
GRID_DEFAULTS = {"mlp": (["sgd", "adam"], [0.1, 0.01, 0.001]),
                 "lenet5": (["momentum", "adam"], [0.01, 0.003, 0.001]),
                 "simple_conv": (["momentum", "adam"], [0.01, 0.003, 0.001]),
                 "char_lm": (["adam"], [0.01, 0.003, 0.001])}
#: --quick: the subsets (images, or characters for char_lm), and the language model's sizes
QUICK_SIZES = {"images": (1000, 500), "characters": (20000, 5000)}
QUICK_LM = {"embed": 16, "hidden": 32, "batch_size": 16, "time_size": 25}
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


def model_settings(model):
    """The settings of :data:`SETTINGS` that ``model`` has."""
    return [name for name in SETTINGS if name in MODELS[model].defaults]


def _reads_text(model):
    return "train_chars" in MODELS[model].defaults


def build_parser():
    parser = cli.make_parser(
        __doc__, quick="1000 training and 500 test images (char_lm: 20000 and 5000 characters, a 32-unit "
                       "LSTM), 2 optimizers, 2 lrs, 2 epochs, 2 seeds",
        out=os.path.join(cli.DEFAULT_OUT, "sweep"))
    add = parser.add_argument
    add("--model", choices=sorted(MODELS), default="mlp", help="what every run trains (default: mlp)")
    datasets = sorted({d for spec in MODELS.values() for d in spec.datasets})
    add("--dataset", choices=datasets, default=None,
        help="default: mnist, tiny-shakespeare for char_lm (spiral: 2-D points in 3 arms, made here, no "
             "download; mlp only)")
    add("--train-size", type=cli.positive_int, default=None, metavar="N",
        help="training images, a random subset (default: all 60000); char_lm: the first N characters "
             "of the training text (default: all)")
    add("--test-size", type=cli.positive_int, default=None, metavar="N",
        help="test images, a random subset (default: all 10000); char_lm: the first N characters of "
             "the validation text (default: all)")
    grid = parser.add_argument_group("the grid (each option takes one or more values)")
    grid.add_argument("--optimizers", nargs="+", choices=sorted(OPTIMIZERS), default=None,
                      metavar="NAME", help=f"of {', '.join(OPTIMIZERS)} (default: sgd adam; momentum adam "
                                           "for lenet5 and simple_conv; adam for char_lm)")
    grid.add_argument("--lrs", nargs="+", type=cli.positive_float, default=None,
                      metavar="LR", help="learning rates (default: 0.1 0.01 0.001; 0.01 0.003 0.001 for "
                                         "lenet5, simple_conv and char_lm)")
    grid.add_argument("--hidden", nargs="+", type=layer_sizes, default=None, metavar="SIZES",
                      help="mlp: architectures, 100, 100-50 (two layers), 100x4 (four of 100) (default: "
                           "100); simple_conv: hidden units (default: 100); char_lm: LSTM units "
                           "(default: 256)")
    grid.add_argument("--batch-sizes", nargs="+", type=cli.positive_int, default=None, metavar="N",
                      help="default: 100; char_lm: parallel streams (default: 32)")
    grid.add_argument("--weight-decays", nargs="+", type=cli.nonneg_float, default=None,
                      metavar="LAMBDA", help="L2 strengths, not for char_lm (default: 0)")
    grid.add_argument("--epochs", nargs="+", type=cli.positive_int, default=None, metavar="N",
                      help="default: 5")
    grid.add_argument("--seeds", type=cli.positive_int, default=3, metavar="N",
                      help="runs per configuration, with seeds --seed, --seed + 1, ... (default: 3)")
    search = parser.add_argument_group("random search")
    search.add_argument("--random", type=cli.positive_int, default=None, metavar="N",
                        help="draw N configurations instead of the grid")
    search.add_argument("--lr-range", nargs=2, type=cli.positive_float, default=[1e-4, 1.0],
                        metavar=("LOW", "HIGH"), help="log-uniform range of lr (default: 1e-4 1)")
    search.add_argument("--weight-decay-range", nargs=2, type=cli.positive_float, default=None,
                        metavar=("LOW", "HIGH"),
                        help="log-uniform range of the weight decay (default: drawn from --weight-decays)")
    where = sweeps.add_sweep_args(parser)
    where.add_argument("--max-attempts", type=cli.positive_int, default=3, metavar="N",
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
    spec = MODELS[args.model]
    if args.dataset is not None and args.dataset not in spec.datasets:
        return (f"argument --dataset: --model {args.model} trains on {' or '.join(spec.datasets)}, "
                f"got {args.dataset}")
    settings = model_settings(args.model)
    if args.hidden is not None:
        if "hidden" not in settings:
            return f"argument --hidden: --model {args.model} has no hidden widths to set"
        if not isinstance(spec.defaults["hidden"], list):
            wide = next((h for h in args.hidden if len(h) > 1), None)
            if wide is not None:
                return (f"argument --hidden: --model {args.model} has one hidden layer, give one width per "
                        f"value, got {'-'.join(map(str, wide))}")
    if "weight_decay" not in settings:
        for option, value in (("--weight-decays", args.weight_decays),
                              ("--weight-decay-range", args.weight_decay_range)):
            if value is not None:
                return f"argument {option}: --model {args.model} has no weight decay"
    return None


def fill_defaults(args):
    """The options left unset take the defaults of --model; --quick makes the sweep small."""
    spec = MODELS[args.model]
    defaults = spec.defaults
    args.dataset = args.dataset or spec.datasets[0]
    optimizers, lrs = GRID_DEFAULTS[args.model]
    args.optimizers, args.lrs = args.optimizers or optimizers, args.lrs or lrs
    if "hidden" in defaults:
        if args.hidden is None:
            args.hidden = [QUICK_LM["hidden"] if args.quick and _reads_text(args.model) else defaults["hidden"]]
        elif not isinstance(defaults["hidden"], list):
            args.hidden = [sizes[0] for sizes in args.hidden]  # one width each
    if args.batch_sizes is None:
        args.batch_sizes = [QUICK_LM["batch_size"] if args.quick and _reads_text(args.model)
                            else defaults["batch_size"]]
    if "weight_decay" in defaults and args.weight_decays is None:
        args.weight_decays = [defaults["weight_decay"]]
    args.epochs = args.epochs or [defaults["epochs"]]
    if args.quick:
        n_train, n_test = QUICK_SIZES["characters" if _reads_text(args.model) else "images"]
        args.train_size, args.test_size = min(args.train_size or n_train, n_train), min(args.test_size or n_test, n_test)
        args.optimizers, args.lrs = args.optimizers[:2], args.lrs[:2]
        args.epochs, args.seeds = [min(min(args.epochs), 2)], min(args.seeds, 2)
        args.random = min(args.random, 4) if args.random else None
    return args


def log_uniform(rng, low, high):
    """``10 ** U(log10 low, log10 high)``."""
    return float(10 ** rng.uniform(math.log10(low), math.log10(high)))


def make_settings(args):
    """The configurations of the sweep without their seeds: the grid, or --random draws."""
    if _reads_text(args.model):
        data = {"dataset": args.dataset, "train_chars": args.train_size, "val_chars": args.test_size}
        if args.quick:
            data.update(embed=QUICK_LM["embed"], time_size=QUICK_LM["time_size"])
    else:
        data = {"dataset": args.dataset, "train_size": args.train_size, "test_size": args.test_size,
                "data_seed": args.seed}
    values = {"optimizer": args.optimizers, "lr": args.lrs, "hidden": args.hidden,
              "batch_size": args.batch_sizes, "weight_decay": args.weight_decays, "epochs": args.epochs}
    names = model_settings(args.model)
    if args.random is None:
        settings = [{}]
        for name in names:
            settings = [dict(s, **{name: v}) for s in settings for v in values[name]]
        return [dict(data, **s) for s in settings]
    rng = make_rng(args.seed)
    settings = []
    for _ in range(args.random):
        draw = {"lr": log_uniform(rng, *args.lr_range)}
        if "weight_decay" in names:
            draw["weight_decay"] = (log_uniform(rng, *args.weight_decay_range) if args.weight_decay_range
                                    else float(args.weight_decays[rng.integers(len(args.weight_decays))]))
        for name in ("optimizer", "hidden", "batch_size", "epochs"):
            if name in names:
                draw[name] = values[name][rng.integers(len(values[name]))]
        settings.append(dict(data, **draw))
    return settings


def label(config, varying):
    """A short name of a configuration from the settings that vary in the sweep."""
    parts = []
    for name in varying or ("optimizer",):
        value = config[name]
        if name == "hidden":
            parts.append(str(_cell(value)))
        elif name == "optimizer":
            parts.append(value)
        elif name in ("lr", "weight_decay"):
            parts.append(f"{'lr' if name == 'lr' else 'wd'} {value:.2g}")
        else:
            parts.append(f"{'batch' if name == 'batch_size' else name} {value}")
    return ", ".join(parts)


def main(argv=None):
    args = fill_defaults(build_parser().parse_args(argv))
    plt = plots.pyplot(args.show)
    measure, names = MEASURES[args.model], model_settings(args.model)
    settings = make_settings(args)
    seeds = [args.seed + i for i in range(args.seeds)]
    configs = [run_config(args.model, seed, **s) for s in settings for seed in seeds]
    varying = [name for name in names if len({repr(s[name]) for s in settings}) > 1]
    db = outputs.output_dir(args.out) / "sweep.sqlite"
    print(f"{len(settings)} configurations x {len(seeds)} seeds = {len(configs)} runs of {args.model} on "
          f"{args.dataset}, on {sweeps.where_runs_execute(args)}; results in {db}")

    runs, executed, interrupted = sweeps.sweep(train_run, configs, db, args, max_attempts=args.max_attempts,
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

    metrics, first = measure.metrics, measure.metrics[0]
    summary = sorted(summarize(runs, metrics), key=lambda row: _rank(row, measure))
    header = [*names, "runs", "failed"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std", "min", "max")]
    rows = [[_cell(row["config"][name]) for name in names] + [row["runs"], row["failed"]]
            + [row["metrics"][m][s] for m in metrics for s in ("mean", "std", "min", "max")]
            for row in summary]
    shown = [name for name in names if name in varying] or ["optimizer"]
    print(outputs.format_table(
        [*shown, "runs", "failed", f"{first} mean", "std", "min", "max"],
        [[_text(row["config"][name]) for name in shown] + [row["runs"], row["failed"]]
         + [row["metrics"][first][s] for s in ("mean", "std", "min", "max")] for row in summary]))

    outputs.save_csv(header, rows, args.out, "summary.csv")
    run_header = ["key", *names, "seed", "status", *metrics, "wall_time", "worker", "attempts", "error"]
    outputs.save_csv(run_header, [[r["key"], *(_cell(r["config"][n]) for n in names), r["seed"], r["status"],
                                  *(r["metrics"].get(m) for m in metrics), r["wall_time"], r["worker"],
                                  r["attempts"], (r["error"] or "").splitlines()[0] if r["error"] else ""]
                                 for r in runs], args.out, "runs.csv")
    unit = "characters" if _reads_text(args.model) else "images"
    title = (f"{args.model} on {args.dataset}, {args.train_size or 'all'} training {unit}, "
             f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} per configuration")
    if summary:
        outputs.save_figure(_plot_curves(plt, runs, summary, varying, title, measure), args.out, "sweep_curves.png")
        outputs.save_figure(_plot_final(plt, runs, summary, varying, title, measure), args.out, "sweep_final.png")
    exits.finish(plt, args.show, interrupted, args.out)
    return {"runs": len(runs), "executed": executed, "failed": len(failed),
            "summary": summary, "interrupted": interrupted}


def _rank(row, measure=CLASSIFIER):
    """Sort key of a summary row: the best mean of the measure's first metric first, NaN last."""
    mean = row["metrics"][measure.metrics[0]]["mean"]
    if math.isnan(mean):
        return math.inf
    return -mean if measure.higher_is_better else mean


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


def _plot_curves(plt, runs, summary, varying, title, measure=CLASSIFIER):
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.2))
    for rank, (row, (done, _)) in enumerate(zip(summary, _group_runs(runs, summary))):
        if not done:
            continue
        coloured = rank < N_COLOURED
        style = {"color": f"C{rank}", "lw": 1.8} if coloured else {"color": "0.75", "lw": 0.8}
        for ax, key in ((axes[0], measure.curve), (axes[1], "train_loss")):
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
    axes[0].set_ylabel(measure.label)
    axes[0].set_title(f"{measure.label} after each epoch: mean over seeds, band from min to max")
    axes[1].set_ylabel("training loss")
    axes[1].set_yscale("log")
    axes[1].set_title("training loss after each epoch")
    n_epochs = max((len(r["history"][measure.curve]) for r in runs if r["status"] == "done"), default=1)
    for ax in axes:
        plots.epoch_axis(ax, n_epochs)
        plots.mark_lone_points(ax, values=False)
        ax.grid(True, which="both")
    with_curves = sum(1 for done, _ in _group_runs(runs, summary) if done)
    extra = f" (the best {N_COLOURED} in colour)" if with_curves > N_COLOURED else ""
    fig.suptitle(title)
    plots.place_legends(fig, {axes[0]: {"fontsize": "x-small", "title": f"configuration{extra}",
                                         "title_fontsize": "x-small"}})
    return fig


def _plot_final(plt, runs, summary, varying, title, measure=CLASSIFIER):
    n = len(summary)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.36 * n))
    y = np.arange(n)[::-1]
    name = measure.metrics[0]
    finished = [r["metrics"][name] for r in runs if r["status"] == "done"]
    if measure.higher_is_better:  # an accuracy: from a little below the lowest to 1
        low = min(finished) if finished else 0.0
        left, right = max(0.0, low - 0.05 * (1.0 - low) - 0.01), 1.0
        failed_x, failed_align = left, "left"
    else:  # a loss: a margin either side, the failed runs on the right (the worst side)
        low, high = (min(finished), max(finished)) if finished else (0.0, 1.0)
        margin = 0.1 * (high - low) or 0.05 * abs(high) or 0.1
        left, right = low - margin, high + margin
        failed_x, failed_align = right, "right"
    labelled = set()

    def once(name):  # a legend entry for the first artist of each kind only
        if name in labelled:
            return None
        labelled.add(name)
        return name

    for yi, row, (done, failed) in zip(y, summary, _group_runs(runs, summary)):
        values = [r["metrics"][name] for r in done]
        if values:
            # each seed a point, spread a little vertically so that equal values stay visible
            offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(values, yi + offsets, s=22, color="C0", alpha=0.8, zorder=3, label=once("one seed"))
            mean = row["metrics"][name]["mean"]
            ax.plot([mean, mean], [yi - 0.3, yi + 0.3], color="k", lw=2, zorder=4, label=once("mean"))
            ax.text(1.0, yi, f" {mean:.4f}", va="center", fontsize="small",
                    transform=ax.get_yaxis_transform())
        if failed:
            ax.scatter([failed_x] * len(failed), [yi] * len(failed), marker="x", s=40, color="C3", zorder=3,
                       clip_on=False, label=once("failed (e.g. diverged)"))
            ax.text(failed_x, yi + 0.25, f" {len(failed)} failed ", fontsize="x-small", color="C3",
                    ha=failed_align)
    ax.set_yticks(y)
    ax.set_yticklabels([label(row["config"], varying) for row in summary], fontsize="small")
    ax.set_xlim(left, right)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"{measure.label} after the last epoch")
    ax.set_title(f"final {measure.label} per configuration, best first ({title})", fontsize="medium")
    ax.grid(True, axis="x")
    # the best (top) rows lie on the right for an accuracy, on the left for a loss: the other
    # upper corner is tried first
    first = "upper left" if measure.higher_is_better else "upper right"
    plots.place_legends(fig, {ax: {"fontsize": "small", "spots": (first,) + plots.LEGEND_SPOTS}})
    return fig


if __name__ == "__main__":
    exits.run(main)
