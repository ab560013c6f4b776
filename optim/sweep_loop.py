"""The loop of a sweep: keep every worker busy until each run is committed to the store.

Never more runs are submitted than the workers can run at once, so the count of running
runs is true and a worker's death can only concern the run it was given: that run is
executed again first (up to ``max_attempts`` in all, where the workers do not do it
themselves), or recorded as failed. Each outcome is committed as it arrives.
"""

import collections
import concurrent.futures
import time

from .progress import SweepProgress
from .sweep_execute import execute

#: seconds between two looks at the workers when nothing finishes (progress bar, timeout)
POLL_SECONDS = 0.5


class _Run:
    """A run of the sweep: its key, its configuration, and how often it was submitted."""

    __slots__ = ("key", "config", "attempts")

    def __init__(self, key, config):
        self.key, self.config, self.attempts = key, config, 0


def execute_all(pool, run, todo, store, max_attempts, timeout, verbose):
    """Keep every worker busy until each run of ``todo`` is committed to ``store``."""
    pool.check_picklable(run)
    deadline = None if timeout is None else time.monotonic() + timeout
    queue = collections.deque(_Run(k, c) for k, c in todo)
    in_flight = {}
    progress = SweepProgress(len(todo), verbose)
    cancel = True

    def fill():
        # Never more runs submitted than workers can run: the count of running runs is
        # true, and a worker's death can only concern the run it was given.
        capacity = pool.capacity() if queue else 0
        while queue and len(in_flight) < capacity:
            item = queue.popleft()
            item.attempts += 1
            in_flight[pool.submit(execute, run, item.config)] = item
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
