"""Where a sweep's runs execute: worker processes on this machine, or a Dask cluster.

Both kinds of workers are driven through ``concurrent.futures`` futures, so
:func:`optim.sweep.run_sweep` has one loop for all of them. What runs on a worker is
:func:`~bprop.optim.sweep_execute.execute`, which never raises: an exception that comes out
of a future means the worker itself failed.

- :class:`LocalWorkers` (the default): ``n`` single-process ``ProcessPoolExecutor`` s.
  One pool of ``n`` processes would be marked broken as a whole when one process dies
  (SIGKILL, the OOM killer), failing every run in flight with it; with one process per
  pool, a death fails exactly the run that process had, and only that pool is replaced.
  The sweep re-executes that run (up to its ``max_attempts``). This is the default rather
  than a Dask ``LocalCluster`` because it needs no optional dependency, starts in a fraction
  of a second, and accounts for a death as exactly (one process, one run). Its processes
  come from a forkserver, ignore Ctrl-C (the driver stops them), and leave by themselves
  when the driver is killed.
- :class:`DaskWorkers`: a ``distributed.Client`` (a new ``LocalCluster``, or an existing
  cluster by address) through ``client.get_executor()``. Dask notices a dead worker,
  restarts it (its nanny does) and re-executes the run elsewhere by itself; after
  ``distributed.scheduler.allowed-failures`` deaths (3 by default) the future raises
  ``KilledWorker``.

Each worker process limits BLAS to ``blas_threads`` threads once, before its first run
(:func:`~bprop.optim.sweep_execute.limit_blas_threads`): a local worker in its
initializer, a Dask worker with the first run it gets (Dask has no initializer). A run thus
gets the cores the sweep intends.
"""

import concurrent.futures
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from concurrent.futures.process import BrokenProcessPool

from .sweep_execute import BLAS_THREAD_VARIABLES, limit_blas_threads, with_blas_threads


def _exit_with_driver():
    # A pool's worker waits on a queue whose write end it holds itself, and its parent is
    # the forkserver, which waits for its children: after a killed driver, both would stay.
    # parent_process() is the driver; join() returns when it is gone.
    driver = multiprocessing.parent_process()
    if driver is not None:
        driver.join()
        os._exit(1)


def _init_local_worker(blas_threads):
    # Ctrl-C reaches the whole process group: the driver handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if blas_threads:
        for name in BLAS_THREAD_VARIABLES:  # for BLAS libraries loaded later
            os.environ[name] = str(blas_threads)
        limit_blas_threads(blas_threads)
    threading.Thread(target=_exit_with_driver, daemon=True, name="exit-with-driver").start()


