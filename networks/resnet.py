"""A small residual network for 28x28 images, built from :class:`~bprop.networks.residual.Residual` blocks.

The CIFAR ResNets of He et al. (2016, section 4.2) scaled to one-channel 28x28 images: a 3x3
convolution, then three stages of basic blocks at ``width``, ``2 width`` and ``4 width``
channels on 28x28, 14x14 and 7x7 maps, global average pooling and one affine layer. The
first block of the second and third stages halves the map with stride 2 and widens it; its
shortcut is a 1x1 convolution with stride 2 followed by batch norm (option B of the paper).
With ``stem_stride=2`` the first convolution halves the image instead, and the stages work
on 14x14, 7x7 and 4x4 maps: at twice the width, about as many multiply-adds per image as
the 28x28 version and half the activations to normalise, so a step takes less time.
"""

from bprop.layers import Affine, BatchNormalization, Convolution, Relu, SoftmaxWithLoss
from bprop.layers.checks import check_dtype, check_int
from bprop.layers.global_pool import GlobalAvgPool

from .residual import Residual
from .sequential import Sequential


def basic_block(c_in, c_out, stride, dtype):
    """``Residual(conv3x3 - BN - ReLU - conv3x3 - BN)``, then a ReLU: ResNet's basic block.

    Returns the two layers ``[Residual, Relu]``. The shortcut is the identity when the
    shape stays, else a 1x1 convolution with ``stride`` and a batch norm.
    """
    block = [Convolution(c_in, c_out, 3, stride, 1, dtype=dtype), BatchNormalization(c_out, dtype=dtype), Relu(),
             Convolution(c_out, c_out, 3, 1, 1, dtype=dtype), BatchNormalization(c_out, dtype=dtype)]
    projection = None
    if stride != 1 or c_in != c_out:
        projection = [Convolution(c_in, c_out, 1, stride, 0, dtype=dtype), BatchNormalization(c_out, dtype=dtype)]
    return [Residual(block, projection), Relu()]


def resnet_layers(width=16, blocks=(1, 1, 1), in_channels=1, classes=10, dtype="float32", strides=(1, 2, 2),
                  stem_stride=1):
    """The layers of a small ResNet (see the module): stem, three stages, pooling, classifier.

    Parameters
    ----------
    width : int >= 1, the channels of the first stage (then 2x and 4x).
    blocks : three ints >= 1, basic blocks per stage (``(1, 1, 1)``: 8 weight layers with
        the stem and the classifier, ``(3, 3, 3)``: ResNet-20).
    in_channels, classes : the image's channels and the number of classes.
    dtype : the parameters' dtype.
    strides : three ints >= 1, the stride of each stage's first block (He et al.: 1, 2, 2).
    stem_stride : int >= 1, the stride of the first convolution: 2 halves the map before the
        stages, so that they work on 14x14, 7x7 and 4x4 maps of a 28x28 image.
    """
    width = check_int("resnet_layers", "width", width)
    blocks = tuple(blocks)
    if len(blocks) != 3:
        raise ValueError(f"resnet_layers: blocks must be three counts, one per stage, got {blocks!r}")
    blocks = tuple(check_int("resnet_layers", "blocks", n) for n in blocks)
    strides = tuple(strides)
    if len(strides) != 3:
        raise ValueError(f"resnet_layers: strides must be three strides, one per stage, got {strides!r}")
    strides = tuple(check_int("resnet_layers", "strides", k) for k in strides)
    stem_stride = check_int("resnet_layers", "stem_stride", stem_stride)
    dtype = check_dtype("resnet_layers", dtype)
    layers = [Convolution(in_channels, width, 3, stem_stride, 1, dtype=dtype), BatchNormalization(width, dtype=dtype),
              Relu()]
    c = width
    for stage, n in enumerate(blocks):
        c_out = width * 2 ** stage
        for i in range(n):
            layers += basic_block(c, c_out, strides[stage] if i == 0 else 1, dtype)
            c = c_out
    return layers + [GlobalAvgPool(), Affine(c, classes, dtype=dtype)]


def small_resnet(width=16, blocks=(1, 1, 1), input_shape=(1, 28, 28), classes=10, dtype="float32", rng=None,
                 label_smoothing=0.0, strides=(1, 2, 2), stem_stride=1):
    """A :class:`Sequential` of :func:`resnet_layers` with a softmax cross-entropy loss
    (``label_smoothing`` as :class:`~bprop.layers.SoftmaxWithLoss`), He-initialised from
    ``rng`` (batch norm's gamma 1 and beta 0)."""
    layers = resnet_layers(width, blocks, input_shape[0], classes, dtype, strides, stem_stride)
    return Sequential(layers, loss=SoftmaxWithLoss(label_smoothing=label_smoothing), input_shape=input_shape,
                      dtype=dtype, rng=rng, init="he")
