"""The matrices of Winograd's minimal filtering F(m, 3) and their application to tiles.

Lavin and Gray (2016, "Fast algorithms for convolutional neural networks") compute ``m``
outputs of a 3-tap correlation ``y[i] = sum_k g[k] d[i + k]`` from ``alpha = m + 2``
inputs with ``alpha`` multiplications instead of ``3 m``:

``y = A^T [(G g) * (B^T d)]``, and in two dimensions ``Y = A^T [(G g G^T) * (B^T d B)] A``

for an ``alpha x alpha`` tile ``d`` of the image and a 3x3 filter ``g``; ``*`` is the
element-wise product. Summed over input channels, the element-wise products become, at each
of the ``alpha^2`` positions ``xi`` of a tile, one matrix product over all tiles and
channels: ``M[xi] = V[xi] @ U[xi]`` with ``V = B^T d B`` and ``U = G g G^T``.

The matrices come from polynomial interpolation at the points 0, 1, -1 (F(2, 3)) and 0,
±1, ±2 (F(4, 3)), plus the point at infinity. ``B^T`` and ``A^T`` have small integer
entries, mostly 0 and ±1, so they are applied here as a few whole-array additions and
subtractions (:func:`combine`), one row of the matrix at a time, never a loop over tiles.

The tile arrays are channels-last: an input tile view is ``(N, TH, TW, alpha, alpha, C)``,
the transformed tiles ``V`` are ``(alpha^2, P, C)`` with ``P = N*TH*TW`` tiles in (n, th, tw)
order, ``M`` and ``dM`` are ``(alpha^2, P, F)`` and an output tile view is
``(N, TH, TW, m, m, F)``.
"""

import numpy as np

#: ``tile m: (B^T, G, A^T)`` of F(m, 3), in float64
MATRICES = {
    2: (
        np.array([[1, 0, -1, 0],
                  [0, 1, 1, 0],
                  [0, -1, 1, 0],
                  [0, 1, 0, -1]], dtype=float),
        np.array([[1, 0, 0],
                  [1 / 2, 1 / 2, 1 / 2],
                  [1 / 2, -1 / 2, 1 / 2],
                  [0, 0, 1]]),
        np.array([[1, 1, 1, 0],
                  [0, 1, -1, -1]], dtype=float),
    ),
    4: (
        np.array([[4, 0, -5, 0, 1, 0],
                  [0, -4, -4, 1, 1, 0],
                  [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0],
                  [0, 4, 0, -5, 0, 1]], dtype=float),
        np.array([[1 / 4, 0, 0],
                  [-1 / 6, -1 / 6, -1 / 6],
                  [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6],
                  [0, 0, 1]]),
        np.array([[1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 0],
                  [0, 1, 1, 4, 4, 0],
                  [0, 1, -1, 8, -8, 1]], dtype=float),
    ),
}


def matrices(tile):
    """``(B^T, G, A^T)`` of F(tile, 3): (alpha, alpha), (alpha, 3) and (tile, alpha), float64.

    Raises ValueError for a tile size other than 2 or 4.
    """
    if tile not in MATRICES:
        raise ValueError(f"winograd: tile must be one of {sorted(MATRICES)}, got {tile!r}")
    return MATRICES[tile]


def combine(matrix, parts, outs):
    """``outs[i] = sum_k matrix[i, k] * parts[k]`` for every row ``i`` of ``matrix``.

    ``parts`` and ``outs`` are sequences of equally shaped arrays (views into tile arrays);
    zero coefficients are skipped and ±1 are additions and subtractions, so F(2, 3)'s
    ``B^T`` and ``A^T`` cost only whole-array adds. ``outs`` must not overlap ``parts``.
    """
    for row, out in zip(matrix, outs):
        terms = [(float(c), parts[k]) for k, c in enumerate(row) if c != 0]
        (c0, p0), rest = terms[0], terms[1:]
        if rest and c0 == 1 and abs(rest[0][0]) == 1:  # a + b or a - b in one pass
            (np.add if rest[0][0] == 1 else np.subtract)(p0, rest[0][1], out=out)
            rest = rest[1:]
        elif rest and c0 == -1 and rest[0][0] == 1:  # -a + b
            np.subtract(rest[0][1], p0, out=out)
            rest = rest[1:]
        elif c0 == 1:
            np.copyto(out, p0)
        elif c0 == -1:
            np.negative(p0, out=out)
        else:
            np.multiply(p0, c0, out=out)
        scaled = None
        for c, p in rest:
            if c == 1:
                out += p
            elif c == -1:
                out -= p
            else:
                scaled = np.multiply(p, c, out=scaled)
                out += scaled


