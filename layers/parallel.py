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

_state = {"blas": None, "pool": None, "pool_size": 0}
_lock = threading.Lock()


def _reset_after_fork():
    # A forked child inherits the pool object but none of its threads: start afresh.
    _state["pool"], _state["pool_size"] = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _blas():
    """threadpoolctl's controllers of the BLAS libraries loaded in this process."""
    if _state["blas"] is None:
        with _lock:
            if _state["blas"] is None:
                _state["blas"] = ThreadpoolController().select(user_api="blas")
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


#: below this many multiply-adds a matrix product is not split over threads: handing
#: a block to another thread costs tens of microseconds
MIN_SPLIT = 1 << 20


def blocks(n, work_per_row=0):
    """Near-equal slices of ``range(n)``, one per BLAS thread (a single slice with one
    thread, or when ``n * work_per_row < MIN_SPLIT``): how a layer splits the rows of a
    matrix product over :func:`run_chunks`."""
    t = blas_threads() if n * work_per_row >= MIN_SPLIT else 1
    t = max(1, min(t, n))
    return [slice(i * n // t, (i + 1) * n // t) for i in range(t)]


def run_chunks(work, n_chunks, threads=None):
    """Call ``work(i)`` once for every ``i`` in ``range(n_chunks)``.

    With one BLAS thread the calls run in order here, as a plain loop. With ``T > 1``
    the BLAS is limited to one thread until they are done (also for a single chunk:
    then no idle OpenBLAS thread spins on the other core, waiting for work, while this
    layer's or the next one's threads need it), and the chunks run on ``min(T,
    n_chunks)`` threads (the calling one and pool threads), each taking the next chunk
    when it is free. ``work`` must only write what chunk ``i`` owns. An exception in any
    chunk stops the others at their next chunk and is raised here once every thread has
    stopped. Call it from one thread at a time: the BLAS setting is process-wide.
    """
    threads = blas_threads() if threads is None else threads
    if threads <= 1:
        for i in range(n_chunks):
            work(i)
        return
    libs = _blas().lib_controllers
    saved = [lib.get_num_threads() for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        if min(threads, n_chunks) <= 1:
            for i in range(n_chunks):
                work(i)
        else:
            _run_on_threads(work, n_chunks, min(threads, n_chunks))
    finally:
        for lib, count in zip(libs, saved):
            lib.set_num_threads(count)


def _run_on_threads(work, n_chunks, threads):
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
    futures = [pool.submit(worker) for _ in range(threads - 1)]
    try:
        worker()
    finally:
        for future in futures:  # never return (or raise) while a chunk still runs
            future.exception()
    for future in futures:
        future.result()
