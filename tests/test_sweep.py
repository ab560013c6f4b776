"""run_sweep with real worker processes: results equal one-by-one runs bit for bit, a killed
worker's run is executed again, a killed driver resumes, a diverging run is recorded as failed;
the SQLite store; scripts/sweep.py --quick.

The runs train small nets on the spiral (300 points), a fraction of a second each; every wait
is bounded (``run_sweep(timeout=...)``, subprocess timeouts, polling loops with deadlines).
"""

import importlib
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bprop.optim import SweepStore, config_key, mlp_config, run_sweep, summarize, train_mlp

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds: no sweep here comes near it

#: keys of a test configuration that only the test's run function reads
TEST_KEYS = ("pause", "pid_dir")


def spiral_config(seed, lr=0.5, optimizer="sgd", **extra):
    config = mlp_config(seed, dataset="spiral", hidden=[20], optimizer=optimizer, lr=lr,
                        batch_size=30, epochs=8)
    config.update(extra)
    return config


def paused_run(config):
    """``train_mlp`` after writing ``<pid_dir>/<pid>-<seed>`` (the configuration as JSON) and
    sleeping ``pause`` seconds: a run a test can find and kill while it is running."""
    if config.get("pid_dir"):
        path = Path(config["pid_dir"]) / f"{os.getpid()}-{config['seed']}"
        path.with_suffix(".tmp").write_text(json.dumps(config))
        path.with_suffix(".tmp").rename(path)  # the killer never reads half a file
    time.sleep(config.get("pause", 0))
    return train_mlp({k: v for k, v in config.items() if k not in TEST_KEYS})


def one_by_one(configs):
    """The same runs done one after another in this process, with one BLAS thread as on the workers."""
    with threadpool_limits(limits=1, user_api="blas"):
        return [paused_run(dict(c, pause=0, pid_dir=None)) for c in configs]


def assert_bit_identical(record, expected):
    assert record["status"] == "done", record["error"]
    assert record["metrics"] == expected["metrics"]  # exact float equality
    timing = {"time"}  # seconds since fit started: the one thing that depends on the machine
    history = {k: v for k, v in record["history"].items() if k not in timing}
    assert history == {k: v for k, v in expected["history"].items() if k not in timing}


