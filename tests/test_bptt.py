"""BPTTBatches: a corpus as parallel streams, read window by window, in order."""

import numpy as np
import pytest

from bprop.datasets import BPTTBatches


def test_windows_read_the_streams_in_order_and_targets_are_the_next_ids():
    ids = np.arange(23)  # S = 22 // 3 = 7 ids per stream
    batches = BPTTBatches(ids, batch_size=3, time_size=3)
    windows = list(batches)
    assert [x.shape for x, _ in windows] == [(3, 3), (3, 3), (3, 1)]  # the last one is shorter
    assert windows[0][0].tolist() == [[0, 1, 2], [7, 8, 9], [14, 15, 16]]
    assert windows[2][0].tolist() == [[6], [13], [20]]
    xs = np.concatenate([x for x, _ in windows], axis=1)
    ts = np.concatenate([t for _, t in windows], axis=1)
    np.testing.assert_array_equal(xs, ids[:21].reshape(3, 7))  # stream b is the b-th slice of the corpus
    np.testing.assert_array_equal(ts, ids[1:22].reshape(3, 7))
    assert len(batches) == 3 and batches.stream_length == 7 and batches.n_tokens == 21


def test_each_row_continues_where_the_same_row_of_the_previous_window_stopped():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 1001)
    windows = list(BPTTBatches(ids, batch_size=8, time_size=10))
    for (_, t_prev), (x_next, _) in zip(windows, windows[1:]):
        np.testing.assert_array_equal(x_next[:, 0], t_prev[:, -1])  # the next input is the last target


def test_every_epoch_yields_the_same_windows_and_drop_last_drops_the_short_one():
    ids = np.arange(101)
    batches = BPTTBatches(ids, 4, 7)  # S = 25: three windows of 7, one of 4
    first, second = list(batches), list(batches)
    assert len(first) == len(batches) == 4
    for (x1, t1), (x2, t2) in zip(first, second):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(t1, t2)
    dropped = BPTTBatches(ids, 4, 7, drop_last=True)
    assert len(dropped) == 3 and [x.shape[1] for x, _ in dropped] == [7, 7, 7] and dropped.n_tokens == 84


def test_windows_are_views_of_the_corpus():
    ids = np.arange(41)
    x, t = next(iter(BPTTBatches(ids, 4, 5)))
    assert np.shares_memory(x, ids) and np.shares_memory(t, ids)


@pytest.mark.parametrize("kwargs, match", [
    (dict(ids=np.arange(10.0), batch_size=2, time_size=2), "1-D array of integers"),
    (dict(ids=np.arange(10).reshape(2, 5), batch_size=2, time_size=2), "1-D array of integers"),
    (dict(ids=np.arange(10), batch_size=0, time_size=2), "batch_size must be an integer >= 1, got 0"),
    (dict(ids=np.arange(10), batch_size=2, time_size=1.5), "time_size must be an integer >= 1"),
    (dict(ids=np.arange(3), batch_size=3, time_size=2), "3 ids are too few for batch_size=3; at least 4"),
    (dict(ids=np.arange(10), batch_size=3, time_size=4, drop_last=True), "at least 13 are needed"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BPTTBatches(**kwargs)


def test_repr():
    assert repr(BPTTBatches(np.arange(23), 3, 3)) == \
        "BPTTBatches(batch_size=3, time_size=3, stream_length=7, windows=3)"
