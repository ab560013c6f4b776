"""A training script's run: its checkpoint and ``--resume``, and a run that ends early.

``--checkpoint PATH`` writes the whole training state after every epoch and ``--resume``
continues it (:func:`add_checkpoint_args`). A ``--resume`` that cannot continue its
checkpoint (a damaged file, another option value than the run was started with) is refused
with status 2 before any work (:func:`add_resume_check`, :class:`RunSettings`,
:func:`make_trainer`). :func:`fit` keeps the history of a run that diverged or was stopped
by Ctrl-C, and :class:`LastEpoch` puts the network back to the last completed epoch.
"""

import json
import os
import time

import numpy as np

from bprop.optim import Callback
from bprop.optim.early_stopping import network_arrays

from cli import writable_dir
import exits
from exits import USAGE_STATUS, fail, say
import outputs


# --- checkpoints and --resume ----------------------------------------------------------

#: the options a --resume may change: where the files go, what is shown, BLAS threads, the
#: checkpoint's path, and the number of epochs (the run then ends later, or at once)
RESUME_MAY_CHANGE = ("epochs", "out", "show", "verbose", "threads", "checkpoint", "resume")


def add_checkpoint_args(parser, may_change=()):
    """Add ``--checkpoint PATH`` and ``--resume`` to a training script's parser.

    ``--resume`` without ``--checkpoint``, or with no file there, is a usage error, found
    before any data is loaded; so is a damaged checkpoint, and one whose run was started with
    other values of the options it fixes (:func:`add_resume_check`; ``may_change`` names the
    options besides :data:`RESUME_MAY_CHANGE` that a resume may change, by their ``dest``).
    """
    parser.add_argument(
        "--checkpoint", metavar="PATH", default=None,
        help="write the whole training state (weights, optimizer, random streams, history) to "
             "PATH after every epoch, atomically: after Ctrl-C or a kill it holds the last "
             "completed epoch, and --resume continues from there (default: no checkpoint)")
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the run saved in --checkpoint; give the options it was started with "
             "(--epochs may be raised; --out, --verbose, --threads may change): the result is the one "
             "an uninterrupted run would have given, bit for bit. Another value of an option the run "
             "depends on (--lr, --seed, --batch-size, ...) is refused (exit status 2)")
    parser.add_check(_check_resume)
    add_resume_check(parser, lambda args: [args.checkpoint] if args.resume else [], may_change)


def _check_resume(args):
    if args.resume and not args.checkpoint:
        return "argument --resume: needs --checkpoint PATH, the file to continue from"
    if args.resume and not os.path.isfile(args.checkpoint):
        return f"argument --resume: there is no checkpoint at {args.checkpoint!r}"
    if args.checkpoint:
        if os.path.isdir(args.checkpoint):
            return f"argument --checkpoint: {args.checkpoint!r} is a folder, not a file"
        try:
            writable_dir(os.path.dirname(os.path.abspath(args.checkpoint)))
        except ValueError as err:
            return f"argument --checkpoint: {err}"
    return None


class RunSettings(Callback):
    """The options a script's run was started with, kept in its checkpoint.

    Its state (``{'options': {'--lr': 0.1, '--seed': 0, ...}}``) goes into the checkpoint
    under its class name with the state of every callback, so that a ``--resume`` is
    compared with the run it continues: before any work (:func:`add_resume_check`), and
    again when the Trainer loads the file (:meth:`check_state_dict` raises a ValueError
    naming the option, and the Trainer then changes nothing). A resumed run therefore never
    trains with the checkpoint's value of an option while its results record another.

    Parameters
    ----------
    options : dict, option string -> value as parsed (:func:`fixed_options`).
    """

    def __init__(self, options):
        self.options = json.loads(json.dumps(options))  # as the checkpoint gives them back

    @classmethod
    def of(cls, parser, args):
        """The settings of ``args``, parsed by ``parser`` (before a script changes them)."""
        return cls(fixed_options(parser, args))

    def state_dict(self):
        return {"options": self.options}

    def check_state_dict(self, state, trainer=None):
        message = settings_mismatch(state, self.options, "the checkpoint")
        if message:
            raise ValueError(message)

    def load_state_dict(self, state):
        self.check_state_dict(state)  # nothing to take back: the options are this run's

    def __repr__(self):
        return f"RunSettings({self.options!r})"


def fixed_options(parser, args):
    """``{option: value}`` of the options in ``args`` that a resume may not change: all but
    those of :data:`RESUME_MAY_CHANGE` and the parser's own (:func:`add_resume_check`), each
    named as on the command line (``'--batch-size'`` for ``args.batch_size``)."""
    may_change = set(RESUME_MAY_CHANGE) | set(getattr(parser, "resume_may_change", ()))
    return {"--" + dest.replace("_", "-"): value for dest, value in vars(args).items() if dest not in may_change}


