"""What a sweep keeps of a run, and the key it keeps it under.

A run is identified by :func:`config_key`, a hash of its configuration (seed included), so
the same configuration always finds the same record. A record is a dict with the
:data:`COLUMNS`; :func:`record_problem` says what makes one unfit to be kept, and
:func:`metrics_problem` what makes a run's final metrics unfit.
"""

import hashlib
import json
import numbers

#: the columns of a sweep store's table ``runs``, in order; a record is a dict with these keys
COLUMNS = ("key", "config", "seed", "status", "metrics", "history", "error", "traceback",
           "wall_time", "worker", "attempts", "finished")

STATUSES = ("done", "failed")


def canonical_json(config):
    """``config`` as JSON with sorted keys and no spaces: equal configurations give equal text.

    Raises ValueError if it holds anything but dicts with string keys, lists, strings,
    finite numbers, booleans and None.
    """
    if not isinstance(config, dict):
        raise ValueError(f"a configuration must be a dict, got {type(config).__name__}: {config!r}")
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"a configuration must be plain JSON data (dicts with string keys, "
                         f"lists, strings, finite numbers, booleans, None): {err}; got {config!r}") from None


def config_key(config):
    """A stable 16-hex-digit key of ``config``: the start of the SHA-256 of its canonical JSON.

    Independent of key order and of the Python process; ``1`` and ``1.0`` are different
    values (as in JSON), and a tuple is the same as a list.
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def metrics_problem(metrics):
    """What makes ``metrics`` unfit as a run's final metrics (a dict of numbers or None),
    in words ("has ..."), or None when they are fit."""
    if not isinstance(metrics, dict):
        return f"has metrics that are not a JSON object: {short_repr(metrics)}"
    for name, value in metrics.items():
        if value is not None and not _is_number(value):
            return f"has a metric {name!r} that is not a number: {short_repr(value)}"
    return None


def record_problem(record):
    """What makes ``record`` (a dict with the :data:`COLUMNS`, JSON columns decoded) unfit
    for the store, in words ("has ..."), or None when it is fit.

    A record holds a string ``key``, a dict ``config``, a ``status`` of :data:`STATUSES`,
    ``metrics`` as ``{name: number or None}``, a ``history`` dict (None allowed only for a
    failed run), a failed run's ``error`` text, ``attempts`` >= 1, and text or None in
    ``traceback`` and ``worker``, a number >= 0 or None in ``wall_time``.
    """
    if not isinstance(record["key"], str) or not record["key"]:
        return f"has a key that is not text: {record['key']!r}"
    if not isinstance(record["config"], dict):
        return f"has a config that is not a JSON object: {short_repr(record['config'])}"
    status = record["status"]
    if status not in STATUSES:
        return f"has the status {short_repr(status)}, not one of {STATUSES}"
    problem = metrics_problem(record["metrics"])
    if problem is not None:
        return problem
    history = record["history"]
    if history is None and status == "done":
        return "has no history (NULL), which every finished run has"
    if history is not None and not isinstance(history, dict):
        return f"has a history that is not a JSON object: {short_repr(history)}"
    if status == "failed" and not (isinstance(record["error"], str) and record["error"]):
        return f"is a failed run without its error message: {short_repr(record['error'])}"
    for column in ("error", "traceback", "worker"):
        if record[column] is not None and not isinstance(record[column], str):
            return f"has a {column} that is not text: {short_repr(record[column])}"
    wall_time = record["wall_time"]
    if wall_time is not None and not (_is_number(wall_time) and wall_time >= 0):
        return f"has a wall_time that is not a number of seconds: {short_repr(wall_time)}"
    attempts = record["attempts"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        return f"has attempts that are not an integer >= 1: {short_repr(attempts)}"
    if not isinstance(record["finished"], str):
        return f"has a finished time that is not text: {short_repr(record['finished'])}"
    return None


def short_repr(value, limit=60):
    """``repr(value)``, cut to ``limit`` characters, for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."

