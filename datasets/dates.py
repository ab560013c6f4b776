"""A generated sequence-to-sequence task: dates as people write them, to be rewritten as ISO 8601.

Every problem is a date between 1970-01-01 and 2029-12-31 written in one of twelve ways
(:data:`DATE_FORMATS`), with month and weekday names in full or abbreviated and in lower
case, title case or capitals, and its answer, the same date as ``YYYY-MM-DD``::

    question "TUESDAY, NOVEMBER 29, 2005     "    answer "_2005-11-29"
    question "8/23/08                        "    answer "_2008-08-23"
    question "27.09.94                       "    answer "_1994-09-27"

Questions are padded with spaces to :data:`QUESTION_LENGTH` characters; answers start with
the symbol ``_``, which a decoder is fed first (``answer[:, :-1]`` in, ``answer[:, 1:]`` out).
Slashes put the month first (as in the US), dots the day (as in much of Europe), and a
two-digit year ``yy`` is 19yy from 70 on and 20yy below, so every question has one answer.
The textbook (Saito, *Deep Learning from Scratch 2*, ch. 8) reads a file of such dates;
this module makes them, so nothing is downloaded. Names are English, written by the module
itself rather than by ``strftime``, whose names follow the machine's locale.
"""

import datetime
from typing import NamedTuple

from bprop.datasets.text import Vocabulary
from bprop.layers.checks import check_int
from bprop.layers.rng import make_rng

#: padding, filling questions to their fixed length
PAD = " "
#: the first character of every answer, the decoder's first input
START = "_"
#: the first and last dates of the task
FIRST_DATE, LAST_DATE = datetime.date(1970, 1, 1), datetime.date(2029, 12, 31)
#: the dates in that range: 21915
N_DATES = (LAST_DATE - FIRST_DATE).days + 1

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
#: in the order of ``datetime.date.weekday()``, Monday first
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: how a date is written: ``str.format`` templates over the fields of :func:`date_fields`
DATE_FORMATS = {
    "month d, yyyy": "{month} {d}, {yyyy}",                      # september 27, 1994
    "mon d, yyyy": "{mon} {d}, {yyyy}",                          # Sep 27, 1994
    "weekday, month d, yyyy": "{weekday}, {month} {d}, {yyyy}",  # TUESDAY, SEPTEMBER 27, 1994
    "wkd, mon d, yyyy": "{wkd}, {mon} {d}, {yyyy}",              # Tue, Sep 27, 1994
    "d month yyyy": "{d} {month} {yyyy}",                        # 27 September 1994
    "d mon yyyy": "{d} {mon} {yyyy}",                            # 27 sep 1994
    "m/d/yy": "{m}/{d}/{yy}",                                    # 9/27/94
    "m/d/yyyy": "{m}/{d}/{yyyy}",                                # 9/27/1994
    "yyyy/mm/dd": "{yyyy}/{mm}/{dd}",                            # 1994/09/27
    "dd.mm.yy": "{dd}.{mm}.{yy}",                                # 27.09.94
    "dd.mm.yyyy": "{dd}.{mm}.{yyyy}",                            # 27.09.1994
    "yyyy-mm-dd": "{yyyy}-{mm}-{dd}",                            # 1994-09-27
}
#: how the letters of a question are written
CASES = ("lower", "title", "upper")
#: the longest question: "wednesday, september 27, 1994"
QUESTION_LENGTH = 29
#: "_" and "YYYY-MM-DD"
ANSWER_LENGTH = 11

_NAMES = "".join(MONTHS + WEEKDAYS)
#: every character a question or answer can hold, in sorted order: ' ' is id 0
DATES_VOCAB = Vocabulary(sorted(set(PAD + START + ",-./0123456789" + _NAMES + _NAMES.upper())))


class DateProblems(NamedTuple):
    """Training and test problems as ids, and the vocabulary that decodes them."""

    #: (x, t): questions (N, QUESTION_LENGTH) and answers (N, ANSWER_LENGTH), int64 ids
    train: tuple
    #: (x, t) of dates that no training problem holds
    test: tuple
    #: :data:`DATES_VOCAB`; ``vocab.decode(x)`` gives the questions as text
    vocab: Vocabulary


def date_fields(day):
    """The pieces a format writes ``day`` with: names in lower case, numbers with and
    without leading zeros (``d`` 7, ``dd`` 07; ``m``, ``mm``; ``yy`` 94, ``yyyy`` 1994)."""
    month, weekday = MONTHS[day.month - 1], WEEKDAYS[day.weekday()]
    return {"month": month, "mon": month[:3], "weekday": weekday, "wkd": weekday[:3],
            "d": str(day.day), "dd": f"{day.day:02d}", "m": str(day.month), "mm": f"{day.month:02d}",
            "yy": f"{day.year % 100:02d}", "yyyy": str(day.year)}


