"""Text as integer ids: a character vocabulary that encodes strings and decodes ids."""

import numpy as np


class Vocabulary:
    """A fixed list of characters; the id of a character is its position in the list.

    ``Vocabulary.from_text(text)`` takes the distinct characters of ``text`` in sorted
    (code point) order, as char-rnn and most character-level models do.

    Parameters
    ----------
    chars : iterable of distinct one-character strings, id 0 first.

    Attributes
    ----------
    chars : tuple of str, ``chars[i]`` is the character of id ``i``.
    index : dict ``{char: id}``.
    """

    def __init__(self, chars):
        chars = tuple(chars)
        if not chars:
            raise ValueError("Vocabulary: needs at least one character")
        bad = [c for c in chars if not (isinstance(c, str) and len(c) == 1)]
        if bad:
            raise ValueError(f"Vocabulary: every entry must be one character, got {bad[0]!r}")
        if len(set(chars)) != len(chars):
            twice = next(c for c in chars if chars.count(c) > 1)
            raise ValueError(f"Vocabulary: characters must be distinct, {twice!r} occurs twice")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}
        codes = np.array([ord(c) for c in chars], dtype=np.uint32)
        self._order = np.argsort(codes)  # ids sorted by code point, for searchsorted
        self._sorted_codes = codes[self._order]
        self._char_array = np.array(chars)

    @classmethod
    def from_text(cls, text):
        """The vocabulary of the distinct characters of ``text``, in code point order."""
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.chars == other.chars

    def __repr__(self):
        return f"Vocabulary({len(self)} characters: {''.join(self.chars)!r})"

    def encode(self, text):
        """``text`` as an int64 array of ids, shape ``(len(text),)``.

        A character outside the vocabulary raises a ValueError naming it and its position.
        """
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        pos = np.searchsorted(self._sorted_codes, codes)
        pos = np.minimum(pos, len(self.chars) - 1)
        known = self._sorted_codes[pos] == codes
        if not known.all():
            i = int(np.argmin(known))
            raise ValueError(f"Vocabulary.encode: character {text[i]!r} at position {i} is not in the vocabulary")
        return self._order[pos].astype(np.int64)

    def decode(self, ids):
        """Text for ``ids``: a str for a 1-D array, a list of str (one per row) for a 2-D one."""
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"Vocabulary.decode: ids must be integers, got dtype {ids.dtype}")
        if ids.ndim not in (1, 2):
            raise ValueError(f"Vocabulary.decode: ids must be 1-D or 2-D, got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.chars)):
            bad = ids.min() if ids.min() < 0 else ids.max()
            raise ValueError(f"Vocabulary.decode: id {bad} is outside [0, {len(self.chars)})")
        chars = self._char_array[ids]
        if ids.ndim == 1:
            return "".join(chars.tolist())
        return ["".join(row) for row in chars.tolist()]
