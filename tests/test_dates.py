"""make_dates: every question read back with datetime gives its ISO answer, all formats and cases
occur, training and test dates are apart, the same seed gives the same problems, bad sizes refused."""

import datetime
import re

import numpy as np
import pytest

from bprop.datasets.dates import (ANSWER_LENGTH, CASES, DATE_FORMATS, DATES_VOCAB, FIRST_DATE, LAST_DATE, N_DATES,
                                  QUESTION_LENGTH, make_dates, write_date)

# how datetime reads each format (month and weekday names in any case, numbers with or without zeros)
STRPTIME = ["%B %d, %Y", "%b %d, %Y", "%A, %B %d, %Y", "%a, %b %d, %Y", "%d %B %Y", "%d %b %Y",
            "%m/%d/%y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%y", "%d.%m.%Y", "%Y-%m-%d"]
WEEKDAY = re.compile(r"^([A-Za-z]+), ")
# the twelve formats told apart by their shape alone
SHAPES = {
    "month d, yyyy": r"[a-z]{4,} \d{1,2}, \d{4}", "mon d, yyyy": r"[a-z]{3} \d{1,2}, \d{4}",
    "weekday, month d, yyyy": r"[a-z]{6,}, [a-z]{4,} \d{1,2}, \d{4}",
    "wkd, mon d, yyyy": r"[a-z]{3}, [a-z]{3} \d{1,2}, \d{4}",
    "d month yyyy": r"\d{1,2} [a-z]{4,} \d{4}", "d mon yyyy": r"\d{1,2} [a-z]{3} \d{4}",
    "m/d/yy": r"\d{1,2}/\d{1,2}/\d{2}", "m/d/yyyy": r"\d{1,2}/\d{1,2}/\d{4}", "yyyy/mm/dd": r"\d{4}/\d{2}/\d{2}",
    "dd.mm.yy": r"\d{2}\.\d{2}\.\d{2}", "dd.mm.yyyy": r"\d{2}\.\d{2}\.\d{4}", "yyyy-mm-dd": r"\d{4}-\d{2}-\d{2}",
}


def read_date(question):
    """The one date in range that datetime reads from ``question`` (several patterns may parse
    it, e.g. "9/27/94" as year 94 too; only one lands between 1970 and 2029)."""
    found = set()
    for pattern in STRPTIME:
        try:
            day = datetime.datetime.strptime(question, pattern).date()
        except ValueError:
            continue
        if FIRST_DATE <= day <= LAST_DATE:
            found.add(day)
    assert len(found) == 1, (question, found)
    day = found.pop()
    weekday = WEEKDAY.match(question)
    if weekday:  # strptime does not check the weekday against the date
        assert day.strftime("%A").lower().startswith(weekday.group(1).lower()), question
    return day


def texts(x, t):
    return DATES_VOCAB.decode(x), [a[1:] for a in DATES_VOCAB.decode(t)]


def test_dates_shapes_dtypes_padding_and_start_symbol():
    (x, t), (xt, tt), vocab = make_dates(300, 100, rng=0)
    assert x.shape == (300, QUESTION_LENGTH) == (300, 29) and t.shape == (300, ANSWER_LENGTH) == (300, 11)
    assert xt.shape == (100, 29) and tt.shape == (100, 11)
    assert x.dtype == t.dtype == np.int64 and vocab is DATES_VOCAB
    assert vocab.chars[0] == " " and "_" in vocab.index
    np.testing.assert_array_equal(t[:, 0], vocab.index["_"])
    for q in vocab.decode(np.concatenate([x, xt])):
        assert q == q.rstrip().ljust(29) and not q.startswith(" ")


def test_every_answer_is_the_iso_date_datetime_reads_from_the_question():
    (x, t), (xt, tt), _ = make_dates(3000, 1000, rng=1)
    for questions, answers in (texts(x, t), texts(xt, tt)):
        for q, a in zip(questions, answers):
            assert read_date(q.rstrip()).isoformat() == a


