"""Where a sweep keeps its finished runs: one SQLite file, one row per run, one commit per row.

A run is identified by :func:`config_key`, a hash of its configuration (seed included), so
the same configuration always finds the same row: a sweep started again skips what is there.
Only the process driving the sweep writes to the file (workers return their results to it),
so the file can live on a local disk however many machines run the training.

The file is in SQLite's write-ahead-log mode: a row whose commit returned survives the
driver being killed (SIGKILL, Ctrl-C); only a power failure can lose the last commits.
"""

import datetime
import hashlib
import json
import sqlite3
from pathlib import Path

#: the columns of ``runs``, in order; :meth:`SweepStore.put` takes a dict with these keys
COLUMNS = ("key", "config", "seed", "status", "metrics", "history", "error", "traceback",
           "wall_time", "worker", "attempts", "finished")

STATUSES = ("done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key       TEXT PRIMARY KEY,   -- config_key(config)
    config    TEXT NOT NULL,      -- the configuration as canonical JSON
    seed      INTEGER,
    status    TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    metrics   TEXT NOT NULL,      -- JSON object: final metrics ({} when failed)
    history   TEXT,               -- JSON object: the training history (partial when failed)
    error     TEXT,               -- 'ExceptionType: message' when failed
    traceback TEXT,
    wall_time REAL,               -- seconds the run took on its worker
    worker    TEXT,               -- 'host:pid' of the process that ran it
    attempts  INTEGER NOT NULL,   -- 1, or more when worker processes died under it
    finished  TEXT NOT NULL       -- UTC time of the commit, ISO 8601
)
"""

_JSON_COLUMNS = ("config", "metrics", "history")


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


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class SweepStoreError(ValueError):
    """A sweep's results file that cannot be used as it is (damaged, not a sweep store,
    read-only with runs still to do); the message names the file and what to do, and the
    file is left as it was."""


class SweepStore:
    """The SQLite file of a sweep's finished runs (``status`` 'done' or 'failed').

    Parameters
    ----------
    path : path of the file; it and its folder are created if missing.

    A record is a dict with the keys :data:`COLUMNS`; ``config``, ``metrics`` and
    ``history`` are plain objects (stored as JSON; NaN and infinite losses survive).
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        # WAL: a commit is one append, and a committed row survives a killed process.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def put(self, record):
        """Insert (or replace) one run and commit it before returning."""
        missing = set(COLUMNS) - set(record) - {"finished"}
        if missing:
            raise ValueError(f"SweepStore.put: the record lacks {sorted(missing)}")
        if record["status"] not in STATUSES:
            raise ValueError(f"SweepStore.put: status must be one of {STATUSES}, got {record['status']!r}")
        row = dict(record)
        row.setdefault("finished", _utc_now())
        row["config"] = canonical_json(row["config"])
        row["metrics"] = json.dumps(row["metrics"] or {})
        row["history"] = None if row["history"] is None else json.dumps(row["history"])
        self._db.execute(
            f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [row[c] for c in COLUMNS])

    def statuses(self):
        """``{key: status}`` of every run in the file."""
        return dict(self._db.execute("SELECT key, status FROM runs"))

    def get(self, key):
        """The record of ``key``, or None when that run is not in the file."""
        rows = self._select("WHERE key = ?", (key,))
        return rows[0] if rows else None

    def records(self, keys=None):
        """Records in the order of ``keys`` (those not in the file left out), or all of them
        in the order they finished."""
        if keys is None:
            return self._select("ORDER BY finished, rowid")
        found = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):  # SQLite limits the number of ? in one query
            chunk = keys[i:i + 500]
            for record in self._select(f"WHERE key IN ({', '.join('?' * len(chunk))})", chunk):
                found[record["key"]] = record
        return [found[k] for k in keys if k in found]

    def _select(self, where, args=()):
        cursor = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs {where}", args)
        records = []
        for row in cursor:
            record = dict(zip(COLUMNS, row))
            for column in _JSON_COLUMNS:
                if record[column] is not None:
                    record[column] = json.loads(record[column])
            records.append(record)
        return records

    def __len__(self):
        return self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def close(self):
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"SweepStore({str(self.path)!r})"
