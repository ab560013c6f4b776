import importlib
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from bprop.layers.parallel import blas_threads, run_chunks
from bprop.layers import Affine, Convolution, GlobalAvgPool
from bprop.networks import DeepConvNet, Residual, Sequential, SimpleConvNet, small_resnet

pytestmark = pytest.mark.skipif(
    not any(lib["user_api"] == "blas" for lib in threadpool_info()),
    reason="threadpoolctl finds no BLAS to set threads on",  # NumPy wheels always bring OpenBLAS
)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_run_chunks_calls_every_chunk_once_with_one_blas_thread_each(threads):
    seen, blas_seen, names = [], [], set()

    def work(i):
        time.sleep(0.002)  # long enough for every thread to take a chunk
        seen.append(i)
        blas_seen.append(blas_threads())
        names.add(threading.current_thread().name)

    with threadpool_limits(threads, user_api="blas"):
        run_chunks(work, 12)
        assert blas_threads() == threads  # restored
    assert sorted(seen) == list(range(12))
    assert set(blas_seen) == ({threads} if threads == 1 else {1})
    assert len(names) == threads


def test_run_chunks_raises_a_chunks_error_after_every_thread_stopped_and_restores_the_blas():
    done = []

    def work(i):
        if i == 3:
            raise ValueError("chunk 3 failed")
        time.sleep(0.002)
        done.append(i)

    with threadpool_limits(2, user_api="blas"):
        with pytest.raises(ValueError, match="chunk 3 failed"):
            run_chunks(work, 40)
        assert blas_threads() == 2
    assert len(done) < 39  # the other thread stopped taking chunks


def _forked_child(queue):
    out = []
    with threadpool_limits(2, user_api="blas"):
        run_chunks(out.append, 8)
    queue.put(sorted(out))


def test_run_chunks_works_in_a_forked_child_after_the_parent_used_its_threads():
    with threadpool_limits(2, user_api="blas"):
        run_chunks(lambda i: time.sleep(0.001), 4)  # the parent's pool has threads now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_forked_child, args=(queue,))
    child.start()
    child.join(30)
    assert child.exitcode == 0, "the child hung or failed"
    assert queue.get(timeout=5) == list(range(8))


@pytest.mark.parametrize("stride, pad, keep", [(1, 1, False), (2, 1, False), (1, 0, True)])
def test_convolution_gives_the_same_bits_on_one_and_two_threads(monkeypatch, stride, pad, keep):
    import bprop.layers.convolution as conv_module
    im2col_module = importlib.import_module("bprop.layers.im2col")  # the module: bprop.layers.im2col is also a function

    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1)  # every sample its own chunk
    monkeypatch.setattr(conv_module, "KEEP_COL_BYTES", 1 << 30 if keep else 0)
    rng = np.random.default_rng(stride + pad)
    x = rng.standard_normal((9, 3, 10, 10)).astype(np.float32)
    results = []
    for threads in (1, 2):
        layer = Convolution(3, 5, 3, stride=stride, pad=pad, rng=1, dtype=np.float32, algorithm="im2col")
        with threadpool_limits(threads, user_api="blas"):
            y = layer.forward(x)
            assert (layer._unrolled.kept is not None) == keep
            dx = layer.backward(np.cos(y))
        results.append((y, dx, layer.dW, layer.db))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def _small_resnet(dtype, rng):
    return small_resnet(width=4, dtype=dtype, rng=rng)


