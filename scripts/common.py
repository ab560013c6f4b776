"""What the experiment scripts share: the common flags, checked argument types, the output
folder, saving figures and numbers, and stopping cleanly on Ctrl-C.

Every script builds its parser with :func:`make_parser` (--seed, --out, --show, --quick,
--threads) and gives each option one of the argument types below (:func:`positive_int`,
:func:`fraction`, ...), so that a bad value is a one-line usage error (exit status 2)
before any data is loaded; the --out folder is created and tried for writing at the same
moment. It gets pyplot from :func:`pyplot` (the Agg backend unless --show), lays each
figure out with :func:`place_legends` (legends only where no data is under them) and
:func:`epoch_axis` (whole-number epochs), writes with :func:`save_figure`,
:func:`save_json` and :func:`save_csv` (each prints where it wrote), and ends with
:func:`finish`.

Ctrl-C: a script catches the KeyboardInterrupt around its training, writes what is finished
(completed epochs, runs or trials), and :func:`finish` then exits with status 130; the
script's ``__main__`` block runs ``main`` through :func:`run`, which turns a Ctrl-C at any
other moment into one line and status 130 instead of a traceback.

Failures: a command that fails says why in one line on stderr, "error: ...", never a
traceback. A training run that diverges writes what is finished, then :func:`finish` exits
with status 1 (:data:`FAILED_STATUS`) and a line from :func:`diverged_line` ("training
diverged at epoch 3, iteration 12: loss 1.37e+11; lower --lr (it was 1e+06)"); a sweep
whose results file is damaged or read-only, or whose Dask scheduler does not answer, ends
with status 1 the same way (:func:`sweep`, :func:`run`). Scripts that compare many runs,
where a diverging run is one of the results, record it and go on. A ``--resume`` that
cannot continue its checkpoint (a damaged file, another option value than the run was
started with) is refused with status 2 before any work (:func:`add_resume_check`,
:class:`RunSettings`, :func:`make_trainer`).
"""

import argparse
import csv
import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from bprop.datasets import random_subset
from bprop.layers.init import init_names
from bprop.networks.files import atomic_write
from bprop.optim import Callback

DEFAULT_OUT = "results"
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: exit status of a script stopped by Ctrl-C: 128 + SIGINT, what a shell reports for it
INTERRUPTED_STATUS = 130
#: exit status of a script whose work failed (training diverged, a sweep's store or scheduler
#: cannot be used), after it wrote what was finished
FAILED_STATUS = 1
#: exit status of a command that cannot run as given (argparse's, for every usage error)
USAGE_STATUS = 2


# --- argument types -----------------------------------------------------------------
# Each turns the text of one command-line value into a value or raises
# argparse.ArgumentTypeError, which argparse reports as a usage error naming the option:
#     train_mnist.py: error: argument --lr: expected a finite number > 0, got '-1'


def _argument_type(name, convert, valid, expected):
    def parse(text):
        try:
            value = convert(text)
        except (TypeError, ValueError):
            value = None
        if value is None or not valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = parse.__qualname__ = name
    parse.__doc__ = f"An argument type: {expected}."
    return parse


positive_int = _argument_type("positive_int", int, lambda v: v >= 1, "an integer >= 1")
nonneg_int = _argument_type("nonneg_int", int, lambda v: v >= 0, "an integer >= 0")
# A comparison with NaN is False and inf fails the upper bound, so both are refused.
positive_float = _argument_type("positive_float", float, lambda v: 0 < v < math.inf,
                                "a finite number > 0")
nonneg_float = _argument_type("nonneg_float", float, lambda v: 0 <= v < math.inf,
                              "a finite number >= 0")
fraction = _argument_type("fraction", float, lambda v: 0 <= v < 1, "a number in [0, 1)")
open_fraction = _argument_type("open_fraction", float, lambda v: 0 < v < 1, "a number in (0, 1)")

def _init_value(text):
    # the names of the initialisation registry (he, xavier, and every activation's name, which
    # stands for its default init), else a number
    return text.lower() if text.lower() in init_names() else float(text)


weight_init = _argument_type(
    "weight_init", _init_value, lambda v: isinstance(v, str) or 0 < v < math.inf,
    f"one of {', '.join(init_names())} or a standard deviation > 0")


class ScriptParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that, once the arguments are parsed, runs the checks that involve
    several options (:meth:`add_check`), creates ``--out`` and tries writing in it, then
    applies ``--threads``; each failure is a usage error."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._checks = []

    def add_check(self, check, usage=True):
        """Add ``check(args) -> str or None``, a test of several options together: the
        message it returns is reported as a usage error (status 2), after the usage text
        unless ``usage`` is false (a value that is valid in itself, and wrong only against a
        file: the usage text would not help)."""
        self._checks.append((check, usage))

    def fail(self, message):
        """Exit with status 2 and the one line "PROG: error: MESSAGE" on stderr."""
        self.exit(USAGE_STATUS, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for check, usage in self._checks:
            message = check(parsed)
            if message:
                if usage:
                    self.error(message)
                self.fail(message)
        if getattr(parsed, "out", None) is not None:
            try:
                writable_dir(parsed.out)
            except ValueError as err:
                self.error(f"argument --out: {err}")
        threads = getattr(parsed, "threads", None)
        if threads is None and not any(os.environ.get(v) for v in THREAD_VARIABLES):
            threads = 1
        if threads:
            limit_blas_threads(threads)
        return parsed


def writable_dir(path):
    """Create the folder ``path`` (and its parents) if needed and check that a file can be
    written in it; return it as a ``Path``.

    Raises ``ValueError`` saying why not: the path is a file, a parent is a file, or the
    folder is read-only. Writing is tried rather than asked of ``os.access``: root may write
    where the mode bits say no, and a read-only file system refuses whatever they say.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{str(path)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the folder {str(path)!r}: {err.strerror or err}") from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ValueError(f"cannot write in the folder {str(path)!r}: {err.strerror or err}") from None
    return path


def limit_blas_threads(n):
    """Let the BLAS library (OpenBLAS, MKL, ...) use at most ``n`` threads from now on."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")


def make_parser(description, quick="a run of a few seconds with a smaller set-up (for tests)",
                out=DEFAULT_OUT):
    """An ``ArgumentParser`` with the flags every script has.

    ``description`` is the script's docstring, written as plain text: its first paragraph
    is the summary and the rest is shown after the options, as written. ``quick`` says
    what ``--quick`` does; ``out`` is the default of ``--out``.
    """
    summary, _, rest = description.strip().partition("\n\n")
    parser = ScriptParser(
        description=summary, epilog=rest or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=nonneg_int, default=0,
                        help="seed of every random choice: data order, weights, subsets (default: 0)")
    parser.add_argument("--out", default=out, metavar="DIR",
                        help=f"folder for the figures and numbers, created if needed and checked "
                             f"for writing before anything runs (default: {out.rstrip('/')}/)")
    parser.add_argument("--show", action="store_true", help="also open the figures in a window")
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--threads", type=nonneg_int, default=None, metavar="N",
        help="BLAS threads; 0 leaves the BLAS default. Default: 1, unless OPENBLAS_NUM_THREADS, "
             "OMP_NUM_THREADS or MKL_NUM_THREADS is set. For the 100-wide MLPs two threads are "
             "at best 10-30%% faster on an idle machine, for conv nets (which split their own work "
             "over these threads) about 1.3-1.4x; many times slower when other processes keep "
             "the cores busy")
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
    """Save ``fig`` as ``out/name`` (PNG), atomically; print the path, return it."""
    path = output_dir(out) / name
    with atomic_write(path) as (f, _):
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
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
    """Write ``data`` as strict JSON to ``out/name`` (lists of numbers on one line),
    atomically (:func:`bprop.networks.files.atomic_write`); print the path, return it."""
    path = output_dir(out) / name
    with atomic_write(path) as (f, _):
        f.write((_dumps(jsonable(data)) + "\n").encode())
    _say(f"wrote {path}")
    return path


def save_csv(header, rows, out, name):
    """Write a header row and the ``rows`` to ``out/name`` as CSV, atomically; print the
    path, return it."""
    path = output_dir(out) / name
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(jsonable(rows))
    with atomic_write(path) as (f, _):
        f.write(text.getvalue().encode())
    _say(f"wrote {path}")
    return path


def finish(plt, show, interrupted=False, out=None, failure=None):
    """Show the figures when asked, then close them all.

    After a Ctrl-C (``interrupted``) nothing is shown: say where the finished part was
    written (``out``) and exit with status 130. After a failure (``failure``, the line of
    :func:`diverged_line`, say) nothing is shown either: exit with :func:`fail`'s one line and
    status 1.
    """
    if show and not (interrupted or failure):
        plt.show()
    plt.close("all")
    if interrupted:
        _say(f"stopped by Ctrl-C; what was finished is in {out}")
        raise SystemExit(INTERRUPTED_STATUS)
    if failure:
        fail(failure)


