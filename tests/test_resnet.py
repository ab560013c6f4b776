"""The small ResNet builder: its layers, shapes, parameters, gradients and bad arguments."""

import numpy as np
import pytest

from bprop.layers import Convolution, Relu
from bprop.layers.gradcheck import assert_gradients_close
from bprop.networks import Residual, small_resnet
from bprop.networks.resnet import basic_block, resnet_layers


def test_basic_block_keeps_the_identity_shortcut_when_the_shape_stays():
    residual, relu = basic_block(4, 4, 1, np.float64)
    assert isinstance(residual, Residual) and isinstance(relu, Relu)
    assert residual.projection is None
    assert residual.output_shape((4, 7, 7)) == (4, 7, 7)


def test_basic_block_projects_with_a_strided_1x1_convolution_when_it_widens():
    residual, _ = basic_block(4, 8, 2, np.float64)
    conv = next(iter(residual.projection.sublayers().values()))
    assert isinstance(conv, Convolution) and conv.W.shape == (8, 4, 1, 1) and conv.stride == 2
    assert residual.output_shape((4, 28, 28)) == (8, 14, 14)


def test_small_resnet_maps_28x28_images_through_three_stages_to_ten_scores():
    net = small_resnet(width=4, rng=0)
    assert net.dtype == np.float32 and net.output_shape == (10,)
    stages = [shape for name, shape in net.shapes.items() if name.startswith("Residual")]
    assert stages == [(4, 28, 28), (8, 14, 14), (16, 7, 7)]
    # stem 3x3 (1->4) + BN, block 4->4, block 4->8 with projection, block 8->16 with projection, 16->10
    convs = 1 * 4 * 9 + 4 + 2 * (4 * 4 * 9 + 4) + (4 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (4 * 8 + 8) \
        + (8 * 16 * 9 + 16) + (16 * 16 * 9 + 16) + (8 * 16 + 16)
    norms = 2 * (4 + 2 * 4 + 2 * 8 + 8 + 2 * 16 + 16)
    assert net.n_params() == convs + norms + 16 * 10 + 10
    scores = net.predict(np.zeros((2, 1, 28, 28), np.float32))
    assert scores.shape == (2, 10) and scores.dtype == np.float32


def test_a_strided_stem_runs_the_stages_on_14x14_7x7_and_4x4_maps():
    net = small_resnet(width=4, stem_stride=2, rng=0)
    assert net.shapes["Conv1"] == (4, 14, 14)
    assert [shape for name, shape in net.shapes.items() if name.startswith("Residual")] == [
        (4, 14, 14), (8, 7, 7), (16, 4, 4)]  # 7 -> 4: (7 + 2 - 3) // 2 + 1
    first = small_resnet(width=4, strides=(2, 2, 2), rng=0)
    assert [shape for name, shape in first.shapes.items() if name.startswith("Residual")] == [
        (4, 14, 14), (8, 7, 7), (16, 4, 4)]
    assert first.layers["Residual1"].projection is not None  # the first block now halves the map
    assert net.predict(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)


def test_small_resnet_backprop_equals_numerical_gradients_in_float64():
    net = small_resnet(width=2, blocks=(1, 2, 1), input_shape=(1, 8, 8), dtype=np.float64, rng=0)
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((4, 1, 8, 8)), np.array([0, 3, 5, 9])
    analytic, numeric = net.gradient_check(x, t)
    assert_gradients_close(analytic, numeric)


def test_resnet_20_has_three_blocks_per_stage():
    layers = resnet_layers(width=2, blocks=(3, 3, 3), dtype=np.float64)
    assert sum(isinstance(layer, Residual) for layer in layers) == 9


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0}, r"resnet_layers: width"),
    ({"blocks": (1, 1)}, r"resnet_layers: blocks must be three counts"),
    ({"blocks": (1, 0, 1)}, r"resnet_layers: blocks"),
    ({"dtype": "int32"}, r"resnet_layers"),
    ({"strides": (1, 2)}, r"resnet_layers: strides must be three strides"),
    ({"strides": (1, 0, 2)}, r"resnet_layers: strides"),
    ({"stem_stride": 0}, r"resnet_layers: stem_stride"),
])
def test_bad_resnet_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resnet_layers(**kwargs)


def test_small_resnet_passes_label_smoothing_to_its_loss():
    net = small_resnet(width=2, label_smoothing=0.1, rng=0)
    assert net.last_layer.label_smoothing == 0.1
    assert small_resnet(width=2, rng=0).last_layer.label_smoothing == 0.0
