"""CSVLogger: each epoch's logs as one row of a CSV file, as a Trainer callback.

One row per epoch, for a spreadsheet, pandas, a plotting script. The file survives a kill:
what the logger writes for an epoch is on disk before the Trainer writes that epoch's
checkpoint (the checkpoint callback comes last), and a run resumed from the checkpoint of
epoch ``k`` cuts the file back to its first ``k`` rows, taking back what the killed run
wrote after it. The resumed run thus leaves the record of a run never interrupted.
"""

import csv
import io
import numbers
import os

import numpy as np

from bprop.networks.files import atomic_write

from .callbacks import Callback
from .paths import check_path
from .state_checks import StateError

__all__ = ["CSVLogger", "format_value"]


def _fsync_folder(folder):
    """Make a rename in ``folder`` durable (POSIX; elsewhere a folder cannot be opened)."""
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def format_value(value):
    """A logged value as a CSV field: None -> ``''``; an integer as itself; any other real
    number as ``repr(float(value))``, which ``float()`` reads back to the same bits
    (``nan``, ``inf`` included); a bool as ``True``/``False``; anything else as ``str``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return str(value)


class CSVLogger(Callback):
    """Write each epoch's logs to the CSV file ``path``, one row per epoch.

    The header is written with the first row: the keys of the first epoch's logs, in
    their order (``epoch,iteration,train_loss,train_acc,val_loss,val_acc,lr,time``). A
    value is written by :func:`format_value`: floats as ``repr``, so that ``float(field)``
    gives back the logged number exactly, and None as an empty field.

    Keys that vary between epochs:

    * a column whose key a later epoch lacks gets an empty field in that row, as None does;
    * a key that first appears in a later epoch adds a column at the end: the file is
      rewritten (atomically) with the longer header, the earlier rows empty in it. A run
      never loses a value, nor stops, because its logs grew.

    Each row is flushed and fsynced as it is written, so a run killed at any moment leaves
    whole rows for every epoch its last checkpoint holds (a half-written row after them
    is possible, and is removed on resume).

    A run that starts afresh (``trainer.epochs_done == 0`` at ``on_fit_begin``) empties the
    file. A resumed run (``epochs_done == k > 0``) cuts the file back to its header and
    ``k`` rows, removing what the killed run wrote after its checkpoint, and appends from
    there: the finished file equals, byte for byte, that of the run never interrupted.
    :meth:`state_dict` holds the number of rows and the header at the checkpoint, against
    which the file is checked.

    Parameters
    ----------
    path : str or os.PathLike, the CSV file (its folder is created if missing).
    separator : one character between the fields (default ``','``); not a letter, digit,
        ``.``, ``+``, ``-``, quote, space or line break, so that numbers never need quoting.

    Attributes
    ----------
    columns : list of str, the header (empty before the first row).
    rows : int, the epochs written.

    Examples
    --------
    >>> Trainer(net, Adam(), (x, t), (xv, tv), epochs=10, callbacks=[CSVLogger("run/log.csv")],
    ...         checkpoint="run/ckpt.npz").fit()
    >>> import pandas as pd; pd.read_csv("run/log.csv")
    """

    def __init__(self, path, separator=","):
        self.path = check_path("CSVLogger", "path", path)
        if os.path.isdir(self.path):
            raise ValueError(f"CSVLogger: path must be a file, got the folder {self.path!r}")
        if not (isinstance(separator, str) and len(separator) == 1 and not separator.isalnum()
                and separator not in ".+-\"' \r\n"):
            raise ValueError(f"CSVLogger: separator must be one character other than a letter, digit, "
                             f"'.', '+', '-', quote, space or line break, got {separator!r}")
        self.separator = separator
        self.columns, self.rows = [], 0
        self._file = None

    # --- the hooks ----------------------------------------------------------------------
    def on_fit_begin(self, trainer):
        self.close()
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        done = int(trainer.epochs_done)
        if done == 0:
            self.columns, self.rows = [], 0
            self._file = open(self.path, "wb")  # a fresh run: the file starts empty
        else:
            self._cut_back(done)
            self._file = open(self.path, "ab")

    def on_epoch_end(self, trainer, epoch, logs):
        if self._file is None:
            raise RuntimeError("CSVLogger: on_epoch_end before on_fit_begin (the file is not open)")
        new = [key for key in logs if key not in self.columns]
        if new and self.rows:
            self._widen(self.columns + new)
        elif new:
            self.columns = list(logs)
            self._file.write(self._line(self.columns))
        self._file.write(self._line([format_value(logs.get(key)) for key in self.columns]))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.rows += 1

    def on_fit_end(self, trainer):
        self.close()

    def close(self):
        """Close the file (the Trainer does it at ``on_fit_end``); nothing if it is closed."""
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- resume -------------------------------------------------------------------------
    def state_dict(self):
        return {"rows": self.rows, "columns": list(self.columns)}

    def check_state_dict(self, state, trainer=None):
        """Raise a ValueError (a :class:`~bprop.optim.state_checks.StateError`) unless ``state``
        holds ``rows`` (an integer >= 0) and ``columns`` (a list of str). The file itself is
        checked against them when the resumed run begins."""
        rows, columns = (state.get("rows"), state.get("columns")) if isinstance(state, dict) else (None, None)
        if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 0:
            field, value = "rows", rows
        elif not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            field, value = "columns", columns
        else:
            return
        raise StateError("CSVLogger", field, f"must be {'an integer >= 0' if field == 'rows' else 'a list of str'}: "
                         f"got {value!r}", f"CSVLogger: a state must hold rows (an integer >= 0) and columns "
                         f"(a list of str), got {state!r}")

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.rows, self.columns = int(state["rows"]), list(state["columns"])

    def _cut_back(self, done):
        """Leave the header of the checkpoint and its ``done`` rows in the file."""
        where = f"CSVLogger: cannot resume after epoch {done} from {self.path}"
        if self.rows != done:
            raise ValueError(f"{where}: this logger's state holds {self.rows} rows (was it restored "
                             f"from the same checkpoint as the Trainer?)")
        if not os.path.isfile(self.path):
            raise ValueError(f"{where}: the file does not exist")
        records, end = self._read_records(done + 1)
        if len(records) < done + 1:
            raise ValueError(f"{where}: it holds {max(len(records) - 1, 0)} whole rows, not {done}")
        header, rows = records[0], records[1:]
        n = len(self.columns)
        if header[:n] != self.columns or any(any(row[n:]) for row in rows):
            raise ValueError(f"{where}: its header {header} is not the checkpoint's {self.columns}")
        if len(header) == n:
            with open(self.path, "r+b") as f:  # the common case: only rows after the checkpoint go
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
        else:
            # the killed run widened the header after the checkpoint: write the narrower one again
            self._rewrite([self.columns] + [row[:n] for row in rows])

    def _read_records(self, count):
        """The first ``count`` whole records of the file (fewer if it holds fewer), and the
        byte offset where the last of them ends. A record is whole when its line break is
        written; a line split inside a quoted field is followed across lines."""
        consumed = 0

        def lines(f):
            nonlocal consumed
            for line in f:
                if not line.endswith(b"\n"):
                    return  # a partial last line: a write the kill cut short
                consumed += len(line)
                yield line.decode("utf-8")

        records, end = [], 0
        with open(self.path, "rb") as f:
            reader = csv.reader(lines(f), delimiter=self.separator, strict=True)
            try:
                for record in reader:
                    records.append(record)
                    end = consumed
                    if len(records) == count:
                        break
            except csv.Error:
                pass  # an unfinished quoted field at the end: not a whole record
        return records, end

    # --- writing ------------------------------------------------------------------------
    def _line(self, fields):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.separator, lineterminator="\n").writerow(fields)
        return buffer.getvalue().encode("utf-8")

    def _widen(self, columns):
        """Rewrite the file with the header ``columns``: its rows get empty new fields."""
        self.close()
        records, _ = self._read_records(self.rows + 1)
        pad = [""] * (len(columns) - len(self.columns))
        self._rewrite([columns] + [row + pad for row in records[1:]])
        self.columns = list(columns)
        self._file = open(self.path, "ab")

    def _rewrite(self, records):
        """Replace the file by ``records``, atomically (a kill leaves the old file or this one)."""
        with atomic_write(self.path) as (f, _):
            for record in records:
                f.write(self._line(record))
        _fsync_folder(os.path.dirname(os.path.abspath(self.path)))

    def __repr__(self):
        return f"CSVLogger(path={self.path!r}, separator={self.separator!r})"
