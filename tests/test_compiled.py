"""The compiled loops (bprop.layers.compiled): deferred until used, and the formulas they
replace, bit for bit."""

import subprocess
import sys

import numpy as np
import pytest

from bprop.layers import embedding, lstm
from bprop.layers.compiled import compiled


def test_importing_the_library_leaves_numba_unimported():
    """An MLP never runs a compiled loop, so its process never pays numba's import."""
    code = ("import sys; import numpy as np; import bprop.layers, bprop.networks, bprop.optim, bprop.datasets; "
            "from bprop.networks import MultiLayerNet; "
            "MultiLayerNet(4, [3], 2, rng=0).gradient(np.zeros((2, 4)), np.array([0, 1])); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_grads_give_the_bits_of_their_formula_over_whole_arrays(dtype):
    rng = np.random.default_rng(3)
    n, hs = 5, 7
    dh, dc, c_prev = (rng.standard_normal((n, hs)).astype(dtype) for _ in range(3))
    gates, tanh_c = rng.random((n, 4 * hs)).astype(dtype), np.tanh(rng.standard_normal((n, hs))).astype(dtype)
    i, f, g, o = (gates[:, k * hs:(k + 1) * hs] for k in range(4))
    dc_t = dc + dh * o * (1.0 - tanh_c * tanh_c)
    expected = np.concatenate([dc_t * g * i * (1.0 - i), dc_t * c_prev * f * (1.0 - f), dc_t * i * (1.0 - g * g),
                               dh * tanh_c * o * (1.0 - o)], axis=1)
    da, dc_prev = np.empty_like(gates), dc.copy()
    lstm.gate_grads(dh, dc, gates, c_prev, tanh_c, da, dc_prev)
    assert da.dtype == dtype and dc_prev.dtype == dtype
    np.testing.assert_array_equal(da, expected)
    np.testing.assert_array_equal(dc_prev, dc_t * f)
    lstm.gate_grads(dh, dc, gates, c_prev, tanh_c, da, dc)  # dc_prev may be dc itself
    np.testing.assert_array_equal(dc, dc_t * f)
    # the first call made every compiled function of the module a numba dispatcher
    assert all(hasattr(getattr(lstm, name), "py_func") for name in ("gate_grads", "scaled_sum", "gates_and_cell"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gates_and_cell_give_the_bits_of_the_step_over_whole_arrays(dtype):
    rng = np.random.default_rng(4)
    n, hs = 3, 5
    s = lstm.gate_scale(hs, dtype)
    a, ax, c_prev = (rng.standard_normal(shape).astype(dtype) for shape in ((n, 4 * hs), (n, 4 * hs), (n, hs)))
    t = np.tanh((a + ax) * s)
    gates = t * s + (1.0 - s)
    i, f, g = gates[:, :hs], gates[:, hs:2 * hs], gates[:, 2 * hs:3 * hs]
    got = a.copy()
    lstm.scaled_sum(got, ax, s)
    np.testing.assert_array_equal(got, (a + ax) * s)
    np.tanh(got, out=got)
    c = np.empty_like(c_prev)
    lstm.gates_and_cell(got, s, c_prev, c)
    np.testing.assert_array_equal(got, gates)
    np.testing.assert_array_equal(c, f * c_prev + i * g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_rows_is_np_add_at(dtype):
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 6, 200).astype(np.int32)  # every id many times
    rows = rng.standard_normal((200, 3)).astype(dtype)
    expected, got = np.full((6, 3), 0.5, dtype), np.full((6, 3), 0.5, dtype)
    np.add.at(expected, ids, rows)
    embedding.add_rows(got, ids, rows)
    np.testing.assert_array_equal(got, expected)


def _double(a):
    for i in range(a.shape[0]):
        a[i] *= 2.0


_double = compiled(_double)
_KEPT = [_double]  # a reference taken before the first call, as ``from module import f`` takes one


def test_a_kept_reference_calls_the_compiled_function_after_the_first_call():
    kept = _KEPT[0]
    a = np.arange(3.0)
    kept(a)
    kept(a)
    np.testing.assert_array_equal(a, [0.0, 4.0, 8.0])
    assert kept.dispatcher is _double and _double.py_func is kept.function  # the module's name rebound too


def test_a_compiled_function_outside_its_modules_namespace_is_a_clear_error():
    def local(a):
        a[0] = 1.0

    with pytest.raises(TypeError, match="compiled: .*local must be a module-level function"):
        compiled(local)(np.zeros(1))
