"""What a sweep returns: every run's record (:class:`SweepResult`), and the runs grouped by
configuration over seeds (:func:`summarize`)."""

import collections
import math

import numpy as np

from .sweep_records import canonical_json


class SweepResult:
    """What :func:`~bprop.optim.sweep.run_sweep` returns.

    Attributes
    ----------
    runs : list of records, one per configuration, in the order given (each a dict with
        the :data:`optim.sweep_records.COLUMNS`: ``key``, ``config``, ``seed``, ``status``,
        ``metrics``, ``history``, ``error``, ``traceback``, ``wall_time``, ``worker``,
        ``attempts``, ``finished``).
    executed : int, runs executed by this call.
    skipped : int, runs found already finished in the store.
    path : Path of the SQLite file.
    """

    def __init__(self, runs, executed, skipped, path):
        self.runs = runs
        self.executed = executed
        self.skipped = skipped
        self.path = path

    @property
    def done(self):
        """The records of the runs that finished."""
        return [r for r in self.runs if r["status"] == "done"]

    @property
    def failed(self):
        """The records of the runs that raised or whose workers kept dying."""
        return [r for r in self.runs if r["status"] == "failed"]

    def summary(self, metrics=None):
        """:func:`summarize` of these runs."""
        return summarize(self.runs, metrics)

    def __len__(self):
        return len(self.runs)

    def __repr__(self):
        return (f"SweepResult({len(self.runs)} runs: {len(self.done)} done, {len(self.failed)} failed; "
                f"{self.executed} executed now, {self.skipped} already in {str(self.path)!r})")


def summarize(records, metrics=None):
    """Group runs that differ only in their seed; mean, std, min and max of each metric.

    Parameters
    ----------
    records : run records (as in :attr:`SweepResult.runs`).
    metrics : names of the metrics to summarize; default: every metric the finished
        runs report.

    Returns
    -------
    list of dicts, one per configuration in the order first met: ``config`` (without
    ``seed``), ``seeds`` and ``keys`` (lists, one per run), ``runs``, ``failed`` (counts),
    and ``metrics``:
    ``{name: {'mean', 'std', 'min', 'max'}}`` over the finished runs (population std;
    NaN when none finished).
    """
    groups = collections.OrderedDict()
    for record in records:
        config = {k: v for k, v in record["config"].items() if k != "seed"}
        group = groups.setdefault(canonical_json(config), {"config": config, "records": []})
        group["records"].append(record)
    if metrics is None:
        metrics = []
        for record in records:
            metrics += [m for m in record["metrics"] if m not in metrics]
    summary = []
    for group in groups.values():
        done = [r for r in group["records"] if r["status"] == "done"]
        stats = {}
        for name in metrics:
            values = np.array([r["metrics"].get(name, math.nan) for r in done], dtype=float)
            values = values[~np.isnan(values)]
            stats[name] = ({"mean": float(values.mean()), "std": float(values.std()),
                            "min": float(values.min()), "max": float(values.max())}
                           if len(values) else dict.fromkeys(("mean", "std", "min", "max"), math.nan))
        summary.append({"config": group["config"], "seeds": [r["seed"] for r in group["records"]],
                        "keys": [r["key"] for r in group["records"]],
                        "runs": len(group["records"]), "failed": len(group["records"]) - len(done),
                        "metrics": stats})
    return summary
