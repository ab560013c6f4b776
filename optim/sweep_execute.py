"""What runs on a sweep's worker process: the run function, and the BLAS thread limit.

:func:`execute` calls the user's run function and turns its result, or the exception it
raised, into plain data: it never raises, so an exception that comes out of a future means
the worker itself failed. :func:`limit_blas_threads` limits BLAS in the worker process to
the sweep's ``blas_threads``, once per process, before its first run, so a run gets the
cores the sweep intends.
"""

import functools
import os
import socket
import time
import traceback

import numpy as np

from .sweep_records import metrics_problem

#: the environment variables through which BLAS libraries loaded later learn their thread count
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@functools.lru_cache(maxsize=None)
def limit_blas_threads(n):
    """Limit BLAS to ``n`` threads in this process (once per process and ``n``)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")


def plain(obj):
    """``obj`` with NumPy arrays and scalars turned into lists and Python numbers, tuples
    into lists: what ``json`` can write and what pickles cheaply."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def execute(run, config):
    """Call ``run(config)`` on a worker; return its outcome as plain data, never raise.

    Returns a dict: ``status`` ('done' or 'failed'), ``metrics`` (dict), ``history``
    (dict; ``{}`` when the run returns none; on failure, the exception's ``history``
    attribute if it has one, as ``TrainingDivergedError`` does, else None), ``error``
    ('Type: message' or None), ``traceback``, ``wall_time`` (seconds) and ``worker``
    ('host:pid').
    """
    start = time.perf_counter()
    outcome = {"status": "done", "metrics": {}, "history": None, "error": None, "traceback": None}
    try:
        result = run(config)
        if not isinstance(result, dict) or not isinstance(result.get("metrics"), dict):
            raise TypeError("the run function must return a dict with 'metrics' (a dict of final "
                            f"numbers) and optionally 'history', got {type(result).__name__}")
        metrics = plain(result["metrics"])
        problem = metrics_problem(metrics)
        if problem is not None:
            raise TypeError(f"the run function's result {problem} (metrics are numbers or None)")
        history = plain(result.get("history"))
        history = {} if history is None else history
        if not isinstance(history, dict):
            raise TypeError(f"the run function's history must be a dict, got {type(history).__name__}")
        outcome["metrics"], outcome["history"] = metrics, history
    except Exception as err:  # the run's own failure is a result; the worker goes on
        history = getattr(err, "history", None)
        outcome.update(status="failed", history=plain(dict(history)) if history is not None else None,
                       error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
    outcome["wall_time"] = time.perf_counter() - start
    outcome["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return outcome


def with_blas_threads(n, fn, *args):
    """``fn(*args)`` in a process whose BLAS is limited to ``n`` threads (None: as it is):
    the limit is set by the first call in each process, for workers that have no
    initializer to set it (Dask's)."""
    if n:
        limit_blas_threads(n)
    return fn(*args)