def fail(message, status=FAILED_STATUS):
    """End the script with the one line "error: MESSAGE" on stderr and ``status``."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(status)


def _number(value):
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def diverged_line(error, hint, what="training"):
    """The line a script ends with when a run diverged: where, the loss, and what to change.

    ``error`` is the ``TrainingDivergedError``; ``hint`` says what to do ("lower --lr (it was
    0.5)", :func:`lower`); ``what`` names the run ("training of the plain model"). Example:
    "training diverged at epoch 3, iteration 12: loss 1.37e+11; lower --lr (it was 1e+06)".
    """
    return (f"{what} diverged at epoch {error.epoch}, iteration {error.iteration}: loss "
            f"{_number(error.loss)}; {hint}")


def lower(option, value, now=None):
    """The hint of :func:`diverged_line` for a run that a smaller ``option`` may save: "lower
    --lr (it was 0.5)"; ``now``, the value at the step that diverged where a schedule changed
    it, is added when it differs ("it was 0.1, 1e+04 at that step")."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if now is not None and now != value:
        text += f", {now:g} at that step"
    return f"lower {option} (it was {text})"


def interrupted(what, finished=True):
    """Say that Ctrl-C stopped the work ``what`` (e.g. "during epoch 3 of 10").

    The script then writes what is finished and calls :func:`finish`; when nothing is
    (``finished`` false) there is nothing to write, and this exits with status 130 at once.
    """
    if finished:
        _say(f"\ninterrupted by Ctrl-C {what}; writing what is finished")
    else:
        _say(f"\ninterrupted by Ctrl-C {what}; nothing (more) was finished, nothing to write")
        raise SystemExit(INTERRUPTED_STATUS)


def run(main):
    """Run a script's ``main()`` as the program.

    A Ctrl-C that ``main`` does not handle itself (while the data loads, say, or a second
    one while the finished part is written) ends the script with one line and status 130
    instead of a traceback; a sweep's store that cannot be used or a scheduler that does not
    answer (``SweepStoreError``, ``SchedulerUnreachableError``), with one line and status 1.

    Standard output is made line-buffered first: a stdout redirected to a file is otherwise
    block-buffered, and the log of a long run would show the script's lines (an epoch, a run,
    a setting finished) only when it ends.
    """
    from bprop.optim.sweep_store import SweepStoreError
    from bprop.optim.sweep_workers import SchedulerUnreachableError

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted by Ctrl-C", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED_STATUS)
    except (SweepStoreError, SchedulerUnreachableError) as err:  # wherever a script meets them
        fail(err)


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


# --- sweeps -------------------------------------------------------------------------------
# The scripts whose runs go through bprop.optim.run_sweep (sweep.py, compare_optimizers.py,
# hyperparameter_search.py) share --workers and --scheduler, and what they do on Ctrl-C.


def scheduler_address(text):
    """--scheduler: 'local' or a Dask scheduler address such as tcp://host:8786."""
    if text == "local" or "://" in text:
        return text
    raise argparse.ArgumentTypeError(f"expected local or an address such as tcp://host:8786, got {text!r}")


def add_sweep_args(parser):
    """Add ``--workers N`` and ``--scheduler ADDRESS|local`` in a group "where the runs
    execute", which is returned (a script adds its own options there)."""
    where = parser.add_argument_group("where the runs execute")
    where.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help=f"processes on this machine or in a local Dask cluster (default: one per "
                            f"core, {os.cpu_count()} here)")
    where.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                       help="local (a Dask LocalCluster) or the address of a running Dask scheduler, "
                            "tcp://HOST:8786 (default: worker processes, without Dask)")
    parser.add_check(_check_sweep_args)
    return where


def _check_sweep_args(args):
    import importlib.util

    if args.workers is not None and args.scheduler not in (None, "local"):
        return (f"argument --workers: a running cluster ({args.scheduler}) has the workers it was "
                "given; start more with `dask worker`")
    if args.scheduler is not None and importlib.util.find_spec("distributed") is None:
        return (f"argument --scheduler: {args.scheduler} needs Dask: pip install 'bprop[cluster]' "
                "(or pip install 'dask[distributed]')")
    return None


def worker_blas_threads(args):
    """BLAS threads of each worker, as --threads sets them for the script itself: the
    option's value (0: the BLAS default, None), else 1 unless the environment sets them."""
    if args.threads is not None:
        return args.threads or None
    return None if any(os.environ.get(v) for v in THREAD_VARIABLES) else 1


def where_runs_execute(args):
    """Where --workers and --scheduler send the runs, in words."""
    if args.scheduler is None:
        return f"{args.workers or os.cpu_count()} worker processes"
    if args.scheduler == "local":
        return "a local Dask cluster"
    return f"the Dask cluster at {args.scheduler}"