def tiles_of(y, tile):
    """The writeable ``(N, TH, TW, m, m, F)`` view of the disjoint ``m x m`` tiles of a
    C-contiguous ``y : (N, TH*m, TW*m, F)``."""
    n, h, w, f = y.shape
    return y.reshape(n, h // tile, tile, w // tile, tile, f).transpose(0, 1, 3, 2, 4, 5)


def input_transform(tiles, bt, out):
    """``V = B^T d B`` of every tile and channel.

    tiles : (N, TH, TW, alpha, alpha, C), the input tiles ``d`` (a strided view);
    bt : (alpha, alpha), ``B^T``; out : (alpha^2, N*TH*TW, C), C-contiguous, written.
    """
    n, th, tw, alpha, _, c = tiles.shape
    rows = np.empty((alpha, n, th, tw, alpha, c), dtype=out.dtype)
    combine(bt, [tiles[:, :, :, a] for a in range(alpha)], rows)  # B^T d
    v = out.reshape(alpha, alpha, n, th, tw, c)
    combine(bt, [rows[..., b, :] for b in range(alpha)], [v[:, j] for j in range(alpha)])  # (B^T d) B


def output_transform(m, at, out):
    """``Y = A^T M A`` of every tile and filter.

    m : (alpha^2, N*TH*TW, F), the products ``M``; at : (tile, alpha), ``A^T``;
    out : (N, TH, TW, tile, tile, F), the output tiles (a view), written.
    """
    n, th, tw, tile, _, f = out.shape
    alpha = at.shape[1]
    m6 = m.reshape(alpha, alpha, n, th, tw, f)
    rows = np.empty((tile, alpha, n, th, tw, f), dtype=m.dtype)
    combine(at, m6, rows)  # A^T M
    y = out.transpose(3, 4, 0, 1, 2, 5)
    combine(at, [rows[:, j] for j in range(alpha)], [y[:, v] for v in range(tile)])  # (A^T M) A


def output_grad_transform(dy, at, out):
    """``dM = A dY A^T`` of every tile and filter, the adjoint of :func:`output_transform`.

    dy : (N, TH, TW, tile, tile, F), the output gradient's tiles (a view); at : (tile, alpha);
    out : (alpha^2, N*TH*TW, F), C-contiguous, written.
    """
    n, th, tw, tile, _, f = dy.shape
    alpha = at.shape[1]
    a = at.T
    rows = np.empty((alpha, tile, n, th, tw, f), dtype=out.dtype)
    combine(a, dy.transpose(3, 4, 0, 1, 2, 5), rows)  # A dY
    dm = out.reshape(alpha, alpha, n, th, tw, f)
    combine(a, [rows[:, v] for v in range(tile)], [dm[:, j] for j in range(alpha)])  # (A dY) A^T


def filter_transform(W, g_mat, dtype):
    """``U = G g G^T`` of every filter ``g = W[f, c]``, as (alpha^2, C, F) in ``dtype``.

    Computed in float64 (``G`` holds 1/6 and 1/24 for F(4, 3)) and rounded once; each side
    is one matrix product over all filters at once (``W G^T`` over the rows of every
    ``W[f, c]``, then ``G`` times that).
    """
    fn, c = W.shape[:2]
    alpha = g_mat.shape[0]
    t = W.astype(np.float64).reshape(fn * c * 3, 3) @ g_mat.T  # g G^T: rows (f, c, k)
    t = t.reshape(fn * c, 3, alpha).transpose(1, 0, 2).reshape(3, fn * c * alpha)
    u = (g_mat @ t).reshape(alpha, fn, c, alpha)  # G (g G^T): U[a, f, c, b]
    return np.ascontiguousarray(u.transpose(0, 3, 2, 1).reshape(alpha * alpha, c, fn), dtype=dtype)


def filter_grad_transform(du, g_mat, dtype):
    """``dW[f, c] = G^T dU G``, the adjoint of :func:`filter_transform`.

    du : (alpha^2, C, F); returns dW : (F, C, 3, 3) in ``dtype``.
    """
    alpha = g_mat.shape[0]
    _, c, fn = du.shape
    d = du.astype(np.float64).reshape(alpha, alpha * c * fn)  # dU[a, (b, c, f)]
    t = (g_mat.T @ d).reshape(3, alpha, c, fn)  # G^T dU: [k, b, c, f]
    t = t.transpose(3, 2, 0, 1).reshape(fn * c * 3, alpha)  # rows (f, c, k)
    return (t @ g_mat).reshape(fn, c, 3, 3).astype(dtype)  # (G^T dU) G
