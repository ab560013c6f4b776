"""What a training run's checkpoint holds, checked before it is resumed and then put in place.

- :func:`trainer_state`: the Trainer's whole state, JSON values and array copies.
- :func:`check_state`: every field of a checkpoint, and what it must agree on with the
  Trainer resuming from it, checked before anything changes; :func:`apply_state` then
  puts it in place.

A Trainer's state (``Trainer.state_dict()``) holds ``setup`` (the data sizes, the batch
size, the optimizer's and callbacks' classes), ``progress`` (epochs and updates done,
seconds spent), ``history`` (:class:`~bprop.optim.history.History`), ``model``
(``model.state_dict()``), ``layer_state`` (dropout streams, a recurrent model's carried
state), ``optimizer``, ``train_data`` (the batch source's random stream),
``train_eval_index`` and ``callbacks`` (the state of each callback that keeps any, by
class name).
"""

import numbers

import numpy as np

from .callbacks import Callback
from .history import Checkpoint, History
from .state_checks import (CheckpointError, StateError, check_array, check_count, check_like, check_mapping,
                           check_real, join, shown)

#: who refuses a Trainer's state
OWNER = "Trainer"

STATE_KEYS = ("setup", "progress", "history", "model", "layer_state", "optimizer", "train_data",
              "train_eval_index", "callbacks")


def data_setup(trainer):
    """What a checkpoint must agree on with the Trainer that resumes from it."""
    train, val = trainer.train_batches, trainer.val_batches
    return {"batch_size": getattr(train, "batch_size", None), "train_samples": getattr(train, "n_samples", None),
            "train_batches": len(train), "val_batches": None if val is None else len(val),
            "eval_train": trainer.eval_train, "optimizer": type(trainer.optimizer).__name__,
            "callbacks": sorted(callback_states(trainer.callbacks))}


def has_state(callback):
    """Whether a callback keeps state for a resume (the checkpoint file itself does not count)."""
    return type(callback).state_dict is not Callback.state_dict


def callback_states(callbacks):
    """``{name: callback}`` for the callbacks that keep state, named by class (``'EarlyStopping'``,
    a second one of a class ``'CSVLogger.2'``): a checkpoint keeps their states under these
    names, and a resume needs the same ones; callbacks without state may come and go."""
    named, seen = {}, {}
    for cb in callbacks:
        if has_state(cb):
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            named[name if seen[name] == 1 else f"{name}.{seen[name]}"] = cb
    return named


def check_state(trainer, state, source):
    """Raise a :class:`CheckpointError` (a ValueError) naming ``source`` and the field at fault
    if ``state`` cannot be resumed by ``trainer``; change nothing.

    Checked, in this order: every part is there; the setup is this Trainer's; the counters
    (``epochs_done`` and ``steps_done`` ints >= 0 that agree with each other at this run's
    iterations per epoch and fit in its run, ``elapsed`` a finite number >= 0); the history
    (``'epoch'`` is ``[1, ..., epochs_done]``, ``'iteration'`` the updates done at each
    epoch's end, every other per-epoch list as long, ``'iter_loss'`` one finite loss per
    update, the scalars of their kinds); the layer state and the batch source's state of the
    make of this model's and this source's (bit-generator states included); the training
    subset's indices; and the optimizer's and every callback's state, by their own
    ``check_state_dict``. The model's arrays are checked by the model, which changes
    nothing before all of them pass, when :func:`apply_state` loads them first.
    """
    try:
        _check_state(trainer, state, source)
    except StateError as err:
        raise err.in_file(source) from None


def _part(prefix, check, *args):
    """Run a part's own check; what it refuses becomes a StateError under ``prefix``."""
    try:
        check(*args)
    except StateError as err:
        raise StateError(err.owner, join(prefix, err.field) if err.field else prefix, err.problem) from None
    except ValueError as err:  # a check that names no field (a callback of the user's)
        raise StateError(OWNER, prefix, f"is refused: {err}") from None


