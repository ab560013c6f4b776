"""How many BLAS threads a script, and each worker of its sweep, multiplies with.

``--threads N`` sets the count; 0 leaves the BLAS library's own default. Without the option,
a count set in the environment (one of ``BLAS_THREAD_VARIABLES``: OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS) is left alone, and otherwise the count is one: the products
of these networks are small, and threads waiting for a core that another process holds make
them many times slower than one thread.
"""

import os

from bprop.optim.sweep_execute import BLAS_THREAD_VARIABLES, limit_blas_threads


def threads_to_use(threads):
    """The BLAS threads that ``--threads`` (``threads``, None when not given) asks for: a
    number, or None to leave the count as it is (the BLAS default, or the environment's)."""
    if threads is not None:
        return threads or None
    return None if any(os.environ.get(v) for v in BLAS_THREAD_VARIABLES) else 1


def apply_threads(threads):
    """Limit this process's BLAS to :func:`threads_to_use` ``(threads)`` threads, if a number."""
    n = threads_to_use(threads)
    if n:
        limit_blas_threads(n)
