"""Many training runs at once, on this machine's cores or a Dask cluster, resumable.

:func:`run_sweep` takes a run function (one configuration in, its history and final
metrics out) and a list of configurations, runs those not yet in the sweep's SQLite file
on worker processes (:mod:`optim.sweep_workers`), and commits each result there as it
arrives (:mod:`optim.sweep_store`); :mod:`optim.sweep_loop` keeps the workers busy.
:func:`~bprop.optim.sweep_results.summarize` groups the results by configuration over seeds.

What it guarantees:

- **Nothing finished is lost.** Each run is committed when it finishes. Started again
  with the same file, a sweep executes only the configurations missing there, so a sweep
  stopped by Ctrl-C, or whose driver was killed, resumes where it stopped.
- **Worker deaths are survived.** A worker process that dies mid-run (killed, out of
  memory) has its run executed again on a fresh process, at most ``max_attempts`` times
  in all; after that it is recorded as failed. On Dask the scheduler does this itself.
- **A failing run is a result.** A run that raises (``TrainingDivergedError``, any
  exception) is recorded as failed with its message and partial history, and is not
  executed again unless ``retry_failed``.
- **Results depend only on the configuration.** Each run gets its configuration (seed
  included) and nothing else, so a sweep's results are bit-identical to the same runs done
  one by one in one process, whatever the worker or the order (timings excepted).
"""

import json
import os

from bprop.layers.checks import check_int, check_positive

from .sweep_loop import execute_all
from .sweep_records import canonical_json, config_key
from .sweep_results import SweepResult
from .sweep_store import SweepStore, damaged_row_error
from .sweep_workers import DaskWorkers, LocalWorkers