def write_date(day, form, case="lower"):
    """``day`` (a ``datetime.date``) written in the format named ``form`` of
    :data:`DATE_FORMATS`, its letters in ``case`` (one of :data:`CASES`)."""
    if form not in DATE_FORMATS:
        raise ValueError(f"write_date: form must be one of {sorted(DATE_FORMATS)}, got {form!r}")
    if case not in CASES:
        raise ValueError(f"write_date: case must be one of {CASES}, got {case!r}")
    text = DATE_FORMATS[form].format(**date_fields(day))
    return {"lower": text, "title": text.title(), "upper": text.upper()}[case]


def _problems(days, forms, cases):
    """(question, answer) of every day index, written in the format and case of the same index."""
    names = list(DATE_FORMATS)
    pairs = []
    for day, f, c in zip(days.tolist(), forms.tolist(), cases.tolist()):
        day = FIRST_DATE + datetime.timedelta(days=day)
        pairs.append((write_date(day, names[f], CASES[c]), START + day.isoformat()))
    return pairs


def _draw(rng, days, count):
    """``count`` distinct problems from ``days`` (indices), drawn with replacement: each
    problem's format uniform over :data:`DATE_FORMATS`, then its case over :data:`CASES`;
    a question drawn again is drawn anew."""
    seen, pairs = set(), []
    while len(pairs) < count:
        m = 2 * (count - len(pairs)) + 16
        new = _problems(rng.choice(days, m), rng.integers(0, len(DATE_FORMATS), m), rng.integers(0, len(CASES), m))
        for question, answer in new:
            if question not in seen:  # a numeric format reads the same in every case
                seen.add(question)
                pairs.append((question, answer))
                if len(pairs) == count:
                    break
    return pairs


def _encode(pairs):
    questions = "".join(q.ljust(QUESTION_LENGTH, PAD) for q, _ in pairs)
    answers = "".join(a for _, a in pairs)
    x = DATES_VOCAB.encode(questions).reshape(len(pairs), QUESTION_LENGTH)
    return x, DATES_VOCAB.encode(answers).reshape(len(pairs), ANSWER_LENGTH)


def make_dates(n_train=45000, n_test=5000, reverse=False, rng=None):
    """Dates written many ways, to be rewritten as ``YYYY-MM-DD``; training and test dates apart.

    The 21915 dates from 1970-01-01 to 2029-12-31 are shuffled; the first ``n_test`` are
    the test dates, one problem each, and the others the training dates, from which the
    ``n_train`` training problems are drawn with replacement (a date appears in several
    ways). No date is in both sets, so a model is tested on days it never saw. Each problem
    draws its format from :data:`DATE_FORMATS` uniformly and its letters' case from
    :data:`CASES`; no question repeats. The same ``rng`` seed gives the same problems.

    Parameters
    ----------
    n_train : int >= 1, at most 10 problems per training date.
    n_test : int >= 1, at most half the dates (10957).
    reverse : bool, default False
        Reverse every question, padding included (``"   ... 4991 ,72 rebmetpes"``): the
        first characters the decoder needs are then the encoder's last (Sutskever et al., 2014).
    rng : None, int or np.random.Generator

    Returns
    -------
    DateProblems ``(train, test, vocab)``, ``train = (x, t)``: x : (n_train, 29) int64, the
    questions; t : (n_train, 11) int64, the answers with the start symbol first.
    """
    n_train = check_int("make_dates", "n_train", n_train)
    n_test = check_int("make_dates", "n_test", n_test)
    if n_test > N_DATES // 2:
        raise ValueError(f"make_dates: n_test must be at most {N_DATES // 2} (half the {N_DATES} dates "
                         f"from {FIRST_DATE} to {LAST_DATE}, one problem each), got {n_test}")
    train_dates = N_DATES - n_test
    if n_train > 10 * train_dates:
        raise ValueError(f"make_dates: n_train must be at most {10 * train_dates} (10 problems for each of the "
                         f"{train_dates} training dates), got {n_train}")
    rng = make_rng(rng)
    days = rng.permutation(N_DATES)
    test_days = days[:n_test]
    test = _problems(test_days, rng.integers(0, len(DATE_FORMATS), n_test), rng.integers(0, len(CASES), n_test))
    train = _draw(rng, days[n_test:], n_train)
    (x, t), (x_test, t_test) = _encode(train), _encode(test)
    if reverse:
        x, x_test = x[:, ::-1].copy(), x_test[:, ::-1].copy()
    return DateProblems((x, t), (x_test, t_test), DATES_VOCAB)
