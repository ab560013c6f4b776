"""Independent chunks of a layer's work spread over the threads the caller gave the BLAS.

A convolution unrolls and multiplies its batch a few images at a time (see
:mod:`bprop.layers.convolution`). Each chunk is a small matrix product plus the
im2col copy and the bias pass around it, which OpenBLAS cannot parallelise: with two
BLAS threads only the product was split, both threads synchronised at every call, and
the copies ran on one core. ``run_chunks`` instead hands whole chunks to ``T`` threads
(``T`` = the BLAS thread count the caller set, e.g. with threadpoolctl or
``OPENBLAS_NUM_THREADS``), each running its products with one BLAS thread, and sets the
BLAS back to ``T`` threads afterwards. NumPy releases the GIL in copies, ufuncs and
products, so the threads really run at once; a thread that is slowed down (a busy
core) takes fewer chunks, since each thread takes the next chunk when it is free.

With one BLAS thread (the scripts' default) the chunks run in order on the calling
thread, exactly as a plain loop. Results never depend on the thread count as long as
each chunk writes only its own output and sums are done in chunk order afterwards.
"""

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

_state = {"controller": None, "blas": None, "pool": None, "pool_size": 0}
_lock = threading.Lock()


def _reset_after_fork():
    # A forked child inherits the pool object but none of its threads: start afresh.
    _state["pool"], _state["pool_size"] = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _blas():
    """threadpoolctl's controllers of the BLAS libraries loaded in this process."""
    if _state["controller"] is None:
        with _lock:
            if _state["controller"] is None:
                controller = ThreadpoolController()
                _state["blas"] = controller.select(user_api="blas")
                _state["controller"] = controller
    return _state["blas"]


def blas_threads():
    """The number of threads the BLAS uses now (1 if threadpoolctl finds no BLAS)."""
    return max((lib.get_num_threads() or 1 for lib in _blas().lib_controllers), default=1)


def _pool(size):
    with _lock:
        if _state["pool_size"] < size:
            if _state["pool"] is not None:
                _state["pool"].shutdown(wait=False)
            _state["pool"] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="bprop-chunks")
            _state["pool_size"] = size
        return _state["pool"]


def run_chunks(work, n_chunks, threads=None):
    """Call ``work(i)`` once for every ``i`` in ``range(n_chunks)``.

    On one thread (``blas_threads() == 1``, or a single chunk) the calls run in order
    here. On ``T > 1`` threads (the calling thread and ``T - 1`` pool threads) each
    thread takes the next chunk when it is free, with the BLAS limited to one thread
    meanwhile and restored before returning. ``work`` must only write what chunk ``i``
    owns. An exception in any chunk stops the others at their next chunk and is
    raised here once every thread has stopped.
    """
    threads = min(blas_threads() if threads is None else threads, n_chunks)
    if threads <= 1:
        for i in range(n_chunks):
            work(i)
        return
    indices = itertools.count()  # next() on it is atomic under the GIL
    failed = threading.Event()

    def worker():
        for i in indices:
            if i >= n_chunks or failed.is_set():
                return
            try:
                work(i)
            except BaseException:
                failed.set()
                raise

    pool = _pool(threads - 1)
    with _state["controller"].limit(limits=1, user_api="blas"):
        futures = [pool.submit(worker) for _ in range(threads - 1)]
        try:
            worker()
        finally:
            for future in futures:  # never return (or raise) while a chunk still runs
                future.exception()
        for future in futures:
            future.result()