def test_every_format_and_case_occurs():
    (x, t), (xt, _), _ = make_dates(3000, 500, rng=2)
    questions = [q.rstrip() for q in DATES_VOCAB.decode(np.concatenate([x, xt]))]
    for name, shape in SHAPES.items():
        count = sum(bool(re.fullmatch(shape, q.lower())) for q in questions)
        assert count > 3500 / len(SHAPES) / 2, (name, count)
    worded = [q for q in questions if re.search("[A-Za-z]", q)]
    assert any(q == q.lower() for q in worded) and any(q == q.upper() for q in worded)
    assert any(q == q.title() and q != q.upper() for q in worded)
    assert len(DATE_FORMATS) >= 8 and set(SHAPES) == set(DATE_FORMATS)


def test_write_date_spells_the_textbook_examples():
    day = datetime.date(1994, 9, 27)
    assert write_date(day, "month d, yyyy") == "september 27, 1994"
    assert write_date(day, "mon d, yyyy", "title") == "Sep 27, 1994"
    assert write_date(datetime.date(2005, 11, 29), "weekday, month d, yyyy", "upper") == "TUESDAY, NOVEMBER 29, 2005"
    assert write_date(day, "d mon yyyy") == "27 sep 1994"
    assert write_date(datetime.date(2008, 8, 23), "m/d/yy") == "8/23/08"
    assert write_date(day, "dd.mm.yy") == "27.09.94" and write_date(day, "yyyy/mm/dd") == "1994/09/27"
    assert write_date(datetime.date(2001, 3, 4), "wkd, mon d, yyyy", "title") == "Sun, Mar 4, 2001"


def test_question_length_fits_the_longest_date_of_every_format():
    longest = max(len(write_date(FIRST_DATE + datetime.timedelta(days=i), form))
                  for i in range(N_DATES) for form in DATE_FORMATS)
    assert longest == QUESTION_LENGTH == len("wednesday, september 27, 1994")
    assert N_DATES == 21915


def test_training_and_test_dates_do_not_overlap_and_no_question_repeats():
    (x, t), (xt, tt), vocab = make_dates(rng=3)  # the textbook's sizes
    assert len(x) == 45000 and len(xt) == 5000
    train_dates, test_dates = set(vocab.decode(t)), set(vocab.decode(tt))
    assert not train_dates & test_dates
    assert len(test_dates) == 5000  # one problem per test date
    assert len(set(vocab.decode(x))) == 45000 and len(set(vocab.decode(xt))) == 5000
    assert len(train_dates) > 12000  # spread over the training dates, not a few of them


def test_same_seed_same_problems_other_seed_others():
    a, b, c = make_dates(500, 100, rng=4), make_dates(500, 100, rng=4), make_dates(500, 100, rng=5)
    for part in (0, 1):
        for k in (0, 1):
            np.testing.assert_array_equal(a[part][k], b[part][k])
    assert not np.array_equal(a.train[0], c.train[0]) and not np.array_equal(a.test[1], c.test[1])


def test_reverse_reads_every_question_backwards_padding_first():
    plain, backwards = make_dates(200, 50, rng=6), make_dates(200, 50, reverse=True, rng=6)
    np.testing.assert_array_equal(backwards.train[0], plain.train[0][:, ::-1])
    np.testing.assert_array_equal(backwards.test[0], plain.test[0][:, ::-1])
    np.testing.assert_array_equal(backwards.train[1], plain.train[1])
    assert backwards.train[0].flags.c_contiguous


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 0}, "make_dates: n_train must be an integer >= 1, got 0"),
    ({"n_test": 2.5}, "make_dates: n_test must be an integer >= 1, got 2.5"),
    ({"n_test": 10958}, r"make_dates: n_test must be at most 10957 \(half the 21915 dates"),
    ({"n_train": 10 * (21915 - 5000) + 1}, r"n_train must be at most 169150 \(10 problems for each of the 16915"),
    ({"rng": "seed"}, "rng must be None, an int seed or a numpy.random.Generator"),
])
def test_make_dates_refuses_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_dates(**kwargs)


def test_write_date_refuses_unknown_formats_and_cases():
    with pytest.raises(ValueError, match=r"write_date: form must be one of .* got 'dd/mm/yy'"):
        write_date(FIRST_DATE, "dd/mm/yy")
    with pytest.raises(ValueError, match=r"write_date: case must be one of \('lower', 'title', 'upper'\), got 'Upper'"):
        write_date(FIRST_DATE, "d mon yyyy", "Upper")
    assert CASES == ("lower", "title", "upper")