def kill_first_run(pid_dir, killed, deadline=20.0):
    """Wait for the first run to announce its process, then SIGKILL that process (once)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = sorted(p for p in Path(pid_dir).iterdir() if p.suffix != ".tmp")
        if found:
            pid = int(found[0].name.split("-")[0])
            killed["pid"], killed["config"] = pid, json.loads(found[0].read_text())
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.02)


def pid_of(record):
    return int(record["worker"].rsplit(":", 1)[1])


# --- the store -----------------------------------------------------------------------
def test_config_key_is_independent_of_key_order_and_tuples():
    a = {"seed": 1, "lr": 0.1, "hidden": [100, 100]}
    b = {"hidden": (100, 100), "lr": 0.1, "seed": 1}
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key(dict(a, seed=2))
    assert config_key({"seed": 1}) != config_key({"seed": 1.0})
    assert len(config_key(a)) == 16


@pytest.mark.parametrize("bad", [{"seed": 0, "f": print}, {"seed": 0, "x": math.nan}, [("seed", 0)]])
def test_config_key_refuses_what_json_cannot_hold(bad):
    with pytest.raises(ValueError, match="configuration must be"):
        config_key(bad)


def test_store_round_trips_a_record_with_nan_losses(tmp_path):
    record = {"key": "k1", "config": {"seed": 3, "lr": 1e30}, "seed": 3, "status": "failed",
              "metrics": {}, "history": {"iter_loss": [2.5, math.nan, math.inf]},
              "error": "TrainingDivergedError: the loss is nan", "traceback": "...", "wall_time": 0.5,
              "worker": "host:1", "attempts": 1}
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.put(record)
    with SweepStore(tmp_path / "s.sqlite") as store:  # a new connection reads what was committed
        got = store.get("k1")
        assert len(store) == 1 and store.statuses() == {"k1": "failed"}
    assert got["history"]["iter_loss"][0] == 2.5
    assert math.isnan(got["history"]["iter_loss"][1]) and got["history"]["iter_loss"][2] == math.inf
    assert {k: got[k] for k in ("config", "seed", "error", "attempts")} == {
        "config": {"seed": 3, "lr": 1e30}, "seed": 3, "error": record["error"], "attempts": 1}


def test_train_mlp_with_test_size_0_never_evaluates_a_test_set():
    with_val = train_mlp(spiral_config(0, test_size=0, val_fraction=0.2, epochs=2))
    assert set(with_val["metrics"]) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    alone = train_mlp(spiral_config(0, test_size=0, epochs=2))
    assert set(alone["metrics"]) == {"train_loss", "train_acc"} and "val_acc" not in alone["history"]
    # the training data do not depend on the test set, which is drawn after them
    full = train_mlp(spiral_config(0, epochs=2))
    assert alone["history"]["iter_loss"] == full["history"]["iter_loss"]


def test_run_sweep_refuses_bad_arguments(tmp_path):
    db = tmp_path / "s.sqlite"
    with pytest.raises(ValueError, match="has no 'seed'"):
        run_sweep(train_mlp, [{"lr": 0.1}], db)
    with pytest.raises(ValueError, match="configurations 0 and 1 are equal"):
        run_sweep(train_mlp, [spiral_config(0), spiral_config(0)], db)
    with pytest.raises(ValueError, match="max_attempts must be an integer >= 1"):
        run_sweep(train_mlp, [spiral_config(0)], db, max_attempts=0)
    with pytest.raises(ValueError, match="workers=2 cannot be set for an existing cluster"):
        run_sweep(train_mlp, [spiral_config(0)], db, scheduler="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(ValueError, match="top level"):
        run_sweep(lambda config: {"metrics": {}}, [spiral_config(0)], db, workers=1)


def test_summarize_groups_seeds_and_leaves_failed_runs_out():
    def record(seed, lr, status, acc=None):
        return {"key": f"{lr}/{seed}", "config": {"seed": seed, "lr": lr}, "seed": seed,
                "status": status, "metrics": {} if acc is None else {"acc": acc}}

    rows = summarize([record(0, 0.1, "done", 0.5), record(1, 0.1, "done", 0.7),
                      record(0, 9.0, "failed"), record(1, 9.0, "done", 0.2)])
    assert [r["config"] for r in rows] == [{"lr": 0.1}, {"lr": 9.0}]
    assert rows[0]["metrics"]["acc"] == pytest.approx({"mean": 0.6, "std": 0.1, "min": 0.5, "max": 0.7})
    assert (rows[1]["runs"], rows[1]["failed"], rows[1]["seeds"]) == (2, 1, [0, 1])
    assert rows[1]["keys"] == ["9.0/0", "9.0/1"]
    assert rows[1]["metrics"]["acc"]["mean"] == 0.2


# --- sweeps with worker processes ------------------------------------------------------
def test_sweep_results_equal_one_by_one_runs_bit_for_bit(tmp_path):
    configs = [spiral_config(seed, lr=lr, optimizer=opt)
               for opt, lr in (("sgd", 0.5), ("adam", 0.01)) for seed in (0, 1)]
    result = run_sweep(paused_run, configs, tmp_path / "s.sqlite", workers=2, timeout=TIMEOUT)
    assert (result.executed, result.skipped, len(result.done)) == (4, 0, 4)
    assert len({r["worker"] for r in result.runs}) == 2  # both workers did runs
    for record, expected in zip(result.runs, one_by_one(configs)):
        assert_bit_identical(record, expected)
    assert [r["key"] for r in result.runs] == [config_key(c) for c in configs]


def test_diverging_run_is_recorded_as_failed_and_not_retried(tmp_path):
    configs = [spiral_config(0), spiral_config(0, lr=1e30), spiral_config(1)]
    db = tmp_path / "s.sqlite"
    result = run_sweep(paused_run, configs, db, workers=2, timeout=TIMEOUT)
    ok, diverged, ok2 = result.runs
    assert ok["status"] == ok2["status"] == "done"
    assert diverged["status"] == "failed" and diverged["attempts"] == 1
    assert diverged["error"].startswith("TrainingDivergedError: training diverged: the loss is nan")
    assert "Traceback" in diverged["traceback"]
    assert math.isnan(diverged["history"]["iter_loss"][-1])  # the partial history
    assert diverged["history"]["diverged"] is True and diverged["metrics"] == {}

    again = run_sweep(paused_run, configs, db, workers=2, timeout=TIMEOUT)
    assert (again.executed, again.skipped) == (0, 3)  # a failure is a result
    retried = run_sweep(paused_run, configs, db, workers=1, retry_failed=True, timeout=TIMEOUT)
    assert (retried.executed, retried.skipped) == (1, 2)
    assert retried.runs[1]["status"] == "failed"


def sweep_with_a_worker_killed_mid_run(tmp_path, **where):
    """Four paused runs on two workers; a thread kills the process of the first run to start.
    Returns the configurations, the victim's config and pid, the result and its record."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    configs = [spiral_config(seed, pause=0.5, pid_dir=str(pid_dir)) for seed in range(4)]
    killed = {}
    killer = threading.Thread(target=kill_first_run, args=(pid_dir, killed), daemon=True)
    killer.start()
    result = run_sweep(paused_run, configs, tmp_path / "s.sqlite", workers=2, timeout=TIMEOUT, **where)
    killer.join(timeout=TIMEOUT)
    assert "pid" in killed, "no run started"
    assert len(result.done) == 4, [r["error"] for r in result.failed]
    victim = result.runs[[config_key(c) for c in configs].index(config_key(killed["config"]))]
    return configs, killed, result, victim


