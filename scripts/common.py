"""What the experiment scripts share: the common flags, the output folder, saving figures and numbers.

Every script builds its parser with :func:`make_parser` (``--seed``, ``--out``,
``--show``, ``--quick``, ``--threads``), gets pyplot from :func:`pyplot` (the Agg
backend unless ``--show``), writes with :func:`save_figure`, :func:`save_json` and
:func:`save_csv` (each prints where it wrote), and ends with :func:`finish`.
"""

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

DEFAULT_OUT = "results"
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class ScriptParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that also applies ``--threads`` once the arguments are parsed."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        threads = getattr(parsed, "threads", None)
        if threads is not None and threads < 0:
            self.error(f"--threads must be >= 0, got {threads}")
        if threads is None and not any(os.environ.get(v) for v in THREAD_VARIABLES):
            threads = 1
        if threads:
            limit_blas_threads(threads)
        return parsed


def limit_blas_threads(n):
    """Let the BLAS library (OpenBLAS, MKL, ...) use at most ``n`` threads from now on."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")


def make_parser(description, quick="a run of a few seconds with a smaller set-up (for tests)"):
    """An ``ArgumentParser`` with the flags every script has.

    ``description`` is the script's docstring: its first paragraph is the summary and
    the rest is shown after the options. ``quick`` says what ``--quick`` does.
    """
    summary, _, rest = description.strip().partition("\n\n")
    parser = ScriptParser(
        description=summary, epilog=rest or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of every random choice: data order, weights, subsets (default: 0)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for the figures and numbers (default: {DEFAULT_OUT}/)")
    parser.add_argument("--show", action="store_true", help="also open the figures in a window")
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="BLAS threads; 0 leaves the BLAS default. Default: 1, unless OPENBLAS_NUM_THREADS, "
             "OMP_NUM_THREADS or MKL_NUM_THREADS is set. The matrix products here are small: two "
             "threads are at best 10-20%% faster on an idle machine, and many times slower when "
             "other processes keep the cores busy")
    return parser


def pyplot(show=False):
    """``matplotlib.pyplot``, on the non-interactive Agg backend unless ``show``."""
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "axes.titlesize": "medium",
                         "legend.fontsize": "small", "grid.alpha": 0.3})
    return plt


def output_dir(path):
    """Create ``path`` (and its parents) if needed; return it as a ``Path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _say(line):
    print(line, flush=True)


def save_figure(fig, out, name):
    """Save ``fig`` as ``out/name`` (PNG), print the path, return it."""
    path = output_dir(out) / name
    fig.savefig(path, bbox_inches="tight")
    _say(f"wrote {path}")
    return path


def jsonable(obj):
    """``obj`` with NumPy arrays and scalars as lists and numbers, NaN and inf as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _dumps(obj, depth=0):
    # Indented like json.dump(indent=1), but a list of numbers stays on one line.
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(inner + _dumps(v, depth + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def save_json(data, out, name):
    """Write ``data`` as strict JSON to ``out/name`` (lists of numbers on one line);
    print the path, return it."""
    path = output_dir(out) / name
    with open(path, "w") as f:
        f.write(_dumps(jsonable(data)) + "\n")
    _say(f"wrote {path}")
    return path


def save_csv(header, rows, out, name):
    """Write a header row and the ``rows`` to ``out/name`` as CSV; print the path, return it."""
    path = output_dir(out) / name
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(jsonable(rows))
    _say(f"wrote {path}")
    return path


def finish(plt, show):
    """Show the figures when asked, then close them all."""
    if show:
        plt.show()
    plt.close("all")


def format_table(header, rows):
    """Rows of values as aligned text columns (floats with 4 decimals)."""
    def cell(v):
        return f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)

    cells = [[str(h) for h in header]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def fit(trainer):
    """Run ``trainer.fit()`` and keep a diverged run's history instead of raising.

    Returns ``(history, error)``: ``error`` is the ``TrainingDivergedError`` (its message,
    printed here, says where and why) or None when training finished.
    """
    from bprop.optim import TrainingDivergedError

    try:
        return trainer.fit(), None
    except TrainingDivergedError as err:
        _say(f"error: {err}")
        return err.history, err


def plot_history(plt, history, title, val_name="test", train_name="train"):
    """A Trainer's history in three panels: the loss of every mini-batch (with its running
    mean), then loss and accuracy after each epoch on the training and validation sets."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ax = axes[0]
    it = np.arange(1, len(history["iter_loss"]) + 1)
    ax.plot(it, history["iter_loss"], color="C0", alpha=0.3, lw=0.6, label="mini-batch")
    ax.plot(it, smooth(history["iter_loss"], 100), color="C0", lw=1.8, label="mean of last 100")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_title("loss of each mini-batch")
    ax.legend()
    for ax, key, label in ((axes[1], "loss", "loss"), (axes[2], "acc", "accuracy")):
        ax.plot(history["epoch"], history[f"train_{key}"], "o-", ms=3, label=train_name)
        ax.plot(history["epoch"], history[f"val_{key}"], "s--", ms=3, label=val_name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label} after each epoch")
        ax.legend(loc="lower right" if key == "acc" else "upper right")
    for ax in axes:
        ax.grid(True, which="both")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def load_data(name="mnist", dtype=np.float32):
    """``(x_train, t_train), (x_test, t_test)`` of MNIST or Fashion-MNIST (integer labels).

    Exits with the loader's explanation (where it looked, how to point ``BPROP_DATA``
    at the files) if the data cannot be found.
    """
    from bprop.datasets import DatasetNotFoundError, load_dataset

    try:
        return load_dataset(name, dtype=dtype)
    except DatasetNotFoundError as err:
        sys.exit(f"error: {err}")


def subset(x, t, size, rng):
    """``size`` samples of ``(x, t)`` picked without replacement (all of them if None or too many)."""
    if size is None or size >= len(x):
        return x, t
    index = np.sort(rng.choice(len(x), size, replace=False))
    return x[index], t[index]


def smooth(values, window=50):
    """Running mean over ``window`` values (shorter at the start), for noisy loss curves."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (csum[index] - csum[start]) / (index - start)
