"""What word vectors are for: nearest neighbours by cosine, analogies, a 2-D picture.

Each function takes the vectors ``word_vecs`` (V, H) (row ``i`` is word ``i``) and a
vocabulary with ``words`` (a sequence, ``words[i]`` the word of id ``i``) and ``index``
(``{word: id}``), such as :class:`bprop.datasets.words.WordVocabulary`.
"""

import numpy as np

from bprop.layers.checks import check_int


def normalize_rows(x):
    """``x / ||x||`` row by row; a zero row stays zero (its cosine with anything is 0)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0.0, 1.0, norms)


def cosine_similarity(x, y):
    """``x . y / (||x|| ||y||)`` of two vectors (0 when either is zero)."""
    return float(np.dot(normalize_rows(x), normalize_rows(y)))


def _check(owner, vocab, word_vecs, words, top):
    word_vecs = np.asarray(word_vecs)
    if word_vecs.ndim != 2 or word_vecs.shape[0] != len(vocab.words):
        raise ValueError(f"{owner}: word_vecs must be (V, H) with V = {len(vocab.words)} (the vocabulary), "
                         f"got shape {word_vecs.shape}")
    unknown = [w for w in words if w not in vocab.index]
    if unknown:
        raise ValueError(f"{owner}: {unknown[0]!r} is not in the vocabulary")
    return word_vecs, check_int(owner, "top", top)


def _ranked(similarity, vocab, exclude, top):
    similarity = similarity.copy()
    similarity[[vocab.index[w] for w in exclude]] = -np.inf
    order = np.argsort(-similarity, kind="stable")[:top]
    return [(vocab.words[i], float(similarity[i])) for i in order if np.isfinite(similarity[i])]


def most_similar(word, vocab, word_vecs, top=5):
    """The ``top`` words whose vectors have the largest cosine with ``word``'s, itself excluded.

    Returns a list of ``(word, cosine)``, most similar first.
    """
    word_vecs, top = _check("most_similar", vocab, word_vecs, [word], top)
    unit = normalize_rows(word_vecs)
    return _ranked(unit @ unit[vocab.index[word]], vocab, [word], top)


def analogy(a, b, c, vocab, word_vecs, top=5):
    """``a : b :: c : ?``, answered by the words nearest to ``b - a + c`` (3CosAdd).

    The three vectors are normalised first, and the words are ranked by their cosine with
    ``unit(b) - unit(a) + unit(c)`` (Mikolov et al., 2013), the question words excluded:
    ``analogy('king', 'queen', 'man', ...)`` looks for the word that is to man what queen
    is to king. Returns a list of ``(word, cosine)``, best first.
    """
    word_vecs, top = _check("analogy", vocab, word_vecs, [a, b, c], top)
    unit = normalize_rows(word_vecs)
    ia, ib, ic = (vocab.index[w] for w in (a, b, c))
    query = normalize_rows(unit[ib] - unit[ia] + unit[ic])
    return _ranked(unit @ query, vocab, [a, b, c], top)


def pca_2d(x):
    """The rows of ``x`` (n, H) projected on their first two principal axes: (n, 2).

    The rows are centred and the right singular vectors of the centred matrix are the
    principal axes (``x_c = U S V^T``, the projection is ``x_c V[:, :2] = U[:, :2] S[:2]``).
    Each axis's sign is chosen so that its largest coordinate is positive, which makes the
    picture the same on every machine.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"pca_2d: x must be (n, H) with n >= 2 and H >= 2, got shape {x.shape}")
    centred = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    points = u[:, :2] * s[:2]
    signs = np.sign(points[np.argmax(np.abs(points), axis=0), [0, 1]])
    return points * np.where(signs == 0, 1.0, signs)
