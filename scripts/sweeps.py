"""The flags and the Ctrl-C of the scripts whose runs go through ``bprop.optim.run_sweep``
(sweep.py, compare_optimizers.py, hyperparameter_search.py): --workers and --scheduler say
where the runs execute, each worker uses the BLAS threads of --threads (:mod:`blas`), and
:func:`sweep` runs them.
"""

import argparse
import os
import sys

import blas
from cli import positive_int
from exits import fail, interrupted


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
    """BLAS threads of each worker, as --threads sets them for the script itself
    (:func:`blas.threads_to_use`: a number, or None to leave the BLAS default)."""
    return blas.threads_to_use(args.threads)


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
    writes its results from them and calls :func:`exits.finish`; when none is finished, this
    exits with status 130 at once (:func:`exits.interrupted`). ``options`` go to ``run_sweep``.

    A ``db`` that cannot be used (damaged, not a sweep's file, read-only with runs to do) or
    a scheduler that does not answer ends the script with its one-line reason and status 1
    (:func:`exits.fail`); ``run_sweep`` checks both before any run starts.
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