def test_worker_process_killed_mid_run_has_its_run_executed_again(tmp_path):
    configs, killed, result, victim = sweep_with_a_worker_killed_mid_run(tmp_path)
    assert victim["attempts"] == 2 and pid_of(victim) != killed["pid"]
    assert sum(r["attempts"] for r in result.runs) == 5  # nobody else was charged
    for record, expected in zip(result.runs, one_by_one(configs)):
        assert_bit_identical(record, expected)


def test_dask_local_cluster_survives_a_worker_killed_mid_run(tmp_path):
    pytest.importorskip("distributed")
    configs, killed, result, victim = sweep_with_a_worker_killed_mid_run(tmp_path, scheduler="local")
    assert pid_of(victim) != killed["pid"]  # the Dask scheduler ran it again elsewhere
    for record, expected in zip(result.runs, one_by_one(configs)):
        assert_bit_identical(record, expected)


DRIVER = """
import json, sys
from test_sweep import paused_run
from bprop.optim import run_sweep
run_sweep(paused_run, json.loads(sys.argv[2]), sys.argv[1], workers=1, timeout=60)
"""


def committed_rows(db):
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as connection:
        try:
            return connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not created yet
            return 0


def test_killed_driver_loses_no_finished_run_and_the_rerun_executes_only_the_missing(tmp_path):
    db, pid_dir = tmp_path / "s.sqlite", tmp_path / "pids"
    pid_dir.mkdir()
    configs = [spiral_config(seed, pause=0.3, pid_dir=str(pid_dir)) for seed in range(6)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(db), json.dumps(configs)], env=env)
    try:
        end = time.monotonic() + TIMEOUT
        while committed_rows(db) == 0 and driver.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.kill()
        driver.wait(timeout=TIMEOUT)
    before = committed_rows(db)
    assert 1 <= before < len(configs), f"{before} runs committed when the driver was killed"

    # The killed driver's worker notices that its parent is gone and leaves.
    orphans = {int(p.name.split("-")[0]) for p in pid_dir.iterdir() if p.suffix != ".tmp"}
    end = time.monotonic() + 15
    while any(_alive(pid) for pid in orphans) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in orphans)

    for p in pid_dir.iterdir():
        p.unlink()
    result = run_sweep(paused_run, configs, db, workers=2, timeout=TIMEOUT)
    assert (result.executed, result.skipped) == (len(configs) - before, before)
    executed = [json.loads(p.read_text())["seed"] for p in pid_dir.iterdir() if p.suffix != ".tmp"]
    assert len(executed) == len(configs) - before  # the committed runs were not executed again
    assert len(result.done) == len(configs)
    for record, expected in zip(result.runs, one_by_one(configs)):
        assert_bit_identical(record, expected)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


# --- scripts/sweep.py -----------------------------------------------------------------
def test_sweep_script_quick_writes_its_files_and_resumes(tmp_path, capsys):
    from test_scripts import require_mnist

    require_mnist()
    sweep = importlib.import_module("sweep")
    out = tmp_path / "out"
    results = sweep.main(["--quick", "--out", str(out), "--workers", "1"])
    for name in ("sweep.sqlite", "summary.csv", "runs.csv", "sweep_curves.png", "sweep_final.png"):
        assert (out / name).is_file(), name
    assert results["executed"] == results["runs"] > 0 and results["failed"] == 0
    header = (out / "summary.csv").read_text().splitlines()[0].split(",")
    assert {"test_acc_mean", "test_acc_std", "test_acc_min", "test_acc_max"} <= set(header)
    assert "test_acc" in capsys.readouterr().out  # the summary table
    again = sweep.main(["--quick", "--out", str(out), "--workers", "1"])
    assert again["executed"] == 0 and again["runs"] == results["runs"]