def _process_context():
    # forkserver: a clean process to fork from (forking the driver, which runs threads,
    # can deadlock a child); spawn where there is no forkserver (Windows).
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler answered at the address a sweep was given, within its time limit."""


class LocalWorkers:
    """``n`` worker processes on this machine, each its own single-process pool.

    Parameters
    ----------
    n : int >= 1, number of processes (runs at once).
    blas_threads : int >= 1 or None, BLAS threads in each process (None: the BLAS default).
    """

    #: a run whose process died is re-executed by the sweep, not by the pool
    reruns_lost_runs = False

    def __init__(self, n, blas_threads=1):
        self.n = n
        self.blas_threads = blas_threads
        self._context = _process_context()
        self._pools = [None] * n  # a pool (and its process) starts on its first run
        self._idle = list(range(n - 1, -1, -1))
        self._slot_of = {}

    def _new_pool(self):
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=self._context, initializer=_init_local_worker,
            initargs=(self.blas_threads,))

    def check_picklable(self, run):
        """Raise ValueError now if ``run`` cannot be sent to a worker process."""
        why = None
        try:
            pickle.dumps(run)
        except Exception as err:
            why = str(err)
        main = sys.modules.get("__main__")
        if why is None and getattr(run, "__module__", None) == "__main__" and not getattr(main, "__file__", None):
            why = "it is defined in an interactive session, which worker processes cannot import"
        if why is not None:
            raise ValueError(
                f"run must be a function defined at the top level of a module file (worker processes "
                f"import it by name), got {run!r}: {why}")

    def capacity(self):
        return self.n

    def submit(self, fn, *args):
        slot = self._idle.pop()
        if self._pools[slot] is None:
            self._pools[slot] = self._new_pool()
        try:
            future = self._pools[slot].submit(fn, *args)
        except BrokenProcessPool:  # its process died while idle
            self._replace(slot)
            future = self._pools[slot].submit(fn, *args)
        self._slot_of[future] = slot
        return future

    @staticmethod
    def is_worker_lost(error):
        return isinstance(error, BrokenProcessPool)

    def release(self, future, lost):
        slot = self._slot_of.pop(future)
        if lost:
            self._replace(slot)
        self._idle.append(slot)

    def _replace(self, slot):
        self._pools[slot].shutdown(wait=False)
        self._pools[slot] = self._new_pool()

    def close(self, cancel=False):
        """Shut the pools down; with ``cancel``, end their processes now (runs in flight are lost)."""
        for pool in self._pools:
            if pool is None:
                continue
            if cancel:
                terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
                if terminate is not None:
                    terminate()
                else:
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools = [None] * self.n

    def __repr__(self):
        return f"LocalWorkers(n={self.n}, blas_threads={self.blas_threads})"


class DaskWorkers:
    """The workers of a Dask cluster, through ``client.get_executor()``.

    Parameters
    ----------
    scheduler : 'local' (a new ``LocalCluster`` of ``n`` single-threaded worker
        processes, closed at the end), an address such as 'tcp://host:8786' (an existing
        cluster; its workers are left running), or a ``distributed.Client`` (used as it is).
    n : int >= 1, workers of a new LocalCluster (ignored otherwise).
    connect_timeout : seconds to wait for the scheduler at an address; after that
        :class:`SchedulerUnreachableError`.
    blas_threads : int >= 1 or None, BLAS threads in each worker process (None: the BLAS
        default).
    """

    #: Dask re-executes a run whose worker died by itself
    reruns_lost_runs = True

    def __init__(self, scheduler, n=None, connect_timeout=30, blas_threads=1):
        try:
            import distributed
        except ImportError:
            raise ImportError(
                "a Dask scheduler needs dask.distributed: pip install 'bprop[cluster]' "
                "(or pip install 'dask[distributed]')") from None
        self._distributed = distributed
        self.blas_threads = blas_threads
        self._cluster = None
        self._owns_client = True
        if isinstance(scheduler, distributed.Client):
            self.client, self._owns_client = scheduler, False
        elif scheduler == "local":
            # Its nannies start each worker with OPENBLAS/OMP/MKL_NUM_THREADS=1.
            self._cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            self.client = distributed.Client(self._cluster)
        else:
            try:
                self.client = distributed.Client(scheduler, timeout=connect_timeout)
            except OSError as err:  # the timeout and a refused or unresolvable address are OSErrors
                raise SchedulerUnreachableError(
                    f"no Dask scheduler answered at {scheduler} within {connect_timeout:g} s; check the "
                    f"address, and that `dask scheduler` runs there and is reachable from here") from err
        self._executor = self.client.get_executor(pure=False)

    def check_picklable(self, run):
        pass  # Dask pickles with cloudpickle, which also sends functions by value

    def capacity(self):
        return sum(self.client.nthreads().values())

    def submit(self, fn, *args):
        return self._executor.submit(with_blas_threads, self.blas_threads, fn, *args)

    def is_worker_lost(self, error):
        return isinstance(error, self._distributed.KilledWorker)

    def release(self, future, lost):
        pass

    def close(self, cancel=False):
        self._executor.shutdown(wait=False)  # cancels whatever is still queued or running
        if self._owns_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __repr__(self):
        return f"DaskWorkers({self.client!r})"
