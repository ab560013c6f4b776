"""Random search over the learning rate and weight decay, judged on a validation split.

From 500 MNIST training images, 20% (100) are held out for validation and never
trained on; the test set is not touched. Each trial draws lr = 10**U(-6, -2) and
weight_decay = 10**U(-8, -4) (log-uniform), trains a 784 -> 6 x 100 ReLU -> 10
network (He initialisation, float32) with SGD, batch 100, for 50 epochs on the other
400 images, and records the validation accuracy after the last epoch. 100 trials.
The scatter shows where in the (lr, weight decay) plane good trials lie (lr matters
far more than weight decay in this range); the curves show the best trials.

The trials go through bprop.optim.run_sweep: --workers processes on this machine (one
BLAS thread each, see --threads), or a Dask cluster with --scheduler. The trials have
the seeds --seed, --seed + 1, ... (weights; the batch order from the seed + 1000) and all
train on the images --seed picks; their lr and weight decay are drawn up front from
--seed, so a trial's result does not depend on the worker or the order, and any
--workers gives the same numbers. Each
trial is committed to OUT/hyperparameter_search.sqlite as it finishes; the same command
again executes only the trials missing there, so a search stopped by Ctrl-C, a crash or
a killed process resumes where it stopped.

Writes hyperparameter_search.png, hyperparameter_search.csv (every trial, best
first), hyperparameter_search.json and hyperparameter_search.sqlite (every run).
Ctrl-C writes the trials finished so far and exits with status 130.
"""

import sys
from pathlib import Path

import numpy as np

from bprop.layers import make_rng
from bprop.optim import mlp_config, train_mlp
import cli
import exits
from experiment import Outcome, script
import loaders
import plots
import sweeps


def trial_configs(args):
    """The trials as configurations of ``bprop.optim.train_mlp``, and the training and
    validation data they use.

    The generator seeded with --seed picks the images (a subset of --train-size, then the
    validation split), then draws each trial's lr and weight decay: the order the search
    has always drawn them in, so a --seed gives the trials it always gave.
    """
    settings = dict(dataset="mnist", train_size=args.train_size, test_size=0,  # no test set
                    val_fraction=args.val_fraction, data_seed=args.seed, hidden=[100] * 6,
                    activation="relu", weight_init="he", optimizer="sgd", batch_size=100,
                    epochs=args.epochs, dtype="float32")
    rng = make_rng(args.seed)
    train, val, _ = loaders.load_run_data(settings, rng=rng)
    configs = []
    for i in range(args.trials):
        lr = float(10 ** rng.uniform(-6, -2))
        weight_decay = float(10 ** rng.uniform(-8, -4))
        configs.append(mlp_config(args.seed + i, lr=lr, weight_decay=weight_decay, **settings))
    return configs, train, val


#: MNIST's training images
N_TRAIN = 60000


def _check_split(args):
    n = min(args.train_size, N_TRAIN)
    n_val = round(n * args.val_fraction)
    if not 0 < n_val < n:
        return (f"argument --val-fraction: {args.val_fraction:g} of --train-size {n} leaves {n_val} "
                f"images for validation and {n - n_val} for training; both need at least one")
    return None


def options(parser):
    parser.add_argument("--trials", type=cli.positive_int, default=100, help="default: 100")
    parser.add_argument("--epochs", type=cli.positive_int, default=50, help="per trial (default: 50)")
    parser.add_argument("--train-size", type=cli.positive_int, default=500,
                        help="images, validation split included (default: 500)")
    parser.add_argument("--val-fraction", type=cli.open_fraction, default=0.2,
                        help="fraction held out for validation, in (0, 1) (default: 0.2)")
    parser.add_check(_check_split)
    sweeps.add_sweep_args(parser)


def shorten(args):
    args.trials, args.epochs = min(args.trials, 6), min(args.epochs, 5)