def sweep(run, configs, db, args, **options):
    """``bprop.optim.run_sweep(run, configs, db)`` on the workers of --workers and --scheduler.

    Returns ``(records, executed, interrupted)``: one record per configuration that is in
    ``db`` (in the order of ``configs``), the number of runs executed now, and whether
    Ctrl-C stopped the sweep. After a Ctrl-C the records are the runs finished so far
    (each was committed to ``db`` as it finished), ``executed`` is None, and the script
    writes its results from them and calls :func:`finish`; when none is finished, this
    exits with status 130 at once (:func:`interrupted`). ``options`` go to ``run_sweep``.

    A ``db`` that cannot be used (damaged, not a sweep's file, read-only with runs to do) or
    a scheduler that does not answer ends the script with its one-line reason and status 1
    (:func:`fail`); ``run_sweep`` checks both before any run starts.
    """
    from bprop.optim import SweepStore, config_key, run_sweep
    from bprop.optim.sweep_store import SweepStoreError
    from bprop.optim.sweep_workers import SchedulerUnreachableError

    # A bar over the runs on a terminal; a line per run when either stream is not one, so
    # that a log (stdout redirected to a file) gets every run as it finishes.
    verbose = 1 if sys.stdout.isatty() and sys.stderr.isatty() else 2
    try:
        result = run_sweep(run, configs, db, scheduler=args.scheduler, workers=args.workers,
                           blas_threads=worker_blas_threads(args), verbose=verbose, **options)
        return result.runs, result.executed, False
    except (SweepStoreError, SchedulerUnreachableError) as err:
        fail(err)
    except KeyboardInterrupt:
        with SweepStore(db) as store:
            records = store.records(config_key(c) for c in configs)
        interrupted(f"after {len(records)} of {len(configs)} runs", finished=bool(records))
        return records, None, True


# --- checkpoints ----------------------------------------------------------------------------


#: the options a --resume may change: where the files go, what is shown, BLAS threads, the
#: checkpoint's path, and the number of epochs (the run then ends later, or at once)
RESUME_MAY_CHANGE = ("epochs", "out", "show", "verbose", "threads", "checkpoint", "resume")


def add_checkpoint_args(parser, may_change=()):
    """Add ``--checkpoint PATH`` and ``--resume`` to a training script's parser.

    ``--resume`` without ``--checkpoint``, or with no file there, is a usage error, found
    before any data is loaded; so is a damaged checkpoint, and one whose run was started with
    other values of the options it fixes (:func:`add_resume_check`; ``may_change`` names the
    options besides :data:`RESUME_MAY_CHANGE` that a resume may change, by their ``dest``).
    """
    parser.add_argument(
        "--checkpoint", metavar="PATH", default=None,
        help="write the whole training state (weights, optimizer, random streams, history) to "
             "PATH after every epoch, atomically: after Ctrl-C or a kill it holds the last "
             "completed epoch, and --resume continues from there (default: no checkpoint)")
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the run saved in --checkpoint; give the options it was started with "
             "(--epochs may be raised; --out, --verbose, --threads may change): the result is the one "
             "an uninterrupted run would have given, bit for bit. Another value of an option the run "
             "depends on (--lr, --seed, --batch-size, ...) is refused (exit status 2)")
    parser.add_check(_check_resume)
    add_resume_check(parser, lambda args: [args.checkpoint] if args.resume else [], may_change)


def _check_resume(args):
    if args.resume and not args.checkpoint:
        return "argument --resume: needs --checkpoint PATH, the file to continue from"
    if args.resume and not os.path.isfile(args.checkpoint):
        return f"argument --resume: there is no checkpoint at {args.checkpoint!r}"
    if args.checkpoint:
        if os.path.isdir(args.checkpoint):
            return f"argument --checkpoint: {args.checkpoint!r} is a folder, not a file"
        try:
            writable_dir(os.path.dirname(os.path.abspath(args.checkpoint)))
        except ValueError as err:
            return f"argument --checkpoint: {err}"
    return None


