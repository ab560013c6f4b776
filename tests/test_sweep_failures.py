"""run_sweep on a store or a scheduler it cannot use: a damaged or edited ``sweep.sqlite``,
one that cannot be written while runs are still to do, a scheduler address where nothing
listens. Each fails before any run starts with one error that names the file (or the
address) and what to do, and leaves the disk as it was: the store byte for byte, no new file.

Each test writes its store itself through :class:`SweepStore` (no training), then damages it.
"""

import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bprop.optim import SweepStore, config_key, mlp_config, run_sweep, train_mlp
from bprop.optim.sweep_store import SweepStoreError
from bprop.optim.sweep_workers import SchedulerUnreachableError

TIMEOUT = 60  # seconds: the one run executed here (retry_failed) takes about one


def tiny_config(seed):
    return mlp_config(seed, dataset="spiral", hidden=[4], optimizer="sgd", lr=0.5, batch_size=30, epochs=1)


def finished_record(config, status="done"):
    """A record as run_sweep writes it, for ``config`` (its key is the hash of ``config``)."""
    failed = status == "failed"
    return {"key": config_key(config), "config": config, "seed": config["seed"], "status": status,
            "metrics": {} if failed else {"train_loss": 0.5, "train_acc": 0.75},
            "history": {"iter_loss": [1.0, 0.5]},
            "error": "TrainingDivergedError: the loss is nan" if failed else None,
            "traceback": None, "wall_time": 0.25, "worker": "host:1", "attempts": 1}


@pytest.fixture
def store_with_a_run_to_do(tmp_path):
    """``sweep.sqlite`` holding seeds 0 (done) and 1 (failed); the sweep's configurations
    (seeds 0, 1 and 2: one run still to do) and its path."""
    configs = [tiny_config(seed) for seed in range(3)]
    db = tmp_path / "out" / "sweep.sqlite"
    with SweepStore(db) as store:
        store.put(finished_record(configs[0]))
        store.put(finished_record(configs[1], status="failed"))
    return db, configs


def snapshot(db):
    """The store's bytes and the names in its folder."""
    return hashlib.sha256(db.read_bytes()).hexdigest(), sorted(p.name for p in db.parent.iterdir())


def edit(db, sql, *args):
    with sqlite3.connect(db) as connection:
        connection.execute(sql, args)
    connection.close()


def refuse(db, configs, **options):
    """run_sweep's SweepStoreError on ``db``, checking that it names the file, is one line,
    and changed nothing on disk."""
    before = snapshot(db)
    with pytest.raises(SweepStoreError) as info:
        run_sweep(train_mlp, configs, db, workers=1, timeout=TIMEOUT, **options)
    message = str(info.value)
    assert str(db) in message and "\n" not in message, message
    assert snapshot(db) == before
    return message


