"""Where a sweep keeps its finished runs: one SQLite file, one row per run, one commit per row.

A run is identified by :func:`~bprop.optim.sweep_records.config_key`, a hash of its
configuration (seed included), so the same configuration always finds the same row: a sweep
started again skips what is there. Only the process driving the sweep writes to the file
(workers return their results to it), so the file can live on a local disk however many
machines run the training.

The file is in SQLite's write-ahead-log mode: a row whose commit returned survives the
driver being killed (SIGKILL, Ctrl-C); only a power failure can lose the last commits.

What the file holds is checked before it is used, and nothing is written to a file that
fails a check: opening runs SQLite's ``quick_check`` and looks for the table ``runs``
with its columns; each row read is checked against what :meth:`SweepStore.put` accepts
(JSON where JSON belongs, a known status, a finished run's history: see
:mod:`optim.sweep_records`). A file that fails raises :class:`SweepStoreError`, one line
naming the file and what to do.
"""

import datetime
import json
import sqlite3
from pathlib import Path

from .sweep_records import COLUMNS, STATUSES, canonical_json, record_problem, short_repr

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


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class SweepStoreError(ValueError):
    """A sweep's results file that cannot be used as it is (damaged, not a sweep store,
    read-only with runs still to do); the message names the file and what to do, and the
    file is left as it was."""


#: what to do with a store whose content cannot be trusted
MOVE_ASIDE = "move the file aside (rename it) and the sweep starts again from nothing"


def damaged_row_error(path, key, status, problem):
    """The :class:`SweepStoreError` of a row of ``path`` that cannot be used: it names the
    file, the run and the ``problem``; a failed run's row can also be replaced by
    executing that run again."""
    retry = ("execute the failed runs again (retry_failed=True, --retry-failed) to replace it, or "
             if status == "failed" else "")
    return SweepStoreError(f"sweep store {path} is damaged: run {key!r} {problem}; {retry}{MOVE_ASIDE}")


class SweepStore:
    """The SQLite file of a sweep's finished runs (``status`` 'done' or 'failed').

    Parameters
    ----------
    path : path of the file; it and its folder are created if missing (an empty file is
        taken as a new store).

    A record is a dict with the keys :data:`COLUMNS`; ``config``, ``metrics`` and
    ``history`` are plain objects (stored as JSON; NaN and infinite losses survive).
    Use it as a context manager, or call :meth:`close`.

    Raises
    ------
    SweepStoreError when the file is a folder, cannot be opened, is not an SQLite file, is
    damaged (``quick_check`` fails) or is another program's SQLite file (no table ``runs``
    with the :data:`COLUMNS`); nothing is written to it then. Reading a row that fails
    :func:`record_problem` raises it too.
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_dir():
            raise SweepStoreError(f"sweep store {self.path} is a folder; give the path of a file")
        new = not self.path.exists() or self.path.stat().st_size == 0
        try:
            if new:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise SweepStoreError(f"sweep store {self.path} cannot be opened: {err}; check the "
                                  f"permissions of the file and its folder") from None
        try:
            if not new:
                self._check_file()  # before anything below may write to it
            # WAL: a commit is one append, and a committed row survives a killed process.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except BaseException as err:
            self._db.close()
            if isinstance(err, sqlite3.Error):
                raise SweepStoreError(f"sweep store {self.path} cannot be opened: {err}") from None
            raise

    def _check_file(self):
        """Raise SweepStoreError unless the file is an intact SQLite file whose table
        ``runs`` (if it has tables at all) has the :data:`COLUMNS`. Reads only."""
        try:
            verdict = [row[0] for row in self._db.execute("PRAGMA quick_check")]
            if verdict != ["ok"]:
                problem = f"SQLite's quick_check says: {verdict[0]}"
            else:
                tables = {name for (name,) in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
                problem = None
                if tables and "runs" not in tables:
                    problem = f"it has no table 'runs' (its tables: {', '.join(sorted(tables))})"
                elif "runs" in tables and not set(COLUMNS) <= columns:
                    problem = f"its table 'runs' lacks the columns {sorted(set(COLUMNS) - columns)}"
        except sqlite3.OperationalError as err:  # locked, unreadable: not a fault of the content
            raise SweepStoreError(f"sweep store {self.path} cannot be read: {err}") from None
        except sqlite3.DatabaseError as err:  # not an SQLite file, or a damaged one
            problem = str(err)
        if problem is not None:
            raise SweepStoreError(f"sweep store {self.path} is damaged or not a sweep store "
                                  f"({problem}); {MOVE_ASIDE}")

    def check_writable(self, why):
        """Raise SweepStoreError unless a run can be committed to the file now; ``why`` (for
        example "3 runs are still to do") goes in the message. Writes nothing: the test
        write is rolled back."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                self._db.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as err:
            if getattr(err, "sqlite_errorname", None) == "SQLITE_BUSY":
                advice = "another process is writing to it (a sweep on the same file?); let it finish"
            else:
                advice = "make it writable (chmod u+w), or copy it to a folder you can write to and use the copy"
            raise SweepStoreError(f"sweep store {self.path} cannot be written ({err}), and {why}; {advice}") from None

    def put(self, record):
        """Insert (or replace) one run and commit it before returning.

        Raises ValueError for a record that lacks a column, has a configuration that is
        not JSON data, or fails :func:`record_problem`.
        """
        missing = set(COLUMNS) - set(record) - {"finished"}
        if missing:
            raise ValueError(f"SweepStore.put: the record lacks {sorted(missing)}")
        row = dict(record)
        row.setdefault("finished", _utc_now())
        if row["metrics"] is None:
            row["metrics"] = {}
        problem = record_problem(row)
        if problem is not None:
            raise ValueError(f"SweepStore.put: the record of run {row['key']!r} {problem}")
        row["config"] = canonical_json(row["config"])
        row["metrics"] = json.dumps(row["metrics"])
        row["history"] = None if row["history"] is None else json.dumps(row["history"])
        self._db.execute(
            f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [row[c] for c in COLUMNS])

    def statuses(self):
        """``{key: status}`` of every run in the file."""
        statuses = {}
        for key, status in self._db.execute("SELECT key, status FROM runs").fetchall():
            if not isinstance(key, str) or not key:
                raise damaged_row_error(self.path, key, None, "has a key that is not text")
            if status not in STATUSES:
                raise damaged_row_error(self.path, key, None,
                                        f"has the status {short_repr(status)}, not one of {STATUSES}")
            statuses[key] = status
        return statuses

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
        # fetched in full first: a statement left open would keep the file open past close()
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs {where}", args).fetchall()
        return [self._decode(row) for row in rows]

    def _decode(self, row):
        """The record of one row, its JSON columns decoded; SweepStoreError if it is unfit."""
        record = dict(zip(COLUMNS, row))
        for column in _JSON_COLUMNS:
            if record[column] is not None:
                try:
                    record[column] = json.loads(record[column])
                except (TypeError, ValueError) as err:
                    raise damaged_row_error(self.path, record["key"], record["status"],
                                            f"has a {column} that is not JSON ({err})") from None
        problem = record_problem(record)
        if problem is not None:
            raise damaged_row_error(self.path, record["key"], record["status"], problem)
        return record

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