class RunSettings(Callback):
    """The options a script's run was started with, kept in its checkpoint.

    Its state (``{'options': {'--lr': 0.1, '--seed': 0, ...}}``) goes into the checkpoint
    under its class name with the state of every callback, so that a ``--resume`` is
    compared with the run it continues: before any work (:func:`add_resume_check`), and
    again when the Trainer loads the file (:meth:`check_state_dict` raises a ValueError
    naming the option, and the Trainer then changes nothing). A resumed run therefore never
    trains with the checkpoint's value of an option while its results record another.

    Parameters
    ----------
    options : dict, option string -> value as parsed (:func:`fixed_options`).
    """

    def __init__(self, options):
        self.options = json.loads(json.dumps(options))  # as the checkpoint gives them back

    @classmethod
    def of(cls, parser, args):
        """The settings of ``args``, parsed by ``parser`` (before a script changes them)."""
        return cls(fixed_options(parser, args))

    def state_dict(self):
        return {"options": self.options}

    def check_state_dict(self, state, trainer=None):
        message = settings_mismatch(state, self.options, "the checkpoint")
        if message:
            raise ValueError(message)

    def load_state_dict(self, state):
        self.check_state_dict(state)  # nothing to take back: the options are this run's

    def __repr__(self):
        return f"RunSettings({self.options!r})"


def fixed_options(parser, args):
    """``{option: value}`` of the options in ``args`` that a resume may not change: all but
    those of :data:`RESUME_MAY_CHANGE` and the parser's own (:func:`add_resume_check`), each
    named as on the command line (``'--batch-size'`` for ``args.batch_size``)."""
    may_change = set(RESUME_MAY_CHANGE) | set(getattr(parser, "resume_may_change", ()))
    return {"--" + dest.replace("_", "-"): value for dest, value in vars(args).items() if dest not in may_change}


def _spell(option, value):
    if value is None or value is False:
        return f"no {option}"
    if value is True:
        return option
    if isinstance(value, list):
        return f"{option} {' '.join(map(str, value))}" if value else f"{option} (no value)"
    return f"{option} {value}"


def settings_mismatch(state, options, source):
    """None if the :class:`RunSettings` state ``state`` holds ``options``, else the usage
    error's message: the first option whose value differs, with both values."""
    saved = state.get("options") if isinstance(state, dict) else None
    if not isinstance(saved, dict):
        return f"argument --resume: {source} holds no valid settings of this script"
    if set(saved) != set(options):
        differ = sorted(set(saved) ^ set(options))
        return (f"argument --resume: {source} holds the run of another command (the options "
                f"{', '.join(differ)} are in one and not the other)")
    for option, value in options.items():
        if saved[option] != value:
            return (f"argument {option}: {source} was written with {_spell(option, saved[option])}, "
                    f"this command gives {_spell(option, value)}; give the checkpoint's value to resume "
                    "its run, or start a new run without --resume")
    return None


def add_resume_check(parser, files, may_change=()):
    """Refuse, as a usage error before any work, a ``--resume`` that cannot continue the
    checkpoints ``files(args)`` (a list of paths; none: nothing to check): a file that is not
    a readable checkpoint, or one whose :class:`RunSettings` differ from this command's.

    ``may_change`` names (by ``dest``) the options besides :data:`RESUME_MAY_CHANGE` that a
    resume may change. The error is one line, naming the option and both values, exit status 2.
    """
    parser.resume_may_change = tuple(may_change)

    def check(args):
        from bprop.optim import CheckpointError, load_checkpoint

        options = fixed_options(parser, args)
        for path in files(args):
            try:
                state = load_checkpoint(path)
            except (CheckpointError, OSError) as err:
                return f"argument --resume: cannot resume from {path}: {err}"
            callbacks = state.get("callbacks") if isinstance(state, dict) else None
            if not isinstance(callbacks, dict) or RunSettings.__name__ not in callbacks:
                return (f"argument --resume: {path} holds no settings of this script (written by another "
                        "program or an older version of it); start a new run without --resume")
            message = settings_mismatch(callbacks[RunSettings.__name__], options, path)
            if message:
                return message
        return None

    parser.add_check(check, usage=False)


def make_trainer(args, build):
    """``build()``, a Trainer; with ``--resume``, a checkpoint it cannot continue from (another
    network, other data or settings, a damaged file) ends the script with the reason in one
    line and status 2, nothing changed."""
    try:
        return build()
    except (ValueError, OSError) as err:
        if not getattr(args, "resume", False):
            raise
        fail(f"cannot resume from {args.checkpoint}: {err}", USAGE_STATUS)


def resume_hint(args, trainer):
    """After a Ctrl-C: say where the training state is and how to continue it."""
    if getattr(args, "checkpoint", None) and trainer.checkpoint_epoch:
        _say(f"the training state after epoch {trainer.checkpoint_epoch} is in {args.checkpoint}: "
             "run the same command with --resume to continue")