def _spell(option, value):
    if value is None or value is False:
        return f"no {option}"
    if value is True:
        return option
    if isinstance(value, list):
        return f"{option} {' '.join(map(str, value))}" if value else f"{option} (no value)"
    return f"{option} {value}"


def settings_mismatch(state, options, source):
    """None if the :class:`RunSettings` state ``state`` holds ``options``, else the usage
    error's message: the first option whose value differs, with both values."""
    saved = state.get("options") if isinstance(state, dict) else None
    if not isinstance(saved, dict):
        return f"argument --resume: {source} holds no valid settings of this script"
    if set(saved) != set(options):
        differ = sorted(set(saved) ^ set(options))
        return (f"argument --resume: {source} holds the run of another command (the options "
                f"{', '.join(differ)} are in one and not the other)")
    for option, value in options.items():
        if saved[option] != value:
            return (f"argument {option}: {source} was written with {_spell(option, saved[option])}, "
                    f"this command gives {_spell(option, value)}; give the checkpoint's value to resume "
                    "its run, or start a new run without --resume")
    return None


def add_resume_check(parser, files, may_change=()):
    """Refuse, as a usage error before any work, a ``--resume`` that cannot continue the
    checkpoints ``files(args)`` (a list of paths; none: nothing to check): a file that is not
    a readable checkpoint, or one whose :class:`RunSettings` differ from this command's.

    ``may_change`` names (by ``dest``) the options besides :data:`RESUME_MAY_CHANGE` that a
    resume may change. The error is one line, naming the option and both values, exit status 2.
    """
    parser.resume_may_change = tuple(may_change)

    def check(args):
        from bprop.optim import CheckpointError, load_checkpoint

        options = fixed_options(parser, args)
        for path in files(args):
            try:
                state = load_checkpoint(path)
            except (CheckpointError, OSError) as err:
                return f"argument --resume: cannot resume from {path}: {err}"
            callbacks = state.get("callbacks") if isinstance(state, dict) else None
            if not isinstance(callbacks, dict) or RunSettings.__name__ not in callbacks:
                return (f"argument --resume: {path} holds no settings of this script (written by another "
                        "program or an older version of it); start a new run without --resume")
            message = settings_mismatch(callbacks[RunSettings.__name__], options, path)
            if message:
                return message
        return None

    parser.add_check(check, usage=False)


def make_trainer(args, build):
    """``build()``, a Trainer; with ``--resume``, a checkpoint it cannot continue from (another
    network, other data or settings, a damaged file) ends the script with the reason in one
    line and status 2, nothing changed."""
    try:
        return build()
    except (ValueError, OSError) as err:
        if not getattr(args, "resume", False):
            raise
        fail(f"cannot resume from {args.checkpoint}: {err}", USAGE_STATUS)


def resume_hint(args, trainer):
    """After a Ctrl-C: say where the training state is and how to continue it."""
    if getattr(args, "checkpoint", None) and trainer.checkpoint_epoch:
        say(f"the training state after epoch {trainer.checkpoint_epoch} is in {args.checkpoint}: "
            "run the same command with --resume to continue")


def fit(trainer, catch_interrupt=False):
    """Run ``trainer.fit()`` and keep the history of a run that did not finish instead of raising.

    Returns ``(history, error, interrupted)``. ``error`` is the ``TrainingDivergedError``
    (the script reports it: :func:`exits.diverged_line`, or a "diverged" among results) or None,
    and ``history`` then ends with the loss that diverged. With ``catch_interrupt``, a
    Ctrl-C ends training: ``interrupted`` is True and ``history`` holds the completed epochs
    only (:func:`completed_epochs`); the network is as the interrupted step left it, and
    :class:`LastEpoch` can put it back. Without it the ``KeyboardInterrupt`` propagates, for
    scripts that train many times and catch it around their loop.
    """
    from bprop.optim import TrainingDivergedError

    try:
        return trainer.fit(), None, False
    except TrainingDivergedError as err:
        return err.history, err, False
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        return completed_epochs(trainer.history), None, True


def fit_to_last_epoch(trainer, last):
    """:func:`fit` with Ctrl-C caught; after a Ctrl-C or a divergence ``last`` (the trainer's
    :class:`LastEpoch`) puts the network back to the epoch the history ends with. Returns
    ``(history, error, interrupted)`` as :func:`fit`."""
    history, error, interrupted = fit(trainer, catch_interrupt=True)
    if interrupted or error is not None:
        last.restore(history)
    return history, error, interrupted


