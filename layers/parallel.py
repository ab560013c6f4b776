"""A layer's independent chunks of work on the threads the caller gave the BLAS.

A convolution unrolls and multiplies its batch a few images at a time (see
:mod:`bprop.layers.convolution`). Each chunk is a small matrix product plus the
im2col copy and the bias pass around it, which OpenBLAS cannot parallelise: with two
BLAS threads only the product was split, the threads synchronised at every call, and
the copies ran on one core. ``run_chunks`` instead hands whole chunks to ``T`` threads
(``T`` = the BLAS thread count the caller set, e.g. with threadpoolctl or
``OPENBLAS_NUM_THREADS``), each running its products with one BLAS thread. NumPy
releases the GIL in copies, ufuncs and products, so the threads really run at once; a
thread slowed down by a busy core takes fewer chunks, since each takes the next chunk
when it is free.

A network whose layers split their work this way runs each forward and backward
inside :func:`chunk_threads`: the BLAS at one thread throughout (no idle OpenBLAS thread
left spinning on the other core), and the large products of its Affine layers split
into row blocks over the same threads (:func:`blocks`). Networks without such layers
(MLPs, recurrent nets) keep the BLAS's own threading, unchanged.

With one BLAS thread (the scripts' default) everything runs in order on the calling
thread, exactly as a plain loop. Results never depend on the thread count, on any BLAS
kernel: how the work is cut (chunks of the batch, row blocks of a product) depends only on
the shapes, never on ``T``, so every thread count runs the same single-threaded products on
the same pieces; each chunk writes only its own output, and sums over chunks are added in
chunk order afterwards. (A product cut into row blocks need not give the bits of the
whole product: OpenBLAS's Haswell kernels round rows differently by their position in the
kernel's tiles. So the cut itself must not move with ``T``.)
"""

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

_state = {"blas": None, "pool": None, "pool_size": 0, "active": 0}
_lock = threading.Lock()
_local = threading.local()  # .threads: T inside chunk_threads(), else None


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
#: the number of row blocks a product of at least ``MIN_SPLIT`` multiply-adds is cut into
#: inside :func:`chunk_threads`, whatever the thread count (see the module docstring);
#: two suits the 2-core machines the library is tuned on, and at one thread two blocks
#: cost next to nothing over the whole product
SPLIT_BLOCKS = 2


@contextmanager
def chunk_threads():
    """Run a whole network step on this library's threads instead of the BLAS's.

    On entry the BLAS thread count ``T`` is read and the BLAS set to one thread; inside,
    :func:`run_chunks` spreads chunks over ``T`` threads and :func:`blocks` cuts large
    products into ``SPLIT_BLOCKS`` row blocks (for any ``T``, one included); on exit the
    BLAS gets its ``T`` threads back. A network with
    layers that split their work (``Layer.splits_work``) enters it around forward and
    around backward: an OpenBLAS thread left idle after a threaded product keeps
    spinning on a core for a while, so mixing the BLAS's threads with these made a
    2-thread conv step no faster than a 1-thread one. Reentrant; with one BLAS thread it
    leaves the BLAS as it is. The BLAS setting is process-wide: Python threads that train other
    networks at the same time see one BLAS thread meanwhile (correct, only slower).
    """
    if getattr(_local, "threads", None) is not None:
        yield
        return
    libs = _blas().lib_controllers
    saved = [lib.get_num_threads() or 1 for lib in libs]
    threads = max(saved, default=1)
    _local.threads = threads  # also when 1: run_chunks inside then asks the BLAS no more
    with _lock:
        _state["active"] += 1
    if threads > 1:
        for lib in libs:
            lib.set_num_threads(1)
    try:
        yield
    finally:
        _local.threads = None
        with _lock:
            _state["active"] -= 1
        if threads > 1:
            for lib, count in zip(libs, saved):
                lib.set_num_threads(count)


def in_chunk_threads():
    """Whether this thread is inside :func:`chunk_threads` (a conv net's pass), at any
    thread count: there a layer cuts its large products into :func:`blocks`; elsewhere it
    runs its plain textbook code."""
    if not _state["active"]:  # no chunk_threads() open in any thread: skip the thread-local lookup
        return False
    return getattr(_local, "threads", None) is not None


def blocks(n, work_per_row=0):
    """Near-equal slices of ``range(n)``: inside :func:`chunk_threads`, ``SPLIT_BLOCKS``
    of them when ``n * work_per_row >= MIN_SPLIT``; otherwise the single slice
    ``range(n)``. The cut depends on the sizes only, never on the thread count, so a
    product computed block by block gives the same bits on 1, 2 or 8 threads. How a layer
    splits the rows of a matrix product over :func:`run_chunks`."""
    k = SPLIT_BLOCKS if n * work_per_row >= MIN_SPLIT and in_chunk_threads() else 1
    k = min(k, n)
    return [slice(i * n // k, (i + 1) * n // k) for i in range(k)]


def matmul(a, b, out=None):
    """``a @ b`` for a layer that writes its formula with it (``y = x W``, ``dW = x^T dout``).

    Outside :func:`chunk_threads` this is exactly ``np.matmul(a, b, out=out)``. Inside (a conv
    net's pass) a product of at least ``MIN_SPLIT`` multiply-adds is cut into the
    :func:`blocks` of the rows of ``a``, each block a whole product of its own, run over the
    threads: the same blocks at any thread count, so the same bits.

    a : (N, K), b : (K, M), out : None or (N, M) to write into; returns the (N, M) product.
    """
    rows = blocks(a.shape[0], a.shape[1] * b.shape[1])
    if len(rows) == 1:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    run_chunks(lambda i: np.matmul(a[rows[i]], b, out=out[rows[i]]), len(rows))
    return out


def run_chunks(work, n_chunks):
    """Call ``work(i)`` once for every ``i`` in ``range(n_chunks)``.

    With one BLAS thread the calls run in order here, as a plain loop. With ``T > 1``
    (inside :func:`chunk_threads`, the ``T`` it found; outside, the BLAS's current count,
    which is set to one for the duration) the chunks run on ``min(T, n_chunks)``
    threads, the calling one and pool threads, each taking the next chunk when it is
    free, every product with one BLAS thread. ``work`` must only write what chunk ``i``
    owns. An exception in any chunk stops the others at their next chunk and is raised
    here once every thread has stopped.
    """
    threads = getattr(_local, "threads", None)
    if threads is None:  # a layer used on its own: the BLAS count decides, as in a network
        with chunk_threads():
            run_chunks(work, n_chunks)
        return
    if min(threads, n_chunks) <= 1:
        for i in range(n_chunks):
            work(i)
    else:
        _run_on_threads(work, n_chunks, min(threads, n_chunks))


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