def fit(trainer, catch_interrupt=False):
    """Run ``trainer.fit()`` and keep the history of a run that did not finish instead of raising.

    Returns ``(history, error, interrupted)``. ``error`` is the ``TrainingDivergedError``
    (the script reports it: :func:`diverged_line`, or a "diverged" among results) or None,
    and ``history`` then ends with the loss that diverged. With ``catch_interrupt``, a
    Ctrl-C ends training: ``interrupted`` is True and ``history`` holds the completed epochs
    only (:func:`completed_epochs`); the network is as the interrupted step left it, and
    :class:`LastEpoch` can put it back. Without it the ``KeyboardInterrupt`` propagates, for
    scripts that train many times and catch it around their loop.
    """
    from bprop.optim import TrainingDivergedError

    try:
        return trainer.fit(), None, False
    except TrainingDivergedError as err:
        return err.history, err, False
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        return completed_epochs(trainer.history), None, True


def completed_epochs(history):
    """A Trainer's ``history`` cut to its completed epochs, in place: the mini-batch losses
    (``iter_loss``) of an interrupted epoch are dropped. Returns ``history``."""
    # A per-epoch key such as 'iteration' is in the history once an epoch is recorded.
    done = history["iteration"][-1] if history.get("iteration") else 0
    del history["iter_loss"][done:]
    return history


class LastEpoch(Callback):
    """A Trainer callback that keeps a copy of the network's arrays as of the end of the
    last completed epoch, so that an interrupted run can go back to them.

    The copy is taken as each epoch begins, before its first update: the arrays then are
    those the previous epoch ended with. A Ctrl-C anywhere in an epoch, its evaluation and
    its callbacks included, therefore finds the copy of the epoch the history ends with.
    The arrays are ``network.state_dict()`` (parameters and batch-norm running statistics)
    when the network has it, else ``network.params``; :meth:`restore` writes the copy back
    into them in place, as EarlyStopping's ``restore_best`` does.
    """

    def __init__(self, network):
        self.network = network
        self.epoch = 0
        self._saved = None

    def _arrays(self):
        net = self.network
        return net.state_dict() if hasattr(net, "state_dict") else net.params

    def on_epoch_begin(self, trainer, epoch):
        self.snapshot(epoch - 1)

    def snapshot(self, epoch):
        """Keep a copy of the network's arrays as of the end of ``epoch`` (now)."""
        self._saved = {k: np.array(v, copy=True) for k, v in self._arrays().items()}
        self.epoch = epoch

    def restore(self, history):
        """Put the network back to the end of the last epoch ``history`` recorded; return
        that epoch (0 when none was completed: then the network is left as it is)."""
        done = len(history["epoch"])
        # If the copy is older than the history, Ctrl-C came after the epoch was recorded and
        # before the next one's copy was taken: the network has not changed since that epoch ended.
        if done and self.epoch == done:
            for k, arr in self._arrays().items():
                arr[...] = self._saved[k]
        return done


# --- figures ------------------------------------------------------------------------------
# Nothing is drawn on top of the data: a legend goes where a check finds no data under it, or
# outside the axes (place_legends); an axis of epochs, iterations or steps has whole-number
# ticks (integer_ticks, epoch_axis), and a run of one epoch shows its points large, their
# values in the legend (mark_lone_points).

#: where :func:`place_legends` tries a legend inside the axes, in this order
LEGEND_SPOTS = ("upper right", "upper left", "lower right", "lower left", "center right",
                "center left", "upper center", "lower center", "center")
#: pixels kept free between a legend and the data around it
LEGEND_GAP = 3


def integer_ticks(ax, axis="x"):
    """Ticks at whole numbers only on the ``axis`` ("x" or "y") of ``ax``: an axis that counts
    epochs, iterations or steps has no tick at 0.96 or 1.5."""
    from matplotlib.ticker import MaxNLocator

    # The steps and nbins of matplotlib's default locator (ticks at 1, 2, 5 x 10^k, and 25 x 10^k);
    # min_n_ticks=1: a view from 0.5 to 1.5 holds one whole number, and gets that tick alone
    # instead of MaxNLocator's fallback to fractional ones.
    locator = MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True, min_n_ticks=1)
    getattr(ax, f"{axis}axis").set_major_locator(locator)


def epoch_axis(ax, n_epochs, label="epoch"):
    """Make ``ax``'s x axis an axis of epochs 1..``n_epochs``: the ``label`` (None: none),
    whole-number ticks, and with a single epoch the limits 0.5..1.5 (one tick, the points in
    the middle)."""
    if label is not None:
        ax.set_xlabel(label)
    integer_ticks(ax)
    if n_epochs <= 1:
        ax.set_xlim(0.5, 1.5)