def _check_state(trainer, state, source):
    check_mapping(OWNER, "", state, STATE_KEYS)
    saved, mine = check_mapping(OWNER, "setup", state["setup"]), data_setup(trainer)
    for key, value in mine.items():
        if not (type(saved.get(key)) is type(value) and saved.get(key) == value):
            raise CheckpointError(f"{source} was written with {key}={saved.get(key)!r}, but this Trainer "
                                  f"has {key}={value!r}; resume with the same data and settings")
    progress = check_mapping(OWNER, "progress", state["progress"], ("epochs_done", "steps_done", "elapsed"))
    epochs = check_count(OWNER, "progress/epochs_done", progress["epochs_done"])
    done = check_count(OWNER, "progress/steps_done", progress["steps_done"])
    check_real(OWNER, "progress/elapsed", progress["elapsed"], low=0.0)
    per_epoch = trainer.steps_per_epoch
    if done > trainer.total_steps:
        raise CheckpointError(f"{source} is after iteration {done} (epoch {epochs}), past the end of this "
                              f"Trainer's run ({trainer.total_steps} iterations)")
    if done % per_epoch and done != trainer.total_steps:
        raise CheckpointError(f"{source} ended inside a pass (iteration {done}, passes of {per_epoch}); it "
                              f"cannot be continued to {trainer.total_steps} iterations, only to its own end")
    if epochs != -(-done // per_epoch):
        raise StateError(OWNER, "progress/epochs_done", f"must be {-(-done // per_epoch)}, the passes that "
                         f"progress/steps_done={done} makes at {per_epoch} iterations per pass: got {epochs}")
    _check_history(state["history"], epochs, done, per_epoch)
    model = trainer.model
    _check_model(model, check_mapping(OWNER, "model", state["model"]), source)
    if hasattr(model, "state"):
        check_like(OWNER, "layer_state", state["layer_state"], model.state())
    elif state["layer_state"] is not None:
        raise StateError(OWNER, "layer_state", f"must be None (this model keeps no layer state): "
                         f"got {shown(state['layer_state'])}")
    check = getattr(trainer.optimizer, "check_state_dict", None)
    if check is not None:
        _part("optimizer", check, state["optimizer"], model.params)
    batches = trainer.train_batches
    if hasattr(batches, "state_dict"):
        check_like(OWNER, "train_data", state["train_data"], batches.state_dict())
    elif state["train_data"] is not None:
        raise StateError(OWNER, "train_data", f"must be None (this batch source keeps no state): "
                         f"got {shown(state['train_data'])}")
    _check_index(state["train_eval_index"], trainer)
    named = callback_states(trainer.callbacks)
    saved = check_mapping(OWNER, "callbacks", state["callbacks"], list(named), exact=True)
    for name, cb in named.items():
        _part(f"callbacks/{name}", cb.check_state_dict, saved[name], trainer)


def _check_model(model, arrays, source):
    """The model's arrays are the model's to check (names, shapes, values), all before it
    changes any: apply_state loads them first. Arrays of other names or shapes are refused
    here already, in the model's own words, before any other part is looked at (whose
    shapes follow the model's)."""
    mine = model.state_dict()
    if sorted(arrays) == sorted(mine) and all(np.shape(arrays[k]) == a.shape for k, a in mine.items()):
        return
    try:
        model.load_state_dict(arrays, source=source)  # refuses, changing nothing
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    raise CheckpointError(f"{source}: model does not fit {type(model).__name__}, whose load_state_dict "
                          f"took it anyway: got the keys {sorted(arrays)}")


def _check_history(history, epochs, steps, per_epoch):
    """The history of a run after ``epochs`` passes and ``steps`` updates (see check_state)."""
    required = ("epoch", "iter_loss", *History.SCALARS) + (("iteration",) if epochs else ())
    check_mapping(OWNER, "history", history, required)
    expected = {"epoch": list(range(1, epochs + 1)),
                "iteration": [min(e * per_epoch, steps) for e in range(1, epochs + 1)]}
    for key, want in expected.items():
        got = history.get(key, [])
        if not (isinstance(got, list) and len(got) == len(want) and all(
                type(g) is int and g == w for g, w in zip(got, want))):
            span = f"[{want[0]}, ..., {want[-1]}]" if len(want) > 2 else str(want)
            raise StateError(OWNER, f"history/{key}", f"must be {span}, one entry per epoch done (progress/"
                             f"epochs_done={epochs}, steps_done={steps}): got {shown(got)}")
    for key, values in history.items():
        if key in History.SCALARS or key == "iter_loss":
            continue
        if not isinstance(values, list) or len(values) != epochs:
            size = f"{len(values)} values: " if isinstance(values, list) else ""
            raise StateError(OWNER, f"history/{key}", f"must be a list of {epochs} values, one per epoch done: "
                             f"got {size}{shown(values)}")
    for i, value in enumerate(history.get("time", [])):
        check_real(OWNER, f"history/time/{i}", value, low=0.0)
    losses = history["iter_loss"]
    if isinstance(losses, list):
        try:
            losses = np.array(losses, dtype=np.float64)
        except (TypeError, ValueError):
            raise StateError(OWNER, "history/iter_loss", f"must be a list of numbers: got {shown(losses)}") from None
    check_array(OWNER, "history/iter_loss", losses)
    if losses.shape != (steps,):
        raise StateError(OWNER, "history/iter_loss", f"must hold one loss per update, {steps} "
                         f"(progress/steps_done): got shape {losses.shape}")
    ipe = history["iterations_per_epoch"]
    if ipe is not None and (type(ipe) is not int or ipe != per_epoch):
        raise StateError(OWNER, "history/iterations_per_epoch", f"must be None or this run's {per_epoch}: got {ipe!r}")
    if history["monitor"] is not None and not isinstance(history["monitor"], str):
        raise StateError(OWNER, "history/monitor", f"must be None or a logged key: got {shown(history['monitor'])}")
    if history["best_epoch"] is not None and (type(history["best_epoch"]) is not int
                                              or not 1 <= history["best_epoch"] <= epochs):
        raise StateError(OWNER, "history/best_epoch", f"must be None or an epoch done, 1 to {epochs}: "
                         f"got {shown(history['best_epoch'])}")
    score = history["best_score"]
    if score is not None and (isinstance(score, bool) or not isinstance(score, numbers.Real)):
        raise StateError(OWNER, "history/best_score", f"must be None or a number: got {shown(score)}")
    if history["stopped_epoch"] is not None and (type(history["stopped_epoch"]) is not int
                                                 or history["stopped_epoch"] != epochs or not epochs):
        raise StateError(OWNER, "history/stopped_epoch", f"must be None or the last epoch done, {epochs}: "
                         f"got {shown(history['stopped_epoch'])}")
    if not isinstance(history["diverged"], bool):
        raise StateError(OWNER, "history/diverged", f"must be True or False: got {shown(history['diverged'])}")


def _check_index(index, trainer):
    """The training subset evaluated after each epoch: None where the Trainer has none, else
    as many sorted, distinct sample indices as the Trainer's own."""
    mine = trainer.train_eval_index
    if mine is None:
        if index is not None:
            raise StateError(OWNER, "train_eval_index", f"must be None (this Trainer measures the whole "
                             f"training set): got {shown(index)}")
        return
    n = trainer.train_batches.n_samples
    ok = (isinstance(index, np.ndarray) and index.dtype.kind in "iu" and index.shape == mine.shape
          and (index.size == 0 or (index.min() >= 0 and index.max() < n and (np.diff(index) > 0).all())))
    if not ok:
        got = shown(index) if not isinstance(index, np.ndarray) or index.dtype.kind not in "iu" else \
            f"{shown(index)}, from {index.min()} to {index.max()}" if index.size else shown(index)
        raise StateError(OWNER, "train_eval_index", f"must be {mine.size} distinct sample indices in [0, {n}), "
                         f"in increasing order: got {got}")


def trainer_state(trainer):
    """The whole state of ``trainer`` (see the module docstring): JSON values and array copies."""
    model, source = trainer.model, trainer.train_batches
    return {
        "setup": data_setup(trainer),
        "progress": {"epochs_done": trainer.epochs_done, "steps_done": trainer.steps_done,
                     "elapsed": trainer._elapsed},
        "history": trainer.history.to_state(),
        "model": {k: np.array(v, copy=True) for k, v in model.state_dict().items()},
        "layer_state": model.state() if hasattr(model, "state") else None,
        "optimizer": trainer.optimizer.state_dict(),
        "train_data": source.state_dict() if hasattr(source, "state_dict") else None,
        "train_eval_index": trainer.train_eval_index,
        "callbacks": {name: cb.state_dict() for name, cb in callback_states(trainer.callbacks).items()},
    }


def apply_state(trainer, state, source):
    """Put a :func:`trainer_state` that :func:`check_state` passed back into ``trainer``, its
    model, optimizer, batch source and callbacks. The model comes first: it checks every
    key, shape and value before it changes anything, and nothing else can fail after it."""
    model = trainer.model
    try:
        model.load_state_dict(state["model"], source=source)
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    if state["layer_state"] is not None:
        model.set_state(state["layer_state"])
    trainer.optimizer.load_state_dict(state["optimizer"], params=model.params)
    if state["train_data"] is not None:
        trainer.train_batches.load_state_dict(state["train_data"])
    index = state["train_eval_index"]
    trainer.train_eval_index = None if index is None else np.asarray(index)
    for name, cb in callback_states(trainer.callbacks).items():
        cb.load_state_dict(state["callbacks"][name])
    trainer.history = History.from_state(state["history"])
    trainer.epochs_done = int(state["progress"]["epochs_done"])
    trainer.steps_done = int(state["progress"]["steps_done"])
    for cb in trainer.callbacks:
        if isinstance(cb, Checkpoint):
            cb.epoch = trainer.epochs_done  # the epoch the file it continues holds
