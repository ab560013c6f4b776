"""The one door to compiled loops.

A few element-wise passes are written as explicit loops over the elements and compiled by
numba (``@compiled``): the loop reads each input once and writes each output once, where
the same formula over whole arrays makes a pass, and a temporary, per operation. The loop
body is the formula with scalars, in the same order of operations as the array version,
so both round alike.

``@compiled`` functions release the GIL (so that :func:`bprop.layers.parallel.run_chunks`
runs them on several threads at once), never change the rounding (no fast-math, no fused
multiply-add contraction), and are compiled on their first call for each combination of
dtypes and memory layouts, then cached on disk next to the module.
"""

import numba


def compiled(function):
    """``function`` compiled by numba in nopython mode, GIL released, cached on disk."""
    return numba.njit(nogil=True, cache=True)(function)


def inlined(function):
    """As :func:`compiled`, and inlined into the compiled functions that call it."""
    return numba.njit(nogil=True, cache=True, inline="always")(function)