@pytest.mark.parametrize("args, option, value", [
    (["--lrs", "0.1", "0"], "--lrs", "0"), (["--lrs", "nan"], "--lrs", "nan"),
    (["--hidden", "100x"], "--hidden", "100x"), (["--hidden", "100-0"], "--hidden", "100-0"),
    (["--batch-sizes", "0"], "--batch-sizes", "0"), (["--weight-decays", "-1"], "--weight-decays", "-1"),
    (["--epochs", "0"], "--epochs", "0"), (["--seeds", "0"], "--seeds", "0"),
    (["--random", "0"], "--random", "0"), (["--lr-range", "1", "0.1"], "--lr-range", "1"),
    (["--weight-decay-range", "0", "1"], "--weight-decay-range", "0"),
    (["--optimizers", "foo"], "--optimizers", "foo"), (["--dataset", "foo"], "--dataset", "foo"),
    (["--workers", "0"], "--workers", "0"), (["--scheduler", "foo"], "--scheduler", "foo"),
    (["--scheduler", "tcp://host:8786", "--workers", "2"], "--workers", "tcp://host:8786"),
    (["--max-attempts", "0"], "--max-attempts", "0"), (["--train-size", "-5"], "--train-size", "-5"),
    (["--model", "foo"], "--model", "foo"),
    # an option the model does not have
    (["--model", "lenet5", "--hidden", "100"], "--hidden", "lenet5"),
    (["--model", "simple_conv", "--hidden", "100", "100-50"], "--hidden", "100-50"),
    (["--model", "char_lm", "--weight-decays", "0.1"], "--weight-decays", "char_lm"),
    (["--model", "char_lm", "--weight-decay-range", "1e-5", "1e-3"], "--weight-decay-range", "char_lm"),
    (["--model", "lenet5", "--dataset", "spiral"], "--dataset", "spiral"),
    (["--model", "char_lm", "--dataset", "mnist"], "--dataset", "tiny-shakespeare"),
])
def test_sweep_script_refuses_bad_values_with_a_usage_error(tmp_path, capsys, args, option, value):
    sweep = importlib.import_module("sweep")
    with pytest.raises(SystemExit) as exit_info:
        sweep.build_parser().parse_args([*args, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"error: argument {option}" in error and value in error, error


def test_sweep_script_on_ctrl_c_writes_the_finished_runs_and_exits_130(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "scripts" / "sweep.py"), "--dataset", "spiral", "--epochs", "200",
               "--batch-sizes", "30", "--lrs", "0.1", "0.01", "--seeds", "4", "--workers", "1", "--out", str(out)]
    # A session of its own, so that SIGINT goes to its process group as a terminal's Ctrl-C does;
    # SIGINT's default action restored, as a shell's background job (pytest run with &) ignores it.
    script = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=dict(os.environ, MPLBACKEND="Agg"),
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        end = time.monotonic() + TIMEOUT
        while committed_rows(out / "sweep.sqlite") == 0 and script.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        os.killpg(script.pid, signal.SIGINT)
        output, _ = script.communicate(timeout=TIMEOUT)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=TIMEOUT)
    assert script.returncode == 130, output
    finished = committed_rows(out / "sweep.sqlite")
    assert 1 <= finished < 16, output
    assert "interrupted by Ctrl-C" in output and "Traceback" not in output
    assert len((out / "runs.csv").read_text().splitlines()) == 1 + finished
    assert (out / "summary.csv").is_file() and (out / "sweep_final.png").is_file()


def test_sweep_script_knows_the_measure_and_grid_of_every_model():
    from bprop.optim import MODELS

    sweep = importlib.import_module("sweep")
    assert set(sweep.MEASURES) == set(sweep.GRID_DEFAULTS) == set(MODELS)


def test_sweep_script_ranks_and_plots_a_language_model_by_its_validation_loss():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = importlib.import_module("sweep")
    measure = sweep.LANGUAGE_MODEL
    runs = []
    for lr, final in ((0.01, 2.4), (0.003, 2.7), (1e3, None)):
        for seed in (0, 1):
            record = {"key": f"{lr}-{seed}", "seed": seed, "config": {"lr": lr, "seed": seed},
                      "status": "done", "metrics": {}, "history": {}}
            if final is None:
                record["status"] = "failed"
            else:
                curve = [final + 0.5, final + 0.01 * seed]
                record["history"] = {"val_loss": curve, "train_loss": [c - 0.1 for c in curve]}
                record["metrics"] = {"val_loss": curve[-1], "val_perplexity": math.exp(curve[-1]),
                                     "train_loss": curve[-1] - 0.1, "train_perplexity": math.exp(curve[-1] - 0.1)}
            runs.append(record)
    summary = sorted(summarize(runs, measure.metrics), key=lambda row: sweep._rank(row, measure))
    assert [row["config"]["lr"] for row in summary] == [0.01, 0.003, 1e3]  # lowest loss first, failed last
    curves = sweep._plot_curves(plt, runs, summary, ["lr"], "a sweep", measure)
    assert curves.axes[0].get_ylabel() == measure.label
    assert [line.get_label() for line in curves.axes[0].get_lines()] == ["lr 0.01", "lr 0.003"]
    final = sweep._plot_final(plt, runs, summary, ["lr"], "a sweep", measure)
    ax = final.axes[0]
    low, high = ax.get_xlim()
    assert low < 2.4 and 2.71 < high  # every seed's loss in view, not an accuracy's [.., 1]
    assert any(text.get_text().strip() == "2 failed" for text in ax.texts)
    plt.close("all")
