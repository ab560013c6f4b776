"""Networks chained from layer objects.

:class:`Sequential` chains any stack of bprop layers; ``MultiLayerNet``, the first
article's ``TwoLayerNet``, ``SimpleConvNet`` and ``DeepConvNet`` are builders on it, and
so is the language model ``RnnLM``. ``Seq2seq`` and ``PeekySeq2seq`` are Sequentials of two
chains, an encoder and a decoder, with their own forward and backward.
"""

from bprop.layers.init import init_scale

from .attention_seq2seq import AttentionSeq2seq
from .conv_net import DeepConvNet, SimpleConvNet
from .gpt import GPT
from .word2vec import CBOW, SkipGram, Word2Vec
from .word_vectors import analogy, cosine_similarity, most_similar, normalize_rows, pca_2d
from .multi_layer_net import MultiLayerNet, TwoLayerNet
from .rnnlm import RnnLM
from .seq2seq import PeekySeq2seq, Seq2seq
from .chain import Chain, name_layers, output_shapes
from .concat import Concat
from .residual import Residual
from .resnet import small_resnet
from .sequential import Sequential

__all__ = ["DeepConvNet", "MultiLayerNet", "PeekySeq2seq", "RnnLM", "Seq2seq", "Sequential", "SimpleConvNet",
           "TwoLayerNet", "init_scale", "name_layers", "output_shapes", "Chain", "Concat", "Residual",
           "small_resnet", "GPT", "CBOW", "SkipGram", "Word2Vec",
           "AttentionSeq2seq", "analogy", "cosine_similarity", "most_similar", "normalize_rows", "pca_2d"]
