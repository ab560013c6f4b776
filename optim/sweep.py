"""Many training runs at once, on this machine's cores or a Dask cluster, resumable.

:func:`run_sweep` takes a run function (one configuration in, its history and final
metrics out) and a list of configurations, runs those not yet in the sweep's SQLite file
on worker processes (:mod:`optim.sweep_workers`), and commits each result there as it
arrives (:mod:`optim.sweep_store`). :func:`summarize` groups the results by
configuration over seeds.

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

import collections
import concurrent.futures
import json
import math
import os
import shutil
import sys
import time

import numpy as np
from tqdm import tqdm

from bprop.layers.checks import check_int, check_positive

from .sweep_store import SweepStore, canonical_json, config_key, damaged_row_error
from .sweep_workers import DaskWorkers, LocalWorkers, execute

#: seconds between two looks at the workers when nothing finishes (progress bar, timeout)
POLL_SECONDS = 0.5


class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes
    ----------
    runs : list of records, one per configuration, in the order given (each a dict with
        the :data:`optim.sweep_store.COLUMNS`: ``key``, ``config``, ``seed``, ``status``,
        ``metrics``, ``history``, ``error``, ``traceback``, ``wall_time``, ``worker``,
        ``attempts``, ``finished``).
    executed : int, runs executed by this call.
    skipped : int, runs found already finished in the store.
    path : Path of the SQLite file.
    """

    def __init__(self, runs, executed, skipped, path):
        self.runs = runs
        self.executed = executed
        self.skipped = skipped
        self.path = path

    @property
    def done(self):
        """The records of the runs that finished."""
        return [r for r in self.runs if r["status"] == "done"]

    @property
    def failed(self):
        """The records of the runs that raised or whose workers kept dying."""
        return [r for r in self.runs if r["status"] == "failed"]

    def summary(self, metrics=None):
        """:func:`summarize` of these runs."""
        return summarize(self.runs, metrics)

    def __len__(self):
        return len(self.runs)

    def __repr__(self):
        return (f"SweepResult({len(self.runs)} runs: {len(self.done)} done, {len(self.failed)} failed; "
                f"{self.executed} executed now, {self.skipped} already in {str(self.path)!r})")


def summarize(records, metrics=None):
    """Group runs that differ only in their seed; mean, std, min and max of each metric.

    Parameters
    ----------
    records : run records (as in :attr:`SweepResult.runs`).
    metrics : names of the metrics to summarize; default: every metric the finished
        runs report.

    Returns
    -------
    list of dicts, one per configuration in the order first met: ``config`` (without
    ``seed``), ``seeds`` and ``keys`` (lists, one per run), ``runs``, ``failed`` (counts),
    and ``metrics``:
    ``{name: {'mean', 'std', 'min', 'max'}}`` over the finished runs (population std;
    NaN when none finished).
    """
    groups = collections.OrderedDict()
    for record in records:
        config = {k: v for k, v in record["config"].items() if k != "seed"}
        group = groups.setdefault(canonical_json(config), {"config": config, "records": []})
        group["records"].append(record)
    if metrics is None:
        metrics = []
        for record in records:
            metrics += [m for m in record["metrics"] if m not in metrics]
    summary = []
    for group in groups.values():
        done = [r for r in group["records"] if r["status"] == "done"]
        stats = {}
        for name in metrics:
            values = np.array([r["metrics"].get(name, math.nan) for r in done], dtype=float)
            values = values[~np.isnan(values)]
            stats[name] = ({"mean": float(values.mean()), "std": float(values.std()),
                            "min": float(values.min()), "max": float(values.max())}
                           if len(values) else dict.fromkeys(("mean", "std", "min", "max"), math.nan))
        summary.append({"config": group["config"], "seeds": [r["seed"] for r in group["records"]],
                        "keys": [r["key"] for r in group["records"]],
                        "runs": len(group["records"]), "failed": len(group["records"]) - len(done),
                        "metrics": stats})
    return summary


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
        return DaskWorkers(scheduler, workers, connect_timeout=connect_timeout)

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
                executing, pool = pool or workers_pool(), None  # _execute_all closes it
                _execute_all(executing, run, todo, store, blas_threads, max_attempts, timeout, verbose)
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


class _Run:
    __slots__ = ("key", "config", "attempts")

    def __init__(self, key, config):
        self.key, self.config, self.attempts = key, config, 0


