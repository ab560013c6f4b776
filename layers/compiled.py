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

Nothing is imported or compiled before the first call: importing numba takes about 0.35 s,
which a program that never runs a compiled loop (an MLP, a script's ``--help``) does not
pay. At the first call of any ``@compiled`` or ``@inlined`` function of a module, every such
function of that module becomes a numba dispatcher, in the module's namespace too, so that
compiled functions can call the module's ``@inlined`` ones.
"""

import functools
import sys
import threading

_lock = threading.Lock()


class _Deferred:
    """A function to be compiled with numba ``options`` when one of its module's is first
    called; then ``dispatcher``, which calls made through this object go to."""

    def __init__(self, function, options):
        self.function, self.options = function, options
        self.dispatcher = None
        functools.update_wrapper(self, function)

    def __call__(self, *args):
        if self.dispatcher is None:
            _compile_module(self.function.__module__)
            if self.dispatcher is None:
                raise TypeError(f"compiled: {self.function.__qualname__} must be a module-level function "
                                "of its module (its compiled copy is cached by module and name)")
        return self.dispatcher(*args)


def _compile_module(name):
    """Replace every deferred function of module ``name`` by its numba dispatcher, in the
    module's namespace and as the deferred object's ``dispatcher``."""
    namespace = vars(sys.modules[name])
    with _lock:
        deferred = {key: value for key, value in namespace.items()
                    if isinstance(value, _Deferred) and value.dispatcher is None}
        if deferred:
            import numba

            for key, value in deferred.items():
                value.dispatcher = namespace[key] = numba.njit(**value.options)(value.function)


def compiled(function):
    """``function`` compiled by numba in nopython mode, GIL released, cached on disk."""
    return _Deferred(function, {"nogil": True, "cache": True})


def inlined(function):
    """As :func:`compiled`, and inlined into the compiled functions that call it."""
    return _Deferred(function, {"nogil": True, "cache": True, "inline": "always"})
