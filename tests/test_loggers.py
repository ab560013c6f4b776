"""CSVLogger and TensorBoard: what they write, read back exactly, and a resumed run that
leaves the record of the run never interrupted.

The hooks are driven by hand, as the Trainer's loop calls them, on a small fake trainer.
The event files are read back with a TFRecord reader written here (length, its CRC, data,
its CRC; CRC32C computed here too) and tensorboardX's protobuf classes; ``read_scalars``
applies the rule TensorBoard reads them by (files in name order, a SessionLog START at step
``s`` discarding the events read before at step >= ``s``).
"""

import csv
import glob
import json
import os
import signal
import struct
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from bprop.optim.csv_logger import CSVLogger, format_value
from bprop.optim.tensorboard import TensorBoard, tensorboard_tag

STEPS_PER_EPOCH = 4


# --- a fake run ---------------------------------------------------------------------------
def fake_trainer(epochs_done=0, steps_done=0):
    return SimpleNamespace(epochs_done=epochs_done, steps_done=steps_done, history={}, stop_training=False)


def batch_loss(step):
    return 2.0 / (step + 2)


def epoch_logs(epoch):
    """The logs of an epoch: floats whose repr is long, NumPy scalars, an int, a None lr."""
    return {"epoch": epoch, "iteration": epoch * STEPS_PER_EPOCH, "train_loss": 1.0 / (epoch + 2),
            "train_acc": 0.1 * epoch + 0.2, "val_loss": np.float64(np.pi / epoch),
            "val_acc": np.float32(1.0 / 3.0 + epoch / 7), "lr": None if epoch == 2 else 0.001 / epoch,
            "time": 0.1 * epoch}


def run_epoch(callbacks, trainer, epoch, logs, stop_at_step=None):
    """One epoch of hooks, as the Trainer calls them; stops at update ``stop_at_step``."""
    for cb in callbacks:
        cb.on_epoch_begin(trainer, epoch)
    for _ in range(STEPS_PER_EPOCH):
        for cb in callbacks:
            cb.on_batch_begin(trainer, trainer.steps_done)
        loss = batch_loss(trainer.steps_done + 1)
        for cb in callbacks:
            cb.on_after_backward(trainer, loss, {})
        trainer.steps_done += 1
        for cb in callbacks:
            cb.on_batch_end(trainer, trainer.steps_done, loss)
        if trainer.steps_done == stop_at_step:
            return
    trainer.epochs_done = epoch
    for cb in callbacks:
        cb.on_epoch_end(trainer, epoch, logs(epoch))


def run(callbacks, trainer, last_epoch, logs=epoch_logs):
    """Fit from ``trainer.epochs_done`` to ``last_epoch``; return the checkpoint state of each epoch."""
    states = {}
    for cb in callbacks:
        cb.on_fit_begin(trainer)
    for epoch in range(trainer.epochs_done + 1, last_epoch + 1):
        run_epoch(callbacks, trainer, epoch, logs)
        states[epoch] = checkpoint_state(callbacks, trainer)
    for cb in callbacks:
        cb.on_fit_end(trainer)
    return states


def checkpoint_state(callbacks, trainer):
    """What the Trainer's checkpoint would hold, through JSON as the checkpoint file does."""
    return json.loads(json.dumps({"epochs_done": trainer.epochs_done, "steps_done": trainer.steps_done,
                                  "callbacks": [cb.state_dict() for cb in callbacks]}))


def resume(callbacks, state, last_epoch, logs=epoch_logs):
    for cb, cb_state in zip(callbacks, state["callbacks"]):
        cb.load_state_dict(cb_state)
    return run(callbacks, fake_trainer(state["epochs_done"], state["steps_done"]), last_epoch, logs)


def loggers(folder):
    return [CSVLogger(os.path.join(folder, "log.csv")), TensorBoard(os.path.join(folder, "tb"), every_n_steps=3)]


