"""The command line of every script: the flags they all have, and checked argument types.

Every script builds its parser with :func:`make_parser` (--seed, --out, --show, --quick,
--threads) and gives each option one of the argument types below (:func:`positive_int`,
:func:`fraction`, ...), so that a bad value is a one-line usage error (exit status 2)
before any data is loaded; the --out folder is created and tried for writing at the same
moment, and --threads applied (:mod:`blas`).
"""

import argparse
import math
import tempfile
from pathlib import Path

from bprop.layers.init import init_names

import blas
from exits import USAGE_STATUS

DEFAULT_OUT = "results"


# --- argument types -----------------------------------------------------------------
# Each turns the text of one command-line value into a value or raises
# argparse.ArgumentTypeError, which argparse reports as a usage error naming the option:
#     train_mnist.py: error: argument --lr: expected a finite number > 0, got '-1'


def _argument_type(name, convert, valid, expected):
    def parse(text):
        try:
            value = convert(text)
        except (TypeError, ValueError):
            value = None
        if value is None or not valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = parse.__qualname__ = name
    parse.__doc__ = f"An argument type: {expected}."
    return parse


positive_int = _argument_type("positive_int", int, lambda v: v >= 1, "an integer >= 1")
nonneg_int = _argument_type("nonneg_int", int, lambda v: v >= 0, "an integer >= 0")
# A comparison with NaN is False and inf fails the upper bound, so both are refused.
positive_float = _argument_type("positive_float", float, lambda v: 0 < v < math.inf,
                                "a finite number > 0")
nonneg_float = _argument_type("nonneg_float", float, lambda v: 0 <= v < math.inf,
                              "a finite number >= 0")
fraction = _argument_type("fraction", float, lambda v: 0 <= v < 1, "a number in [0, 1)")
open_fraction = _argument_type("open_fraction", float, lambda v: 0 < v < 1, "a number in (0, 1)")


def _init_value(text):
    # the names of the initialisation registry (he, xavier, and every activation's name, which
    # stands for its default init), else a number
    return text.lower() if text.lower() in init_names() else float(text)


weight_init = _argument_type(
    "weight_init", _init_value, lambda v: isinstance(v, str) or 0 < v < math.inf,
    f"one of {', '.join(init_names())} or a standard deviation > 0")


# --- the parser ---------------------------------------------------------------------


class ScriptParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that, once the arguments are parsed, runs the checks that involve
    several options (:meth:`add_check`), creates ``--out`` and tries writing in it, then
    applies ``--threads``; each failure is a usage error."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._checks = []

    def add_check(self, check, usage=True):
        """Add ``check(args) -> str or None``, a test of several options together: the
        message it returns is reported as a usage error (status 2), after the usage text
        unless ``usage`` is false (a value that is valid in itself, and wrong only against a
        file: the usage text would not help)."""
        self._checks.append((check, usage))

    def fail(self, message):
        """Exit with status 2 and the one line "PROG: error: MESSAGE" on stderr."""
        self.exit(USAGE_STATUS, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for check, usage in self._checks:
            message = check(parsed)
            if message:
                if usage:
                    self.error(message)
                self.fail(message)
        if getattr(parsed, "out", None) is not None:
            try:
                writable_dir(parsed.out)
            except ValueError as err:
                self.error(f"argument --out: {err}")
        blas.apply_threads(getattr(parsed, "threads", None))
        return parsed


def writable_dir(path):
    """Create the folder ``path`` (and its parents) if needed and check that a file can be
    written in it; return it as a ``Path``.

    Raises ``ValueError`` saying why not: the path is a file, a parent is a file, or the
    folder is read-only. Writing is tried rather than asked of ``os.access``: root may write
    where the mode bits say no, and a read-only file system refuses whatever they say.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{str(path)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the folder {str(path)!r}: {err.strerror or err}") from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ValueError(f"cannot write in the folder {str(path)!r}: {err.strerror or err}") from None
    return path


def make_parser(description, quick="a run of a few seconds with a smaller set-up (for tests)",
                out=DEFAULT_OUT):
    """An ``ArgumentParser`` with the flags every script has.

    ``description`` is the script's docstring, written as plain text: its first paragraph
    is the summary and the rest is shown after the options, as written. ``quick`` says
    what ``--quick`` does; ``out`` is the default of ``--out``.
    """
    summary, _, rest = description.strip().partition("\n\n")
    parser = ScriptParser(
        description=summary, epilog=rest or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=nonneg_int, default=0,
                        help="seed of every random choice: data order, weights, subsets (default: 0)")
    parser.add_argument("--out", default=out, metavar="DIR",
                        help=f"folder for the figures and numbers, created if needed and checked "
                             f"for writing before anything runs (default: {out.rstrip('/')}/)")
    parser.add_argument("--show", action="store_true", help="also open the figures in a window")
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--threads", type=nonneg_int, default=None, metavar="N",
        help="BLAS threads; 0 leaves the BLAS default. Default: 1, unless OPENBLAS_NUM_THREADS, "
             "OMP_NUM_THREADS or MKL_NUM_THREADS is set. For the 100-wide MLPs two threads are "
             "at best 10-30%% faster on an idle machine, for conv nets (which split their own work "
             "over these threads) about 1.3-1.4x; many times slower when other processes keep "
             "the cores busy")
    return parser
