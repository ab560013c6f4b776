"""AugmentedImages and flip_and_shift: what each picture becomes, the batches of a pass,
the seeded and resumable stream, bad arguments."""

import numpy as np
import pytest

from bprop.datasets.augment import AugmentedImages, flip_and_shift
from bprop.optim import Adam, Trainer
from bprop.networks import small_resnet


def test_flip_mirrors_along_the_width_and_shift_moves_in_zeros():
    x = np.arange(2 * 1 * 3 * 4, dtype=float).reshape(2, 1, 3, 4)
    y = flip_and_shift(x, np.array([True, False]), np.array([0, 1]), np.array([0, -1]))
    np.testing.assert_array_equal(y[0, 0], x[0, 0, :, ::-1])
    # image 1: one row down (a zero row on top), one column left (a zero column on the right)
    np.testing.assert_array_equal(y[1, 0], [[0, 0, 0, 0], [13, 14, 15, 0], [17, 18, 19, 0]])
    assert x[1, 0, 0, 0] == 12  # the input is left alone


def test_no_flip_and_no_shift_is_the_identity_for_every_channel():
    x = np.random.default_rng(0).random((3, 2, 5, 5))
    zeros = np.zeros(3, dtype=int)
    np.testing.assert_array_equal(flip_and_shift(x, np.zeros(3, bool), zeros, zeros), x)


def test_a_pass_covers_every_image_once_with_its_own_target():
    x = np.random.default_rng(1).random((10, 1, 6, 6)).astype(np.float32)
    t = np.arange(10)
    source = AugmentedImages(x, t, 4, flip=False, shift=0, rng=0)
    batches = list(source)
    assert len(source) == len(batches) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    for xb, tb in batches:
        np.testing.assert_array_equal(xb, x[tb])  # no augmentation asked: the images themselves
        assert xb.dtype == np.float32
    assert sorted(np.concatenate([tb for _, tb in batches])) == list(range(10))


def test_augmented_images_differ_from_the_originals_and_keep_their_shape():
    x = np.random.default_rng(2).random((64, 1, 8, 8))
    xb, tb = next(iter(AugmentedImages(x, np.arange(64), 64, shift=2, rng=3)))
    assert xb.shape == (64, 1, 8, 8)
    changed = [not np.array_equal(xb[i], x[tb[i]]) for i in range(64)]
    assert sum(changed) > 48  # (1/2 no flip) * (1/25 no shift): about 1 in 50 stays the same


def test_the_stream_is_seeded_and_continues_from_its_state():
    x, t = np.random.default_rng(4).random((20, 1, 6, 6)), np.arange(20)
    first = AugmentedImages(x, t, 5, rng=7)
    list(first)
    state = first.state_dict()
    after = [b[0] for b in first]
    again = AugmentedImages(x, t, 5, rng=99)
    again.load_state_dict(state)
    for a, b in zip(after, (b[0] for b in again)):
        np.testing.assert_array_equal(a, b)


def test_a_trainer_trains_a_resnet_on_augmented_batches():
    rng = np.random.default_rng(5)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, 64)
    net = small_resnet(width=2, rng=0)
    history = Trainer(net, Adam(lr=1e-2),
                      AugmentedImages(x, t, 32, rng=0), epochs=2, eval_train=False, verbose=0, rng=0).fit()
    assert history.n_epochs == 2 and np.isfinite(history["train_loss"]).all()


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.zeros((4, 6, 6)), np.zeros(4), 2), {}, r"x must be images \(N, C, H, W\)"),
    ((np.zeros((4, 1, 6, 6)), np.zeros(3), 2), {}, r"x must be images .* and t have N rows, got shapes \(4, 1, 6, 6\) and \(3,\)"),
    ((np.zeros((4, 1, 6, 6)), np.zeros(4), 0), {}, r"batch_size"),
    ((np.zeros((4, 1, 6, 6)), np.zeros(4), 2), {"shift": -1}, r"shift"),
    ((np.zeros((4, 1, 6, 6)), np.zeros(4), 2), {"shift": 6}, r"shift must be smaller than the image"),
    ((np.zeros((4, 1, 6, 6)), np.zeros(4), 2), {"flip": "yes"}, r"flip must be True or False"),
])
def test_bad_arguments_are_refused_by_name(args, kwargs, match):
    with pytest.raises(ValueError, match=r"^AugmentedImages: " + match):
        AugmentedImages(*args, **kwargs)
