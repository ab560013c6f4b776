"""Weights files: save_params refuses what load_params could not read back, and load_params
says what a file is when it is not a weights file, changing nothing in the network.

Each test writes the bad file itself.
"""

import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest

from bprop.layers import Affine, BatchNormalization, Relu
from bprop.networks import Sequential
from bprop.networks.files import NpzFileError, load_npz


def small_net(dtype=np.float64, rng=0):
    return Sequential([Affine(4, 3), Relu(), Affine(3, 2)], dtype=dtype, init="he", rng=rng)


def snapshot(net):
    return {k: v.copy() for k, v in net.state_dict().items()}


def assert_unchanged(net, before):
    after = net.state_dict()
    assert list(after) == list(before)
    for k, v in after.items():
        np.testing.assert_array_equal(v, before[k])


def load_refused(net, path, error, match):
    """Load ``path`` into ``net``, expecting ``error`` matching ``match`` and no warning,
    and check that the network did not change."""
    before = snapshot(net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning escaping would fail here
        with pytest.raises(error, match=match) as info:
            net.load_params(path)
    assert_unchanged(net, before)
    return str(info.value)


# --------------------------------------------------------------- files that are not an .npz
def write_text(path):
    path.write_text("epoch,loss\n1,0.5\n")


def write_pickle(path):
    path.write_bytes(pickle.dumps({"W1": np.zeros((4, 3))}, protocol=4))


def write_npy_renamed(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros((4, 3)))


def write_truncated_zip(path):
    small_net(rng=1).save_params(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def write_empty(path):
    path.write_bytes(b"")


def write_folder(path):
    path.mkdir()


def write_object_array(path):
    np.savez(path, W1=np.array([{"a": 1}], dtype=object))


def write_zip_of_other_things(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "not an array")


NOT_AN_NPZ = {
    "text": (write_text, r"w\.npz is not a readable \.npz file: it is a text file \(it begins 'epoch,loss'\)"),
    "pickle": (write_pickle, r"w\.npz is not a readable \.npz file: it is a Python pickle \(protocol 4\), "
                             r"which bprop never unpickles"),
    "npy renamed": (write_npy_renamed, r"w\.npz is not a readable \.npz file: it is a single \.npy array"),
    "truncated zip": (write_truncated_zip, r"w\.npz is not a readable \.npz file: it is a zip archive cut "
                                           r"short or damaged"),
    "empty": (write_empty, r"w\.npz is not a readable \.npz file: it is empty \(0 bytes\)"),
    "folder": (write_folder, r"w\.npz is not a readable \.npz file: it is a folder"),
    "object array": (write_object_array, r"w\.npz is not a readable \.npz file: it holds a pickled object "
                                         r"array under key 'W1', which is never loaded"),
    "zip of other things": (write_zip_of_other_things, r"w\.npz is not a readable \.npz file: it holds "
                                                       r"'notes\.txt', which is not a NumPy array"),
}


@pytest.mark.parametrize("kind", list(NOT_AN_NPZ))
def test_load_params_of_a_file_that_is_not_an_npz_says_what_it_is_and_changes_nothing(tmp_path, kind):
    write, match = NOT_AN_NPZ[kind]
    path = tmp_path / "w.npz"
    write(path)
    message = load_refused(small_net(), path, NpzFileError, match)
    assert str(path) in message  # the whole path, not only its name
    assert "\n" not in message


def test_npz_file_error_is_a_value_error():
    assert issubclass(NpzFileError, ValueError)


def test_a_pickle_in_the_file_is_never_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "pickle-ran"),))

    path = tmp_path / "w.npz"
    path.write_bytes(pickle.dumps(Boom()))
    load_refused(small_net(), path, NpzFileError, "Python pickle")
    np.savez(path, W1=np.array([Boom()], dtype=object))
    load_refused(small_net(), path, NpzFileError, "pickled object array under key 'W1'")
    assert not (tmp_path / "pickle-ran").exists()