@pytest.mark.parametrize("net_class", [SimpleConvNet, DeepConvNet, _small_resnet])
def test_conv_nets_give_the_same_gradients_on_one_and_two_threads(net_class):
    rng = np.random.default_rng(0)
    x = rng.random((20, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, 20)
    grads = []
    for threads in (1, 2):
        net = net_class(dtype=np.float32, rng=0)
        with threadpool_limits(threads, user_api="blas"):
            grads.append(net.gradient(x, t))
    for key in grads[0]:
        np.testing.assert_array_equal(grads[0][key], grads[1][key], err_msg=key)


def test_only_networks_with_layers_that_split_their_work_take_the_threads_from_the_blas():
    from bprop.networks import MultiLayerNet

    seen = []
    mlp = MultiLayerNet(784, [50], 10, rng=0)
    conv = SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1},
                         hidden_size=5, rng=0)
    # a network whose only convolution sits inside a Residual block
    resnet = Sequential([Residual([Convolution(1, 1, 3, 1, 1)]), GlobalAvgPool(), Affine(1, 2)],
                        input_shape=(1, 8, 8), rng=0)
    with threadpool_limits(2, user_api="blas"):
        for net in (mlp, conv, resnet):
            with net.threads():
                seen.append(blas_threads())
    assert seen == [2, 1, 1]  # an MLP keeps the BLAS's own threading


def test_affine_cuts_its_products_only_inside_chunk_threads_and_the_same_way_for_any_thread_count():
    from bprop.layers.parallel import MIN_SPLIT, SPLIT_BLOCKS, blocks, chunk_threads

    assert SPLIT_BLOCKS == 2
    per_row = -(-MIN_SPLIT // 100)  # the least work per row at which 100 rows are cut
    assert blocks(100, per_row) == [slice(0, 100)]  # outside chunk_threads: the textbook product
    for threads in (1, 2, 3):
        with threadpool_limits(threads, user_api="blas"):
            assert blocks(100, per_row) == [slice(0, 100)]
            with chunk_threads():
                assert blocks(100, per_row) == [slice(0, 50), slice(50, 100)]
                assert blocks(100, MIN_SPLIT // 100 - 1) == [slice(0, 100)]
                assert blocks(1, MIN_SPLIT) == [slice(0, 1)]
                with chunk_threads():  # reentrant
                    assert blas_threads() == 1
                assert blas_threads() == 1
            assert blas_threads() == threads


def test_affine_gives_the_same_bits_in_blocks_on_one_two_and_three_threads():
    from bprop.layers import Affine
    from bprop.layers.parallel import chunk_threads

    rng = np.random.default_rng(4)
    # 45 rows: blocks of 22 and 23, neither a multiple of any kernel's row tile
    x = rng.standard_normal((45, 3, 10, 10)).astype(np.float32)
    dout = rng.standard_normal((45, 700)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        layer = Affine(300, 700, rng=0, dtype=np.float32)
        with threadpool_limits(threads, user_api="blas"), chunk_threads():
            results.append((layer.forward(x), layer.backward(dout), layer.dW, layer.db))
    for other in results[1:]:
        for one, two in zip(results[0], other):
            np.testing.assert_array_equal(one, two)


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


#: OpenBLAS's two x86-64 kernel families the project's machines run, and the CPU flags
#: each needs; their float products round differently, and the thread tests must hold on both
KERNELS = {"Haswell": {"avx2", "fma"}, "SkylakeX": {"avx512f", "avx512bw", "avx512vl", "avx512dq"}}
_CHILD = "BPROP_TEST_KERNEL_CHILD"


@pytest.mark.skipif(bool(os.environ.get(_CHILD)), reason="already the child run of one kernel")
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_thread_count_tests_hold_under_each_blas_kernel_family(kernel):
    """The tests above that compare bits across thread counts, run again in a fresh process
    with ``OPENBLAS_CORETYPE=kernel`` (read by OpenBLAS when NumPy loads it)."""
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if pinned and pinned.lower() != kernel.lower():
        pytest.skip(f"this machine pins OPENBLAS_CORETYPE={pinned}; another kernel is not to be forced here")
    if not KERNELS[kernel] <= _cpu_flags():
        pytest.skip(f"this CPU lacks {sorted(KERNELS[kernel] - _cpu_flags())} for OpenBLAS's {kernel} kernels")
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, **{_CHILD: "1"})
    probe = subprocess.run(
        [sys.executable, "-c", "import numpy; from threadpoolctl import threadpool_info; "
         "print(*[i['architecture'] for i in threadpool_info() if i['user_api'] == 'blas'])"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    assert probe.stdout.split() and all(a.lower() == kernel.lower() for a in probe.stdout.split()), probe.stdout
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "same_bits or same_gradients"],
        env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