def run_sweep(run, configs, db, scheduler=None, workers=None, blas_threads=1, max_attempts=3,
              retry_failed=False, timeout=None, verbose=0, connect_timeout=30):
    """Run ``run(config)`` for every configuration not yet in ``db``; return all their results.

    Parameters
    ----------
    run : function ``config -> {'metrics': {name: number}, 'history': {...}}``, defined at
        the top level of a module the workers can import (a Dask cluster's workers need
        bprop and that module installed). It must depend on nothing but its argument: the
        seed is in the configuration. What it raises is recorded as the run's failure;
        an exception's ``history`` attribute is kept as the partial history.
    configs : sequence of dicts of plain JSON data, each with a ``'seed'``, all different.
        ``run`` receives each one as JSON gives it back (tuples become lists).
    db : path of the SQLite file of results (created if missing). Runs already there are
        skipped (and returned from there).
    scheduler : None: worker processes on this machine (see
        :class:`optim.sweep_workers.LocalWorkers`); 'local': a new Dask ``LocalCluster``
        of worker processes; 'tcp://host:port': an existing Dask cluster; or a
        ``distributed.Client``.
    workers : int >= 1, processes for None and 'local' (default: one per core); must be
        None for an existing cluster, whose size is its own.
    blas_threads : int >= 1 or None, BLAS threads on each worker (None leaves the default).
        One by default: one run per core, each on one core.
    max_attempts : int >= 1, executions of a run whose worker process dies under it before
        it is recorded as failed (worker processes on this machine; Dask counts with its
        own ``distributed.scheduler.allowed-failures``).
    retry_failed : bool, execute again the runs recorded as failed (for example after the
        cause was fixed); by default they are kept as they are.
    timeout : seconds or None. Stop with ``TimeoutError`` when the sweep takes longer
        (what finished is kept).
    verbose : 0 silent; 1 a progress bar over runs (done, failed, running, time left) on a
        terminal; 2 one line per finished run.
    connect_timeout : seconds > 0 to wait for a Dask scheduler at an address.

    Returns
    -------
    SweepResult, with one record per configuration in the order of ``configs``.

    Raises
    ------
    ValueError for a bad argument, a configuration without ``seed`` or two equal ones.
    SweepStoreError (a ValueError), before any run starts and with ``db`` left as it was,
    when ``db`` is damaged or not a sweep store, when a row this sweep keeps is unfit or
    holds another configuration than its key names, or when ``db`` cannot be written and
    runs are still to do.
    SchedulerUnreachableError (a ConnectionError) when no scheduler answers at the address
    ``scheduler`` within ``connect_timeout``; a ``db`` that did not exist is not created.
    TimeoutError after ``timeout`` seconds. RuntimeError if the workers (not the run) fail.
    KeyboardInterrupt passes through after the worker processes are stopped; every
    finished run is in ``db``.
    """
    if not callable(run):
        raise ValueError(f"run_sweep: run must be a function config -> result, got {run!r}")
    max_attempts = check_int("run_sweep", "max_attempts", max_attempts, 1)
    blas_threads = check_int("run_sweep", "blas_threads", blas_threads, 1, allow_none=True)
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"run_sweep: verbose must be 0, 1 or 2, got {verbose!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"run_sweep: timeout must be a number of seconds > 0 or None, got {timeout!r}")
    connect_timeout = check_positive("run_sweep", "connect_timeout", connect_timeout)
    local = scheduler is None or scheduler == "local"
    if local:
        workers = check_int("run_sweep", "workers", workers if workers is not None else os.cpu_count() or 1, 1)
    elif workers is not None:
        raise ValueError(f"run_sweep: workers={workers!r} cannot be set for an existing cluster "
                         f"({scheduler!r}); its workers are started with `dask worker`")
    configs, keys = _prepare(configs)

    def workers_pool():
        if scheduler is None:
            return LocalWorkers(workers, blas_threads)
        return DaskWorkers(scheduler, workers, connect_timeout=connect_timeout, blas_threads=blas_threads)

    # A new store is created only once the workers are there: a scheduler that does not
    # answer leaves no file behind. An existing one is checked first, and nothing runs
    # before it is known to be sound and writable.
    pool = workers_pool() if configs and not _holds_data(db) else None
    try:
        with SweepStore(db) as store:
            statuses = store.statuses()
            todo = [(k, c) for k, c in zip(keys, configs)
                    if statuses.get(k) is None or (retry_failed and statuses[k] == "failed")]
            _check_kept(store, [k for k in keys if k in statuses], todo)
            if todo:
                store.check_writable(f"{len(todo)} of the sweep's {len(keys)} runs are still to do")
                executing, pool = pool or workers_pool(), None  # execute_all closes it
                execute_all(executing, run, todo, store, max_attempts, timeout, verbose)
            runs = store.records(keys)
    finally:
        if pool is not None:
            pool.close()
    return SweepResult(runs, executed=len(todo), skipped=len(keys) - len(todo), path=store.path)


def _holds_data(path):
    """Whether ``path`` is a file with something in it (an empty file is a new store)."""
    try:
        return os.stat(path).st_size > 0
    except OSError:  # missing (SweepStore says what else is wrong)
        return False


def _check_kept(store, found, todo):
    """SweepStoreError unless every run of ``found`` (keys already in ``store``) that is not
    executed again is a sound row (reading it checks that) holding the configuration its
    key is the hash of."""
    again = {k for k, _ in todo}
    for record in store.records(k for k in found if k not in again):
        try:
            same = config_key(record["config"]) == record["key"]
        except ValueError:  # NaN or the like, which no configuration holds
            same = False
        if not same:
            raise damaged_row_error(store.path, record["key"], record["status"],
                                    "holds another configuration than the one its key names (was it edited?)")


def _prepare(configs):
    normalized, keys, seen = [], [], {}
    for i, config in enumerate(configs):
        text = canonical_json(config)
        config = json.loads(text)
        if "seed" not in config:
            raise ValueError(f"run_sweep: configuration {i} has no 'seed' (each run's result must "
                             f"depend only on its configuration): {config!r}")
        key = config_key(config)
        if key in seen:
            raise ValueError(f"run_sweep: configurations {seen[key]} and {i} are equal (give them "
                             f"different seeds): {config!r}")
        seen[key] = i
        normalized.append(config)
        keys.append(key)
    return normalized, keys