def experiment(args, plt):
    configs, (x_train, _), (x_val, _) = trial_configs(args)
    db = Path(args.out) / "hyperparameter_search.sqlite"
    print(f"{args.trials} trials: 784-100x6-10 ReLU, SGD, batch 100, {args.epochs} epochs on "
          f"{len(x_train)} images, validated on {len(x_val)}, on {sweeps.where_runs_execute(args)}; "
          f"runs in {db}")
    records, executed, interrupted = sweeps.sweep(train_mlp, configs, db, args)
    if executed is not None:
        print(f"{len(records)} trials: {executed} executed now, {len(records) - executed} already in {db}")

    trials, failed, best = [], [], -np.inf
    for record in records:  # in the order of the trials
        config, number = record["config"], record["seed"] - args.seed + 1
        if record["status"] != "done":
            failed.append({"trial": number, "lr": config["lr"], "weight_decay": config["weight_decay"],
                           "error": record["error"]})
            print(f"  trial {number:>3}: lr {config['lr']:.2e}, weight decay {config['weight_decay']:.2e} "
                  f"failed: {record['error'].splitlines()[0]}")
            continue
        history = record["history"]
        trials.append({"trial": number, "lr": config["lr"], "weight_decay": config["weight_decay"],
                       "val_acc": history["val_acc"][-1], "train_acc": history["train_acc"][-1],
                       "val_curve": history["val_acc"], "train_curve": history["train_acc"]})
        best = max(best, history["val_acc"][-1])
        if args.trials <= 20 or number % 10 == 0:
            print(f"  trial {number:>3}: lr {config['lr']:.2e}, weight decay {config['weight_decay']:.2e} "
                  f"-> val acc {history['val_acc'][-1]:.3f} (best so far {best:.3f})")
    if not trials:
        sys.exit(f"error: none of the {len(records)} finished trials succeeded; see {db}")
    ranked = sorted(trials, key=lambda t: -t["val_acc"])
    top = min(5, len(ranked))
    print(f"best {top} of {len(ranked)}:")
    for t in ranked[:top]:
        print(f"  val acc {t['val_acc']:.3f}  train acc {t['train_acc']:.3f}  lr {t['lr']:.2e}  "
              f"weight decay {t['weight_decay']:.2e}")

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    ax = axes[0]
    lr = np.array([t["lr"] for t in trials])
    wd = np.array([t["weight_decay"] for t in trials])
    acc = np.array([t["val_acc"] for t in trials])
    points = ax.scatter(lr, wd, c=acc, cmap="viridis", vmin=0, vmax=max(acc.max(), 0.1), s=45,
                        edgecolors="k", linewidths=0.4)
    fig.colorbar(points, ax=ax, label="validation accuracy")
    ax.scatter([ranked[0]["lr"]], [ranked[0]["weight_decay"]], marker="*", s=400, facecolors="none",
               edgecolors="r", linewidths=1.5, label=f"best: {ranked[0]['val_acc']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-6, 1e-2)
    ax.set_ylim(1e-8, 1e-4)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("weight decay")
    ax.set_title(f"{len(trials)} random trials, validation accuracy after {args.epochs} epochs")
    ax = axes[1]
    n_best = min(10, len(ranked))
    for t in ranked[n_best:]:
        ax.plot(np.arange(1, args.epochs + 1), t["val_curve"], color="0.8", lw=0.8)
    for k, t in enumerate(ranked[:n_best]):
        ax.plot(np.arange(1, args.epochs + 1), t["val_curve"], color=f"C{k}", lw=1.6,
                label=f"lr {t['lr']:.1e}, wd {t['weight_decay']:.1e}: {t['val_acc']:.3f}")
    plots.epoch_axis(ax, args.epochs)
    plots.mark_lone_points(ax, values=False)
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"the {n_best} best trials (the others in grey)")
    ax.grid(True)
    plots.place_legends(fig, {axes[0]: {"spots": ("upper left",) + plots.LEGEND_SPOTS},
                               ax: {"fontsize": "x-small", "spots": ("upper left",) + plots.LEGEND_SPOTS}})

    header = ["rank", "trial", "lr", "weight_decay", "val_acc", "train_acc"]
    rows = [[r + 1, t["trial"], t["lr"], t["weight_decay"], t["val_acc"], t["train_acc"]]
            for r, t in enumerate(ranked)]
    results = {"settings": {"trials": args.trials, "epochs": args.epochs, "train_size": len(x_train),
                            "val_size": len(x_val), "seed": args.seed,
                            "lr_range": [1e-6, 1e-2], "weight_decay_range": [1e-8, 1e-4],
                            "trials_finished": len(trials)},
               "interrupted": interrupted,
               "sweep": {"database": db, "runs": len(configs), "finished": len(records),
                         "executed_now": executed, "failed": failed},
               "best": {k: ranked[0][k] for k in ("lr", "weight_decay", "val_acc", "train_acc")},
               "trials": ranked}
    return Outcome(results, figures={"hyperparameter_search.png": fig},
                   tables={"hyperparameter_search.csv": (header, rows)}, interrupted=interrupted)


main = script(__doc__, "hyperparameter_search", experiment, options=options, shorten=shorten,
              quick="6 trials of 5 epochs")


if __name__ == "__main__":
    exits.run(main)