def run_until_killed(folder):
    """The run to be killed (in its own process): its checkpoint after epoch 2 goes to
    ``state.json``; epoch 3 completes; in epoch 4 it dies by SIGKILL at update 14, in the
    middle of writing a CSV row (whose first bytes are on disk)."""
    callbacks, trainer = loggers(folder), fake_trainer()
    for cb in callbacks:
        cb.on_fit_begin(trainer)
    for epoch in (1, 2, 3):
        run_epoch(callbacks, trainer, epoch, epoch_logs)
        if epoch == 2:
            with open(os.path.join(folder, "state.json"), "w") as f:
                json.dump(checkpoint_state(callbacks, trainer), f)
    run_epoch(callbacks, trainer, 4, epoch_logs, stop_at_step=14)
    with open(os.path.join(folder, "log.csv"), "ab") as f:
        f.write(b"4,16,0.1666")
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def tensorboardx():
    """tensorboardX, which the test extra installs; the guard is for a bare install only."""
    return pytest.importorskip("tensorboardX")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# --- reading event files --------------------------------------------------------------------
def crc32c(data):
    """CRC-32C (Castagnoli), bit by bit: reflected polynomial 0x82F63B78."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(path):
    """The Event protos of a TFRecord file: each record is a little-endian uint64 length,
    the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data."""
    from tensorboardX.proto.event_pb2 import Event
    with open(path, "rb") as f:
        data = f.read()
    events, at = [], 0
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        assert header_crc == masked_crc(header), f"{path}: bad length CRC at byte {at}"
        body = data[at + 12:at + 12 + length]
        (body_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        assert len(body) == length and body_crc == masked_crc(body), f"{path}: bad data CRC at byte {at}"
        events.append(Event.FromString(body))
        at += 16 + length
    return events


def event_files(folder):
    return sorted(p for p in glob.glob(os.path.join(folder, "*")) if "tfevents" in os.path.basename(p))


def read_scalars(folder, purge=True):
    """The scalars ``(tag, step, value)`` of the event files in ``folder`` as TensorBoard
    shows them: files in name order, and (with ``purge``) a SessionLog START at step ``s``
    discarding every scalar read before at step >= ``s``."""
    from tensorboardX.proto.event_pb2 import SessionLog
    scalars = []
    for path in event_files(folder):
        for event in read_events(path):
            if purge and event.HasField("session_log") and event.session_log.status == SessionLog.START:
                scalars = [s for s in scalars if s[1] < event.step]
            scalars.extend((v.tag, event.step, v.simple_value) for v in event.summary.value)
    return scalars


def test_crc32c_of_the_check_string_is_the_published_value():
    assert crc32c(b"123456789") == 0xE3069283


# --- CSVLogger --------------------------------------------------------------------------------
def test_csv_logger_writes_header_and_one_row_per_epoch_that_reads_back_exactly(tmp_path):
    path = tmp_path / "log.csv"
    run([CSVLogger(path)], fake_trainer(), 3)
    rows = read_csv(path)
    assert rows[0] == list(epoch_logs(1))
    assert len(rows) == 4
    for epoch, row in enumerate(rows[1:], start=1):
        for key, field in zip(rows[0], row):
            value = epoch_logs(epoch)[key]
            if value is None:
                assert field == ""
            elif isinstance(value, int):
                assert field == str(value)
            else:
                assert float(field) == float(value), (key, field, value)  # exact, not approximate
    assert path.read_bytes().endswith(b"\n")


def test_csv_logger_writes_none_and_a_missing_key_as_empty_fields(tmp_path):
    path = tmp_path / "log.csv"
    logs = {1: {"epoch": 1, "train_loss": 0.5, "val_loss": 0.25},
            2: {"epoch": 2, "train_loss": None, "val_loss": 0.125},
            3: {"epoch": 3, "val_loss": float("nan")}}
    run([CSVLogger(path)], fake_trainer(), 3, logs=logs.get)
    assert path.read_text() == "epoch,train_loss,val_loss\n1,0.5,0.25\n2,,0.125\n3,,nan\n"


def test_csv_logger_adds_a_column_for_a_key_that_first_appears_later(tmp_path):
    path = tmp_path / "log.csv"
    logs = {1: {"epoch": 1, "loss": 0.5}, 2: {"epoch": 2, "loss": 0.25, "grad_norm": 3.0},
            3: {"epoch": 3, "loss": 0.125, "grad_norm": 2.0, "lr": 0.1}}
    logger = CSVLogger(path)
    run([logger], fake_trainer(), 3, logs=logs.get)
    assert path.read_text() == "epoch,loss,grad_norm,lr\n1,0.5,,\n2,0.25,3.0,\n3,0.125,2.0,0.1\n"
    assert logger.columns == ["epoch", "loss", "grad_norm", "lr"] and logger.rows == 3
    assert os.listdir(tmp_path) == ["log.csv"]  # no temporary file left


def test_csv_logger_row_is_in_the_file_when_on_epoch_end_returns(tmp_path):
    path = tmp_path / "log.csv"
    logger, trainer = CSVLogger(path), fake_trainer()
    logger.on_fit_begin(trainer)
    run_epoch([logger], trainer, 1, epoch_logs)
    assert len(read_csv(path)) == 2  # read by another handle while the logger's is open
    logger.on_fit_end(trainer)


def test_csv_logger_uses_the_separator_and_quotes_a_string_holding_it(tmp_path):
    path = tmp_path / "log.tsv"
    logs = {1: {"epoch": 1, "note": "a\tb", "loss": 0.5}}
    run([CSVLogger(path, separator="\t")], fake_trainer(), 1, logs=logs.get)
    assert path.read_text() == 'epoch\tnote\tloss\n1\t"a\tb"\t0.5\n'


def test_csv_logger_fresh_run_starts_the_file_anew(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("an,older,run\n1,2,3\n")
    logger = CSVLogger(path)
    logger.load_state_dict({"rows": 7, "columns": ["an", "older", "run"]})
    run([logger], fake_trainer(), 1)
    assert read_csv(path)[0] == list(epoch_logs(1)) and len(read_csv(path)) == 2


def test_loggers_resumed_after_a_kill_write_the_record_of_the_uninterrupted_run(tmp_path, tensorboardx):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    straight.mkdir()
    killed.mkdir()
    run(loggers(straight), fake_trainer(), 5)
    # the kill is a real SIGKILL, in a process of its own: only what reached the disk is left
    program = f"import test_loggers; test_loggers.run_until_killed({str(killed)!r})"
    path = [os.path.dirname(os.path.abspath(__file__))] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    log = (killed / "log.csv").read_bytes()
    assert log.count(b"\n") == 4 and log.endswith(b"4,16,0.1666")  # epochs 1-3 and half of 4
    state = json.loads((killed / "state.json").read_text())
    assert state["callbacks"][0] == {"rows": 2, "columns": list(epoch_logs(1))}

    resume(loggers(killed), state, 5)

    assert (killed / "log.csv").read_bytes() == (straight / "log.csv").read_bytes()
    # TensorBoard: the killed run's epoch 3 and updates 9-14 are still in its files, hidden
    for sub, tag, step in (("tb", "loss/train", 3), (os.path.join("tb", "batch"), "loss/batch", 12)):
        assert sum(s[:2] == (tag, step) for s in read_scalars(killed / sub, purge=False)) == 2
        assert read_scalars(killed / sub) == read_scalars(straight / sub)
    assert len(event_files(killed / "tb")) == 2 and len(event_files(straight / "tb")) == 1


def test_csv_logger_resume_puts_back_the_checkpoint_header_the_killed_run_widened(tmp_path):
    def logs(epoch):
        return {"epoch": epoch, "loss": 1 / epoch, **({"grad_norm": 2.0 * epoch} if epoch >= 3 else {})}

    straight, killed = tmp_path / "straight.csv", tmp_path / "killed.csv"
    run([CSVLogger(straight)], fake_trainer(), 4, logs=logs)
    states = run([CSVLogger(killed)], fake_trainer(), 3, logs=logs)  # widened at epoch 3, "killed" after it
    assert read_csv(killed)[0] == ["epoch", "loss", "grad_norm"]
    logger = CSVLogger(killed)
    logger.load_state_dict(states[2]["callbacks"][0])
    logger.on_fit_begin(fake_trainer(2, 8))
    assert killed.read_text() == "epoch,loss\n1,1.0\n2,0.5\n"
    logger.close()
    resume([CSVLogger(killed)], states[2], 4, logs=logs)
    assert killed.read_bytes() == straight.read_bytes()


def test_csv_logger_resume_refuses_a_file_with_fewer_rows_than_the_checkpoint(tmp_path):
    path = tmp_path / "log.csv"
    states = run([CSVLogger(path)], fake_trainer(), 3)
    path.write_bytes(path.read_bytes()[:-5])  # the last row cut short
    logger = CSVLogger(path)
    logger.load_state_dict(states[3]["callbacks"][0])
    with pytest.raises(ValueError, match=r"CSVLogger: cannot resume after epoch 3 .* holds 2 whole rows, not 3"):
        logger.on_fit_begin(fake_trainer(3, 12))


def test_csv_logger_resume_refuses_a_file_of_another_run(tmp_path):
    path = tmp_path / "log.csv"
    states = run([CSVLogger(path)], fake_trainer(), 2)
    path.write_text("step,accuracy\n1,0.5\n2,0.75\n")
    logger = CSVLogger(path)
    logger.load_state_dict(states[2]["callbacks"][0])
    with pytest.raises(ValueError, match=r"its header \['step', 'accuracy'\] is not the checkpoint's"):
        logger.on_fit_begin(fake_trainer(2, 8))


def test_csv_logger_resume_refuses_a_state_that_does_not_match_the_trainer(tmp_path):
    path = tmp_path / "log.csv"
    run([CSVLogger(path)], fake_trainer(), 2)
    with pytest.raises(ValueError, match=r"this logger's state holds 0 rows"):
        CSVLogger(path).on_fit_begin(fake_trainer(2, 8))


def test_csv_logger_resume_refuses_a_missing_file(tmp_path):
    logger = CSVLogger(tmp_path / "log.csv")
    logger.load_state_dict({"rows": 2, "columns": ["epoch"]})
    with pytest.raises(ValueError, match="the file does not exist"):
        logger.on_fit_begin(fake_trainer(2, 8))


@pytest.mark.parametrize("kwargs, message", [
    ({"path": None}, "CSVLogger: path must be a non-empty path"),
    ({"path": ""}, "CSVLogger: path must be a non-empty path"),
    ({"path": 3}, "CSVLogger: path must be a non-empty path"),
    ({"path": "log.csv", "separator": ""}, "CSVLogger: separator must be one character"),
    ({"path": "log.csv", "separator": ",;"}, "CSVLogger: separator must be one character"),
    ({"path": "log.csv", "separator": "x"}, "CSVLogger: separator must be one character"),
    ({"path": "log.csv", "separator": "."}, "CSVLogger: separator must be one character"),
    ({"path": "log.csv", "separator": "\n"}, "CSVLogger: separator must be one character"),
    ({"path": "log.csv", "separator": 44}, "CSVLogger: separator must be one character"),
])
def test_csv_logger_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CSVLogger(**kwargs)


def test_csv_logger_refuses_a_folder_as_path(tmp_path):
    with pytest.raises(ValueError, match="CSVLogger: path must be a file, got the folder"):
        CSVLogger(tmp_path)


@pytest.mark.parametrize("state", [{}, {"rows": -1, "columns": []}, {"rows": True, "columns": []},
                                   {"rows": 2, "columns": "epoch"}, [2, ["epoch"]]])
def test_csv_logger_load_state_dict_refuses_a_bad_state(state):
    with pytest.raises(ValueError, match="CSVLogger: a state must hold rows"):
        CSVLogger("log.csv").load_state_dict(state)


def test_csv_logger_repr():
    assert repr(CSVLogger("run/log.csv", separator=";")) == "CSVLogger(path='run/log.csv', separator=';')"


@pytest.mark.parametrize("value, field", [(None, ""), (3, "3"), (np.int64(3), "3"), (0.1 + 0.2, "0.30000000000000004"),
                                          (np.float32(0.1), "0.10000000149011612"), (np.array(2.5), "2.5"),
                                          (float("inf"), "inf"), (True, "True"), ("adam", "adam")])
def test_format_value(value, field):
    assert format_value(value) == field


# --- TensorBoard -------------------------------------------------------------------------------
@pytest.mark.parametrize("key, tag", [("train_loss", "loss/train"), ("val_acc", "acc/val"),
                                      ("val_perplexity", "perplexity/val"), ("lr", "lr"),
                                      ("grad_norm", "grad_norm"), ("train_", "train_")])
def test_tensorboard_tag(key, tag):
    assert tensorboard_tag(key) == tag


def test_tensorboard_writes_each_numeric_log_value_per_epoch(tmp_path, tensorboardx):
    run([TensorBoard(tmp_path)], fake_trainer(), 3)
    files = event_files(tmp_path)
    assert len(files) == 1 and os.listdir(tmp_path) == [os.path.basename(files[0])]  # no batch folder
    events = read_events(files[0])
    assert events[0].file_version == "brain.Event:2"
    expected = []
    for epoch in (1, 2, 3):
        for key, value in epoch_logs(epoch).items():
            if key not in ("epoch", "iteration") and value is not None:
                expected.append((tensorboard_tag(key), epoch, float(np.float32(value))))
    assert read_scalars(tmp_path) == expected
    assert {tag for tag, _, _ in expected} == {"loss/train", "acc/train", "loss/val", "acc/val", "lr", "time"}
    assert ("lr", 2) not in [s[:2] for s in expected]  # None is not written


def test_tensorboard_writes_the_batch_loss_every_n_steps_in_the_batch_folder(tmp_path, tensorboardx):
    run([TensorBoard(tmp_path, every_n_steps=5)], fake_trainer(), 3)
    assert read_scalars(tmp_path / "batch") == [("loss/batch", s, float(np.float32(batch_loss(s)))) for s in (5, 10)]
    assert all(tag != "loss/batch" for tag, _, _ in read_scalars(tmp_path))


def test_tensorboard_events_are_on_disk_when_on_epoch_end_returns(tmp_path, tensorboardx):
    board, trainer = TensorBoard(tmp_path, every_n_steps=1), fake_trainer()
    board.on_fit_begin(trainer)
    run_epoch([board], trainer, 1, epoch_logs)
    assert ("loss/train", 1, float(np.float32(epoch_logs(1)["train_loss"]))) in read_scalars(tmp_path)
    assert len(read_scalars(tmp_path / "batch")) == STEPS_PER_EPOCH
    board.on_fit_end(trainer)


def test_tensorboard_fresh_run_hides_an_earlier_run_in_the_folder(tmp_path, tensorboardx):
    run([TensorBoard(tmp_path)], fake_trainer(), 3)
    (earlier,) = event_files(tmp_path)  # named events.out.tfevents.<seconds>.<host>.from-epoch-000001
    _, _, _, seconds, rest = os.path.basename(earlier).split(".", 4)
    os.rename(earlier, tmp_path / f"events.out.tfevents.{int(seconds) - 100}.{rest}")  # a run 100 s ago
    run([TensorBoard(tmp_path)], fake_trainer(), 1, logs=lambda epoch: {"epoch": epoch, "train_loss": 9.0})
    assert len(event_files(tmp_path)) == 2
    assert ("loss/train", 3, float(np.float32(epoch_logs(3)["train_loss"]))) in read_scalars(tmp_path, purge=False)
    assert read_scalars(tmp_path) == [("loss/train", 1, 9.0)]


def test_tensorboard_without_tensorboardx_names_the_extra(monkeypatch, tmp_path):
    for name in [name for name in sys.modules if name.split(".")[0] == "tensorboardX"] + ["tensorboardX"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it (or any of its modules) now fails
    with pytest.raises(ImportError, match=r'pip install "bprop\[tensorboard\]" \(or pip install tensorboardX\)'):
        TensorBoard(tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    ({"log_dir": None}, "TensorBoard: log_dir must be a non-empty path"),
    ({"log_dir": ""}, "TensorBoard: log_dir must be a non-empty path"),
    ({"log_dir": "runs", "every_n_steps": 0}, r"TensorBoard: every_n_steps must be an integer >= 1, got 0"),
    ({"log_dir": "runs", "every_n_steps": 2.0}, r"TensorBoard: every_n_steps must be an integer >= 1, got 2.0"),
    ({"log_dir": "runs", "every_n_steps": True}, r"TensorBoard: every_n_steps must be an integer >= 1, got True"),
])
def test_tensorboard_refuses_bad_arguments(kwargs, message, tensorboardx):
    with pytest.raises(ValueError, match=message):
        TensorBoard(**kwargs)


def test_tensorboard_refuses_a_file_as_log_dir(tmp_path, tensorboardx):
    (tmp_path / "runs").write_text("")
    with pytest.raises(ValueError, match="TensorBoard: log_dir must be a folder, got the file"):
        TensorBoard(tmp_path / "runs")


def test_tensorboard_repr(tensorboardx):
    assert repr(TensorBoard("runs/a", every_n_steps=50)) == "TensorBoard(log_dir='runs/a', every_n_steps=50)"