def mark_lone_points(ax, fmt="{:.4f}", values=True):
    """With one point per line (a run of one epoch), draw each line's point large and (with
    ``values``) add its value to the line's legend entry ("train: 0.6860"), so that it reads
    as a result and not as a stray dot; the y axis gets room around the points. Lines of two
    points or more are left as they are."""
    lone = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    for line in lone:
        if line.get_marker() in ("None", "", " ", None):
            line.set_marker("o")
        line.set_markersize(8)
        # In the legend, not beside the point: points of equal or close values would write
        # their numbers on top of each other.
        if values and not line.get_label().startswith("_"):
            line.set_label(f"{line.get_label()}: {fmt.format(line.get_ydata()[0])}")
    if lone:
        ax.margins(y=0.3)


def _pixels(points, fig):
    return points * fig.dpi / 72.0


def _display_path(artist, path):
    return artist.get_transform().transform_path(path)


def _any_inside(box, points):
    """Whether any of the (N, 2) display points lies in ``box``."""
    x, y = np.asarray(points, dtype=float).reshape(-1, 2).T
    return bool(np.any((x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)))


def data_under(ax, box, renderer):
    """The artists of ``ax`` drawn inside the display-space ``box`` (a ``Bbox`` in pixels, such
    as a legend's window extent), with :data:`LEGEND_GAP` pixels of margin: lines (with their
    width and markers), bands and other filled areas, error bars, scatter points, bars and
    texts. Contour lines and filled regions, meshes and images are a background, not data, and
    are not looked at. An empty list: nothing would be hidden under ``box``."""
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.contour import ContourSet

    fig = ax.figure
    box = box.padded(LEGEND_GAP)
    found = []
    for line in ax.get_lines():
        if not line.get_visible() or len(line.get_xdata()) == 0:
            continue
        marker = line.get_marker() not in ("None", "", " ", None)
        has_line = line.get_linestyle() not in ("None", "", " ") and line.get_linewidth() > 0
        grow = max(_pixels(line.get_linewidth(), fig) if has_line else 0,
                   _pixels(line.get_markersize(), fig) if marker else 0) / 2
        path = _display_path(line, line.get_path())
        near = box.padded(grow)
        if has_line and path.intersects_bbox(near, filled=False):
            found.append(line)
        elif marker and _any_inside(near, path.vertices):
            found.append(line)
    for coll in ax.collections:
        if not coll.get_visible() or isinstance(coll, (ContourSet, QuadMesh)):
            continue
        if isinstance(coll, PathCollection):  # scatter: a marker at each offset
            offsets = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float))
            sizes = coll.get_sizes()
            grow = _pixels(np.sqrt(sizes.max()), fig) / 2 if len(sizes) else 0
            if _any_inside(box.padded(grow), offsets):
                found.append(coll)
            continue
        faces = coll.get_facecolor()
        filled = len(faces) > 0 and bool(np.any(faces[:, 3] > 0))
        grow = _pixels(max(coll.get_linewidth(), default=0), fig) / 2
        if any(_display_path(coll, p).intersects_bbox(box.padded(grow), filled=filled)
               for p in coll.get_paths()):
            found.append(coll)
    for patch in ax.patches:
        if patch.get_visible() and _display_path(patch, patch.get_path()).intersects_bbox(
                box, filled=patch.get_fill()):
            found.append(patch)
    for text in ax.texts:
        if text.get_visible() and text.get_text() and text.get_window_extent(renderer).overlaps(box):
            found.append(text)
    return found


def _renderer(fig):
    """Draw ``fig`` (which fixes the axes' limits and the layout) and return its renderer."""
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _legend_entries(ax, kwargs):
    return len(kwargs["handles"]) if "handles" in kwargs else len(ax.get_legend_handles_labels()[0])


def _legend_outside(ax, where, renderer, kwargs):
    """A legend right of ``ax`` or below it (under its tick labels and x label), in as many
    columns as fit the axes' width."""
    from matplotlib.transforms import ScaledTranslation

    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if where == "right":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kwargs)
    fig = ax.figure
    # The gap is in inches from the axes' bottom edge, so that a later layout, which changes
    # the axes' height but not the labels' size, keeps the legend just under the labels.
    gap = (ax.get_window_extent(renderer).y0 - ax.get_tightbbox(renderer).y0) / fig.dpi + 0.05
    anchor = ax.transAxes + ScaledTranslation(0, -gap, fig.dpi_scale_trans)
    width = ax.get_window_extent(renderer).width
    for ncol in range(_legend_entries(ax, kwargs), 0, -1):
        legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=anchor,
                           borderaxespad=0, ncol=ncol, **kwargs)
        if ncol == 1 or legend.get_window_extent(renderer).width <= width:
            return legend
        legend.remove()


