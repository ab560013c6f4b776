"""How a script ends: its exit statuses, Ctrl-C, and failures in one line.

Ctrl-C: a script catches the KeyboardInterrupt around its training, writes what is finished
(completed epochs, runs or trials), and :func:`finish` then exits with status 130; the
script's ``__main__`` block runs ``main`` through :func:`run`, which turns a Ctrl-C at any
other moment into one line and status 130 instead of a traceback.

Failures: a command that fails says why in one line on stderr, "error: ...", never a
traceback. A training run that diverges writes what is finished, then :func:`finish` exits
with status 1 (:data:`FAILED_STATUS`) and a line from :func:`diverged_line` ("training
diverged at epoch 3, iteration 12: loss 1.37e+11; lower --lr (it was 1e+06)"); a sweep
whose results file is damaged or read-only, or whose Dask scheduler does not answer, ends
with status 1 the same way (:func:`sweeps.sweep`, :func:`run`). Scripts that compare many
runs, where a diverging run is one of the results, record it and go on.
"""

import math
import sys

#: exit status of a script stopped by Ctrl-C: 128 + SIGINT, what a shell reports for it
INTERRUPTED_STATUS = 130
#: exit status of a script whose work failed (training diverged, a sweep's store or scheduler
#: cannot be used), after it wrote what was finished
FAILED_STATUS = 1
#: exit status of a command that cannot run as given (argparse's, for every usage error)
USAGE_STATUS = 2


def say(line):
    """Print ``line`` at once (a log file gets it before the next one is computed)."""
    print(line, flush=True)


def fail(message, status=FAILED_STATUS):
    """End the script with the one line "error: MESSAGE" on stderr and ``status``."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(status)


def finish(plt, show, interrupted=False, out=None, failure=None):
    """Show the figures when asked, then close them all.

    After a Ctrl-C (``interrupted``) nothing is shown: say where the finished part was
    written (``out``) and exit with status 130. After a failure (``failure``, the line of
    :func:`diverged_line`, say) nothing is shown either: exit with :func:`fail`'s one line and
    status 1.
    """
    if show and not (interrupted or failure):
        plt.show()
    plt.close("all")
    if interrupted:
        say(f"stopped by Ctrl-C; what was finished is in {out}")
        raise SystemExit(INTERRUPTED_STATUS)
    if failure:
        fail(failure)


def _number(value):
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def diverged_line(error, hint, what="training"):
    """The line a script ends with when a run diverged: where, the loss, and what to change.

    ``error`` is the ``TrainingDivergedError``; ``hint`` says what to do ("lower --lr (it was
    0.5)", :func:`lower`); ``what`` names the run ("training of the plain model"). Example:
    "training diverged at epoch 3, iteration 12: loss 1.37e+11; lower --lr (it was 1e+06)".
    """
    return (f"{what} diverged at epoch {error.epoch}, iteration {error.iteration}: loss "
            f"{_number(error.loss)}; {hint}")


def lower(option, value, now=None):
    """The hint of :func:`diverged_line` for a run that a smaller ``option`` may save: "lower
    --lr (it was 0.5)"; ``now``, the value at the step that diverged where a schedule changed
    it, is added when it differs ("it was 0.1, 1e+04 at that step")."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if now is not None and now != value:
        text += f", {now:g} at that step"
    return f"lower {option} (it was {text})"


def lr_failure(error, lr, what="training"):
    """None when ``error`` is None (no divergence), else the :func:`diverged_line` that
    advises a lower ``--lr``, with the rate in force at the step that diverged."""
    if error is None:
        return None
    return diverged_line(error, lower("--lr", lr, error.lr), what=what)


def interrupted(what, finished=True):
    """Say that Ctrl-C stopped the work ``what`` (e.g. "during epoch 3 of 10").

    The script then writes what is finished and calls :func:`finish`; when nothing is
    (``finished`` false) there is nothing to write, and this exits with status 130 at once.
    """
    if finished:
        say(f"\ninterrupted by Ctrl-C {what}; writing what is finished")
    else:
        say(f"\ninterrupted by Ctrl-C {what}; nothing (more) was finished, nothing to write")
        raise SystemExit(INTERRUPTED_STATUS)


def run(main):
    """Run a script's ``main()`` as the program.

    A Ctrl-C that ``main`` does not handle itself (while the data loads, say, or a second
    one while the finished part is written) ends the script with one line and status 130
    instead of a traceback; a sweep's store that cannot be used or a scheduler that does not
    answer (``SweepStoreError``, ``SchedulerUnreachableError``), with one line and status 1.

    Standard output is made line-buffered first: a stdout redirected to a file is otherwise
    block-buffered, and the log of a long run would show the script's lines (an epoch, a run,
    a setting finished) only when it ends.
    """
    from bprop.optim.sweep_store import SweepStoreError
    from bprop.optim.sweep_workers import SchedulerUnreachableError

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted by Ctrl-C", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED_STATUS)
    except (SweepStoreError, SchedulerUnreachableError) as err:  # wherever a script meets them
        fail(err)