# --- a damaged file ---------------------------------------------------------------------------
def truncate_to_half(db):
    os.truncate(db, db.stat().st_size // 2)


def random_bytes(db):
    db.write_bytes(os.urandom(db.stat().st_size))


def text_file(db):
    db.write_text("key,config,status\n0,{},done\n")


def another_programs_database(db):
    db.unlink()
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE measurements (t REAL, value REAL)")
    connection.close()


@pytest.mark.parametrize("damage, words", [
    (truncate_to_half, "database disk image is malformed"),
    (random_bytes, "file is not a database"),
    (text_file, "file is not a database"),
    (another_programs_database, "it has no table 'runs' (its tables: measurements)"),
])
def test_damaged_store_is_refused_before_any_run_and_left_as_it_was(store_with_a_run_to_do, damage, words):
    db, configs = store_with_a_run_to_do
    damage(db)
    message = refuse(db, configs)
    assert message == (f"sweep store {db} is damaged or not a sweep store ({words}); move the file "
                       f"aside (rename it) and the sweep starts again from nothing")


# --- rows edited into nonsense ------------------------------------------------------------------
@pytest.mark.parametrize("sql, words", [
    ("UPDATE runs SET config = '{\"seed\": 0, lr: 0.5' WHERE seed = 0", "has a config that is not JSON"),
    ("UPDATE runs SET config = json_remove(config, '$.optimizer') WHERE seed = 0",
     "holds another configuration than the one its key names (was it edited?)"),
    ("UPDATE runs SET history = NULL WHERE seed = 0", "has no history (NULL), which every finished run has"),
    ("UPDATE runs SET metrics = '[0.5]' WHERE seed = 0", "has metrics that are not a JSON object: [0.5]"),
    ("UPDATE runs SET metrics = '{\"train_acc\": \"high\"}' WHERE seed = 0",
     "has a metric 'train_acc' that is not a number: 'high'"),
    ("UPDATE runs SET attempts = 0 WHERE seed = 0", "has attempts that are not an integer >= 1: 0"),
])
def test_finished_run_edited_into_nonsense_is_refused_naming_the_run(store_with_a_run_to_do, sql, words):
    db, configs = store_with_a_run_to_do
    edit(db, sql)
    message = refuse(db, configs)
    assert message.startswith(f"sweep store {db} is damaged: run {config_key(configs[0])!r} {words}"), message
    assert message.endswith("; move the file aside (rename it) and the sweep starts again from nothing")
    assert "retry" not in message  # executing failed runs again would not replace a finished one


def test_status_edited_past_the_schemas_check_is_refused(store_with_a_run_to_do):
    db, configs = store_with_a_run_to_do
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA ignore_check_constraints = ON")  # the schema allows no such status
        connection.execute("UPDATE runs SET status = 'great' WHERE seed = 0")
    connection.close()
    message = refuse(db, configs)
    assert message.startswith(f"sweep store {db} is damaged or not a sweep store (SQLite's quick_check says: "
                              f"CHECK constraint failed in runs); move the file aside"), message


def test_failed_run_edited_into_nonsense_is_refused_and_replaced_by_retry_failed(store_with_a_run_to_do):
    db, configs = store_with_a_run_to_do
    key = config_key(configs[1])
    edit(db, "UPDATE runs SET error = NULL, history = '{\"iter_loss\": [1.0,' WHERE key = ?", key)
    message = refuse(db, configs)
    assert message.startswith(f"sweep store {db} is damaged: run {key!r} has a history that is not JSON"), message
    assert "; execute the failed runs again (retry_failed=True, --retry-failed) to replace it, or move " \
           "the file aside (rename it)" in message

    result = run_sweep(train_mlp, configs, db, workers=1, retry_failed=True, timeout=TIMEOUT)
    assert (result.executed, result.skipped) == (2, 1)  # the damaged failed run and the one to do
    assert [r["status"] for r in result.runs] == ["done", "done", "done"]


# --- a store that cannot be written ------------------------------------------------------------
SWEEP_IN_A_CHILD = """
import json, os, sys
from bprop.optim import run_sweep, train_mlp
db, configs = sys.argv[1], json.loads(sys.argv[2])
writable = os.access(db, os.W_OK)
try:
    run_sweep(train_mlp, configs, db, workers=1, timeout=60)
    print(json.dumps({"writable": writable, "error": None}))
except Exception as err:
    print(json.dumps({"writable": writable, "error": type(err).__name__, "message": str(err)}))
"""


def drop_write_override():
    """Run in the child before exec: root's capability to write past file permissions goes
    from its bounding set (prctl PR_CAPBSET_DROP), so that a read-only file is read-only."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def sweep_as_a_user_who_cannot_write(db, configs):
    """run_sweep in a child process for which ``db`` (mode 0444) is read-only: the test's
    user, or root without the capability that ignores file permissions."""
    preexec = None
    if os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("root writes into a read-only file anyway, and only Linux lets it drop that right here")
        preexec = drop_write_override
    try:
        child = subprocess.run([sys.executable, "-c", SWEEP_IN_A_CHILD, str(db), json.dumps(configs)],
                               capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=preexec)
    except subprocess.SubprocessError as err:  # prctl refused: no CAP_SETPCAP in this container
        pytest.skip(f"cannot run a child that respects file permissions as root: {err}")
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.splitlines()[-1])


def test_read_only_store_with_runs_to_do_is_refused_before_the_first_run(store_with_a_run_to_do):
    db, configs = store_with_a_run_to_do
    db.chmod(0o444)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    outcome = sweep_as_a_user_who_cannot_write(db, configs)
    assert outcome["writable"] is False  # the child really could not write the file
    assert outcome["error"] == "SweepStoreError", outcome
    assert outcome["message"] == (
        f"sweep store {db} cannot be written (attempt to write a readonly database), and 1 of the "
        f"sweep's 3 runs are still to do; make it writable (chmod u+w), or copy it to a folder you "
        f"can write to and use the copy")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # no run was committed
    # SQLite's reader files of a write-ahead-log database are all that may appear beside it
    assert {p.name for p in db.parent.iterdir()} <= {db.name, db.name + "-wal", db.name + "-shm"}


def test_read_only_store_with_nothing_to_do_is_read(store_with_a_run_to_do):
    db, configs = store_with_a_run_to_do
    db.chmod(0o444)
    outcome = sweep_as_a_user_who_cannot_write(db, configs[:2])
    assert outcome == {"writable": False, "error": None}


# --- a scheduler that does not answer -----------------------------------------------------------
@pytest.fixture
def silent_address():
    """A tcp:// address on this machine where nothing listens."""
    pytest.importorskip("distributed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def test_unreachable_scheduler_fails_in_its_connect_timeout_and_creates_no_store(tmp_path, silent_address):
    db = tmp_path / "out" / "sweep.sqlite"
    start = time.monotonic()
    with pytest.raises(SchedulerUnreachableError) as info:
        run_sweep(train_mlp, [tiny_config(0)], db, scheduler=silent_address, connect_timeout=1)
    assert time.monotonic() - start < 10
    assert str(info.value) == (f"no Dask scheduler answered at {silent_address} within 1 s; check the address, "
                               f"and that `dask scheduler` runs there and is reachable from here")
    assert list(tmp_path.iterdir()) == []  # neither the store nor its folder


def test_unreachable_scheduler_leaves_an_existing_store_as_it_was(store_with_a_run_to_do, silent_address):
    db, configs = store_with_a_run_to_do
    before = snapshot(db)
    with pytest.raises(SchedulerUnreachableError, match=f"no Dask scheduler answered at {silent_address}"):
        run_sweep(train_mlp, configs, db, scheduler=silent_address, connect_timeout=0.5)
    assert snapshot(db) == before


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "30", None])
def test_run_sweep_refuses_a_bad_connect_timeout(tmp_path, bad):
    with pytest.raises(ValueError, match="run_sweep: connect_timeout must be a finite number > 0"):
        run_sweep(train_mlp, [tiny_config(0)], tmp_path / "s.sqlite", connect_timeout=bad)
    assert list(tmp_path.iterdir()) == []


# --- what the store itself accepts ---------------------------------------------------------------
def test_store_put_refuses_what_it_would_refuse_to_read(tmp_path):
    config = tiny_config(0)
    with SweepStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match="has no history"):
            store.put(dict(finished_record(config), history=None))
        with pytest.raises(ValueError, match="is a failed run without its error message"):
            store.put(dict(finished_record(config, status="failed"), error=None))
        assert len(store) == 0


def test_folder_in_place_of_the_store_is_refused(tmp_path):
    with pytest.raises(SweepStoreError, match=re.escape(f"sweep store {tmp_path} is a folder")):
        run_sweep(train_mlp, [tiny_config(0)], tmp_path, workers=1)


def test_empty_file_is_a_new_store(tmp_path):
    db = tmp_path / "sweep.sqlite"
    db.touch()
    with SweepStore(db) as store:
        store.put(finished_record(tiny_config(0)))
    with SweepStore(db) as store:
        assert store.statuses() == {config_key(tiny_config(0)): "done"}
