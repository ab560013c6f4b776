"""Things found by name: optimizers, schedules, metrics, activations, losses, initialisations.

A :class:`Registry` is a dict from name to class (or function) that also knows what kind of
thing it holds, so that a name it lacks is refused in one wording everywhere::

    OPTIMIZERS = Registry("optimizer", {"sgd": SGD, "adam": Adam}, fold_case=True)
    OPTIMIZERS.lookup("AdamW")
    # ValueError: unknown optimizer 'AdamW'; choose one of ['adam', 'sgd']

Being a dict, a registry serves builders and command lines as it is: ``sorted(OPTIMIZERS)``
for ``choices``, ``name in OPTIMIZERS``, ``OPTIMIZERS['adam']``. A new piece joins with one
line beside its class, ``@ACTIVATIONS.register("gelu")``, so adding it touches one file.
"""

__all__ = ["Registry", "lookup"]


def lookup(registry, name, kind, owner=None, fold_case=False, hint=None):
    """``registry[name]``, or a ValueError naming the kind and listing the choices.

    Parameters
    ----------
    registry : Mapping
        Names to entries; its keys are the choices shown, sorted.
    name : object
        Only a string can be found; anything else is an unknown name.
    kind : str
        What the entries are, in words: ``'optimizer'``, ``'lr schedule'``.
    owner : str, optional
        Who asks, put before the message (``'Trainer: unknown metric ...'``).
    fold_case : bool
        Find ``name.lower()``: for registries whose keys are lower case and whose names
        are typed by people (``get_optimizer('Adam')``).
    hint : str, optional
        Said after the choices, for a caller that accepts more than names
        (``'or pass a Metric'``).

    Raises
    ------
    ValueError
        ``"{owner}: unknown {kind} {name!r}; choose one of [...] {hint}"``.
    """
    if isinstance(name, str):
        key = name.lower() if fold_case else name
        if key in registry:
            return registry[key]
    message = f"unknown {kind} {name!r}; choose one of {sorted(registry)}"
    if hint:
        message = f"{message} {hint}"
    if owner:
        message = f"{owner}: {message}"
    raise ValueError(message)


class Registry(dict):
    """A dict of named entries of one ``kind`` whose :meth:`lookup` refuses unknown names
    with the choices listed (see :func:`lookup`).

    Parameters
    ----------
    kind : str
        What the entries are, in words, as the error message says it.
    entries : Mapping or iterable of (name, entry), optional
        The first entries; more join through :meth:`register`.
    fold_case : bool
        Names are looked up in lower case; every key must then be lower case.
    hint : str, optional
        Said after the choices in the error (``'or pass a Metric'``).
    """

    def __init__(self, kind, entries=(), fold_case=False, hint=None):
        super().__init__()
        self.kind = kind
        self.fold_case = fold_case
        self.hint = hint
        for name, entry in dict(entries).items():
            self._add(name, entry)

    def _add(self, name, entry):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Registry of {self.kind}s: a name must be a non-empty string, got {name!r}")
        if self.fold_case and name != name.lower():
            raise ValueError(f"Registry of {self.kind}s: names are looked up in lower case, got {name!r}")
        if name in self:
            raise ValueError(f"Registry of {self.kind}s: {name!r} is already {self[name]!r}")
        self[name] = entry

    def register(self, name):
        """A decorator that adds what it decorates under ``name`` and returns it unchanged::

            @ACTIVATIONS.register("relu")
            class Relu(Layer): ...

        A name already taken is a ValueError: two pieces never share a name.
        """
        def add(entry):
            self._add(name, entry)
            return entry
        return add

    def lookup(self, name, owner=None):
        """The entry called ``name``, or a ValueError ``"unknown {kind} {name!r}; choose one of [...]"``."""
        return lookup(self, name, self.kind, owner=owner, fold_case=self.fold_case, hint=self.hint)

    def __repr__(self):
        return f"Registry({self.kind!r}, {sorted(self)})"