def _execute_all(pool, run, todo, store, blas_threads, max_attempts, timeout, verbose):
    """Keep every worker busy until each run of ``todo`` is committed to ``store``."""
    pool.check_picklable(run)
    deadline = None if timeout is None else time.monotonic() + timeout
    queue = collections.deque(_Run(k, c) for k, c in todo)
    in_flight = {}
    progress = _Progress(len(todo), verbose)
    cancel = True

    def fill():
        # Never more runs submitted than workers can run: the count of running runs is
        # true, and a worker's death can only concern the run it was given.
        capacity = pool.capacity() if queue else 0
        while queue and len(in_flight) < capacity:
            item = queue.popleft()
            item.attempts += 1
            in_flight[pool.submit(execute, run, item.config, blas_threads)] = item
        progress.show(len(in_flight))

    try:
        while queue or in_flight:
            fill()
            wait = POLL_SECONDS
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise TimeoutError(f"run_sweep: the sweep took longer than timeout={timeout} s; "
                                       f"{progress.finished} of {len(todo)} runs finished and are kept")
            if not in_flight:
                time.sleep(wait)  # no worker yet (a cluster without workers)
                continue
            finished, _ = concurrent.futures.wait(in_flight, timeout=wait,
                                                  return_when=concurrent.futures.FIRST_COMPLETED)
            records = []
            for future in finished:
                item = in_flight.pop(future)
                outcome = _outcome(pool, future, item, max_attempts)
                if outcome is None:
                    queue.appendleft(item)  # its worker died: run it again first
                    continue
                records.append(dict(outcome, key=item.key, config=item.config,
                                    seed=item.config["seed"], attempts=item.attempts))
            fill()  # the freed workers start their next runs while the results are committed
            for record in records:
                _put(store, record)
                progress.finished_run(record, running=len(in_flight))
        cancel = False
    finally:
        progress.close()
        pool.close(cancel=cancel)


def _outcome(pool, future, item, max_attempts):
    """The outcome of a finished future; None when the run is to be executed again."""
    try:
        outcome = future.result()
    except concurrent.futures.CancelledError:
        raise RuntimeError(f"run_sweep: run {item.key} was cancelled by the workers "
                           "(was the Dask scheduler or client closed?)") from None
    except Exception as err:
        lost = pool.is_worker_lost(err)
        pool.release(future, lost)
        if not lost:
            # execute() never raises: this is the worker or the transport, not the run
            raise RuntimeError(f"run_sweep: the workers failed on run {item.key} "
                               f"({item.config!r}): {type(err).__name__}: {err}") from err
        if not pool.reruns_lost_runs and item.attempts < max_attempts:
            return None
        times = "" if pool.reruns_lost_runs else f" {item.attempts} times"
        return {"status": "failed", "metrics": {}, "history": None,
                "error": f"WorkerDied: the worker process running this run died{times} (killed, or "
                         f"out of memory?): {type(err).__name__}: {err}",
                "traceback": None, "wall_time": None, "worker": None}
    pool.release(future, False)
    return outcome


def _put(store, record):
    try:
        store.put(record)
    except (TypeError, ValueError) as err:  # metrics or history not JSON data
        store.put(dict(record, status="failed", metrics={}, history=None,
                       error=f"TypeError: the run's result cannot be stored: {err}"))


class _Progress:
    """A tqdm bar over runs (verbose 1, on a terminal) or a line per run (verbose 2, and
    verbose 1 when stderr is not a terminal, e.g. a log file)."""

    def __init__(self, total, verbose):
        self.total, self.verbose = total, verbose
        self.done = self.failed = 0
        self.bar = None
        if verbose == 1:
            size = shutil.get_terminal_size()
            self.bar = tqdm(total=total, unit="run", desc="sweep", disable=None, dynamic_ncols=False,
                            ncols=size.columns, nrows=size.lines)
            if self.bar.disable:
                self.bar.close()
                self.bar = None

    @property
    def finished(self):
        return self.done + self.failed

    def show(self, running, refresh=True):
        if self.bar is not None:
            self.bar.set_postfix_str(f"done {self.done}, failed {self.failed}, running {running}",
                                     refresh=refresh)

    def finished_run(self, record, running):
        if record["status"] == "done":
            self.done += 1
        else:
            self.failed += 1
        if self.bar is not None:
            self.show(running, refresh=False)
            self.bar.update(1)
        elif self.verbose:
            what = ("  ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items()
                              if isinstance(v, (int, float)))
                    if record["status"] == "done" else record["error"].splitlines()[0][:120])
            wall = f"{record['wall_time']:.1f}s" if record["wall_time"] is not None else "-"
            print(f"run {self.finished}/{self.total} {record['status']:<6} {record['key']} seed "
                  f"{record['seed']}  {what}  {wall} on {record['worker']}", file=sys.stdout, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
