"""The files a script writes: its figures, and the numbers behind them as JSON and CSV.

Each is written atomically (:func:`bprop.networks.files.atomic_write`: a reader never sees
half a file, and a Ctrl-C while writing leaves the previous one), and each writer prints
where it wrote.
"""

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from bprop.networks.files import atomic_write
from bprop.optim.sweep_execute import plain

from exits import say


def output_dir(path):
    """Create ``path`` (and its parents) if needed; return it as a ``Path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wrote(path):
    say(f"wrote {path}")
    return path


def save_figure(fig, out, name):
    """Save ``fig`` as ``out/name`` (PNG), atomically; print the path, return it."""
    path = output_dir(out) / name
    with atomic_write(path) as (f, _):
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    return _wrote(path)


def _path_text(obj):
    # json.dumps calls this for what it cannot write itself
    if isinstance(obj, Path):
        return os.fspath(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _jsonable(obj):
    """``obj`` as strict JSON holds it: ``plain`` data (NumPy arrays and scalars as lists and
    numbers), paths as text, and NaN and inf, which strict JSON has no word for, as None."""
    text = json.dumps(plain(obj), default=_path_text)
    return json.loads(text, parse_constant=lambda name: None)  # NaN, Infinity, -Infinity


def _dumps(obj, depth=0):
    # Indented like json.dump(indent=1), but a list of numbers stays on one line.
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(inner + _dumps(v, depth + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def save_json(data, out, name):
    """Write ``data`` as strict JSON to ``out/name`` (lists of numbers on one line, NaN and
    inf as null), atomically; print the path, return it."""
    path = output_dir(out) / name
    with atomic_write(path) as (f, _):
        f.write((_dumps(_jsonable(data)) + "\n").encode())
    return _wrote(path)


def save_csv(header, rows, out, name):
    """Write a header row and the ``rows`` to ``out/name`` as CSV (NaN and inf as empty
    cells), atomically; print the path, return it."""
    path = output_dir(out) / name
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(_jsonable(rows))
    with atomic_write(path) as (f, _):
        f.write(text.getvalue().encode())
    return _wrote(path)


def format_table(header, rows):
    """Rows of values as aligned text columns (floats with 4 decimals)."""
    def cell(v):
        return f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)

    cells = [[str(h) for h in header]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