def _legend_inside(ax, spots, renderer, kwargs):
    """Put ``ax``'s legend at the first of ``spots`` with no data under it, else at the first
    free place of a grid over the axes (top rows first, right to left); return where (a
    ``loc``, or the axes coordinates of the legend's upper right corner), or None."""
    for spot in spots:
        legend = ax.legend(loc=spot, **kwargs)
        if not data_under(ax, legend.get_window_extent(renderer), renderer):
            return spot
    frame = ax.get_window_extent(renderer)
    size = legend.get_window_extent(renderer)
    width, height = size.width / frame.width, size.height / frame.height
    if width > 0.98 or height > 0.98:
        return None
    legend = ax.legend(loc="upper right", bbox_to_anchor=(0.99, 0.99), borderaxespad=0, **kwargs)
    for top in np.linspace(0.99, height + 0.01, 12):
        for right in np.linspace(0.99, width + 0.01, 8):
            legend.set_bbox_to_anchor((right, top), ax.transAxes)
            if not data_under(ax, legend.get_window_extent(renderer), renderer):
                return (float(right), float(top))
    return None


def place_legends(fig, legends, outside="below"):
    """Lay ``fig`` out and give each axes of ``legends`` a legend with no data under it.

    ``legends`` is a list of axes or a dict ``{axes: keyword arguments of ax.legend}``, where
    two more keys are understood: ``spots`` (the ``loc`` values to try first, default
    :data:`LEGEND_SPOTS`) and ``outside`` ("below" or "right", overriding the argument). The
    legend goes to the first spot inside the axes where :func:`data_under` finds nothing under
    it, else to the first free place of a grid over the axes (a gap between two curves, say);
    where every place would hide data, it goes outside the axes: below them (under the x
    label, in as many columns as fit) or right of them. The figure is then laid out again
    (``tight_layout``, which makes room for a legend outside) and the legends inside are checked
    again in the new layout, until none moves out. This replaces the figure's ``tight_layout()``
    and comes after everything else is drawn. Returns ``{axes: where its legend went}``.
    """
    if not isinstance(legends, dict):
        legends = {ax: {} for ax in legends}
    chosen = {}
    for _ in range(4):
        fig.tight_layout()
        renderer = _renderer(fig)
        moved_out = False
        for ax, kwargs in legends.items():
            kwargs = dict(kwargs)
            spots = kwargs.pop("spots", LEGEND_SPOTS)
            where = kwargs.pop("outside", outside)
            if _legend_entries(ax, kwargs) == 0 or chosen.get(ax) in ("below", "right"):
                continue
            legend = ax.get_legend()
            if ax in chosen and not data_under(ax, legend.get_window_extent(renderer), renderer):
                continue
            chosen[ax] = _legend_inside(ax, spots, renderer, kwargs)
            if chosen[ax] is None:
                _legend_outside(ax, where, renderer, kwargs)
                chosen[ax] = where
                moved_out = True
        if not moved_out:
            break
    return chosen


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
    integer_ticks(ax)
    ax.set_ylabel("training loss")
    ax.set_title("loss of each mini-batch")
    for ax, key, label in ((axes[1], "loss", "loss"), (axes[2], "acc", "accuracy")):
        ax.plot(history["epoch"], history[f"train_{key}"], "o-", ms=3, label=train_name)
        ax.plot(history["epoch"], history[f"val_{key}"], "s--", ms=3, label=val_name)
        epoch_axis(ax, len(history["epoch"]))
        mark_lone_points(ax)
        ax.set_ylabel(label)
        ax.set_title(f"{label} after each epoch")
    for ax in axes:
        ax.grid(True, which="both")
    fig.suptitle(title)
    place_legends(fig, {axes[0]: {}, axes[1]: {}, axes[2]: {"spots": ("lower right",) + LEGEND_SPOTS}})
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


def load_run_data(config, rng=None):
    """``bprop.optim.mlp_runs.load_run_data``: the data of a sweep's run, as its worker will
    pick it; exits with the loader's explanation if the data cannot be found."""
    from bprop.datasets import DatasetNotFoundError
    from bprop.optim.mlp_runs import load_run_data

    try:
        return load_run_data(config, rng=rng)
    except DatasetNotFoundError as err:
        sys.exit(f"error: {err}")


#: ``size`` samples of ``(x, t)`` picked without replacement, in their order (all of them
#: if None or too many): ``bprop.datasets.random_subset``, which the runs of a sweep use too
subset = random_subset


def smooth(values, window=50):
    """Running mean over ``window`` values (shorter at the start), for noisy loss curves."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (csum[index] - csum[start]) / (index - start)