def test_a_zip_member_with_a_bad_crc_is_reported_as_damaged(tmp_path):
    path = tmp_path / "w.npz"
    small_net(rng=1).save_params(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("W1.npy")
    # the last byte of W1's data (stored uncompressed): the central directory stays intact
    data[info.header_offset + 30 + len(info.filename) + info.compress_size - 1] ^= 0xFF
    path.write_bytes(bytes(data))
    load_refused(small_net(), path, NpzFileError, r"w\.npz is not a readable \.npz file: its array 'W1' "
                                                  r"is damaged \(BadZipFile: Bad CRC-32")


def test_a_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    load_refused(small_net(), tmp_path / "none.npz", FileNotFoundError, "none.npz")


def test_a_training_checkpoint_is_not_a_weights_file(tmp_path):
    path = tmp_path / "run.npz"
    np.savez(path, meta=np.frombuffer(b'{"format": "bprop-trainer-checkpoint"}', dtype=np.uint8),
             **{"network/W1": np.zeros((4, 3))})
    load_refused(small_net(), path, NpzFileError, r"run\.npz is a bprop training checkpoint, not a weights file")


def test_load_npz_reads_back_every_array_of_a_good_file(tmp_path):
    arrays = {"W1": np.arange(6.0).reshape(2, 3), "network/b1": np.float32([1.5]), "meta": np.uint8([1, 2])}
    np.savez_compressed(tmp_path / "a.npz", **arrays)
    back = load_npz(tmp_path / "a.npz")
    assert sorted(back) == sorted(arrays)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)


# --------------------------------------------------------------- values that do not fit
def test_a_float64_file_holding_1e300_is_refused_by_a_float32_network_without_a_warning(tmp_path):
    state = {k: v.astype(np.float64) for k, v in small_net(rng=1).state_dict().items()}
    state["W2"][1, 0] = 1e300
    path = tmp_path / "big.npz"
    np.savez(path, **state)
    message = load_refused(small_net(np.float32), path, ValueError,
                           r"load_state_dict: key 'W2' in .*big\.npz holds 1 value\(s\) too large for this "
                           r"float32 network, the first 1e\+300 at index \(1, 0\) \(the largest float32 is "
                           r"3\.4e\+38\)")
    assert str(path) in message


def test_a_float64_file_of_ordinary_values_loads_into_a_float32_network(tmp_path):
    source = small_net(rng=1)
    source.save_params(tmp_path / "w.npz")
    net = small_net(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.load_params(tmp_path / "w.npz")
    for k, v in source.state_dict().items():
        assert net.state_dict()[k].dtype == np.float32
        np.testing.assert_array_equal(net.state_dict()[k], v.astype(np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_file_holding_nan_or_inf_is_refused_naming_file_and_key(tmp_path, bad):
    state = small_net(rng=1).state_dict()
    state = {k: v.copy() for k, v in state.items()}
    state["b1"][2] = bad
    path = tmp_path / "bad.npz"
    np.savez(path, **state)
    message = load_refused(small_net(), path, ValueError,
                           rf"load_state_dict: key 'b1' in .*bad\.npz holds 1 non-finite value\(s\), "
                           rf"the first {bad} at index \(2,\)")
    assert str(path) in message


# --------------------------------------------------------------- saving a network that diverged
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_save_params_refuses_a_network_holding_nan_or_inf_and_writes_nothing(tmp_path, bad):
    net = small_net()
    net.params["W2"][0, 1] = bad
    path = tmp_path / "sub" / "w.npz"
    with pytest.raises(ValueError, match=rf"Sequential\.save_params: key 'W2' holds 1 non-finite value\(s\), "
                                         rf"the first {bad} at index \(0, 1\); nothing was written to "
                                         rf".*sub.w\.npz"):
        net.save_params(path)
    assert os.listdir(tmp_path) == []  # no file, no temporary file, not even the folder


def test_a_refused_save_leaves_the_previous_file_as_it_was(tmp_path):
    path = tmp_path / "w.npz"
    net = small_net()
    net.save_params(path)
    before = path.read_bytes()
    net.params["b2"][...] = np.nan
    with pytest.raises(ValueError, match="key 'b2' holds 2 non-finite"):
        net.save_params(path)
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]
    assert path.read_bytes() == before
    small_net(rng=5).load_params(path)  # still a good weights file


def test_batch_norm_statistics_holding_nan_are_refused_on_save(tmp_path):
    net = Sequential([Affine(4, 3), BatchNormalization(3), Relu(), Affine(3, 2)], init="he", rng=0)
    net.layers["BatchNorm1"].running_var[1] = np.nan
    with pytest.raises(ValueError, match=r"key 'BatchNorm1\.running_var' holds 1 non-finite"):
        net.save_params(tmp_path / "w.npz")
    assert os.listdir(tmp_path) == []