def run_training(trainer, last, args, unit="epoch", total=None):
    """A script's training: :func:`fit_to_last_epoch`, timed; after a Ctrl-C, where the
    checkpoint is (:func:`resume_hint`) and which ``unit`` ("epoch", "round") of ``total`` it
    stopped in (:func:`exits.interrupted`, which exits at once if none was finished).
    Returns ``(history, error, interrupted, seconds)``."""
    start = time.perf_counter()
    history, error, interrupted = fit_to_last_epoch(trainer, last)
    seconds = time.perf_counter() - start
    if interrupted:
        done = history.n_epochs
        resume_hint(args, trainer)
        exits.interrupted(f"during {unit} {done + 1}" + (f" of {total}" if total else ""), finished=done > 0)
    return history, error, interrupted, seconds


def completed_epochs(history):
    """A Trainer's ``history`` cut to its completed epochs, in place: the mini-batch losses
    (``iter_loss``) of an interrupted epoch are dropped. Returns ``history``."""
    # A per-epoch key such as 'iteration' is in the history once an epoch is recorded.
    done = history["iteration"][-1] if history.get("iteration") else 0
    del history["iter_loss"][done:]
    return history


class LastEpoch(Callback):
    """A Trainer callback that keeps a copy of the network's arrays as of the end of the
    last completed epoch, so that an interrupted run can go back to them.

    The copy is taken as each epoch begins, before its first update: the arrays then are
    those the previous epoch ended with. A Ctrl-C anywhere in an epoch, its evaluation and
    its callbacks included, therefore finds the copy of the epoch the history ends with.
    The arrays are ``network.state_dict()`` (parameters and batch-norm running statistics)
    when the network has it, else ``network.params``; :meth:`restore` writes the copy back
    into them in place, as EarlyStopping's ``restore_best`` does.
    """

    def __init__(self, network):
        self.network = network
        self.epoch = 0
        self._saved = None

    def on_epoch_begin(self, trainer, epoch):
        self.snapshot(epoch - 1)

    def snapshot(self, epoch):
        """Keep a copy of the network's arrays as of the end of ``epoch`` (now)."""
        self._saved = {k: np.array(v, copy=True) for k, v in network_arrays(self.network).items()}
        self.epoch = epoch

    def restore(self, history):
        """Put the network back to the end of the last epoch ``history`` recorded; return
        that epoch (0 when none was completed: then the network is left as it is)."""
        done = len(history["epoch"])
        # If the copy is older than the history, Ctrl-C came after the epoch was recorded and
        # before the next one's copy was taken: the network has not changed since that epoch ended.
        if done and self.epoch == done:
            for k, arr in network_arrays(self.network).items():
                arr[...] = self._saved[k]
        return done


def save_weights(net, out, name, history, stopped_early):
    """Write ``net``'s weights to ``out/{name}_weights.npz`` once an epoch has finished, and
    say so; ``stopped_early`` (a Ctrl-C or a divergence) adds which epoch's weights they are.
    Returns the path, or None when no epoch finished."""
    if not history["epoch"]:
        return None
    path = outputs.output_dir(out) / f"{name}_weights.npz"
    net.save_params(path)
    print(f"wrote {path}" + (f" (the weights after epoch {history.n_epochs})" if stopped_early else ""))
    return path


class TimeLimit(Callback):
    """Stop after the epoch whose successor would end past ``seconds`` of training, judged by
    the longest epoch so far (0: no limit).

    The seconds are the Trainer's, the history's cumulative ``'time'``, which a resumed run
    counts on from its checkpoint; each epoch's length is the difference of two of them. So
    the callback keeps nothing of its own, and a resumed run stops where the uninterrupted
    one would have, had its epochs taken as long.

    Attributes
    ----------
    reason : None, or why training stopped, in words.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.reason = None

    def on_epoch_end(self, trainer, epoch, logs):
        # the history gets this epoch after every callback of the caller's (RecordHistory is last)
        times = [*trainer.history.get("time", []), logs["time"]]
        longest = float(np.max(np.diff(times, prepend=0.0)))
        if self.seconds and epoch < trainer.n_epochs and times[-1] + longest > self.seconds:
            trainer.stop_training = True
            self.reason = (f"another epoch would end past the --time-limit of {self.seconds:g} s "
                           f"({times[-1]:.0f} s of training so far, the longest epoch {longest:.0f} s)")

    def __repr__(self):
        return f"TimeLimit(seconds={self.seconds!r})"


def format_time(seconds):
    """``'95 s'`` below two minutes, else ``'4.2 min'``."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
