"""The one parser of request values: a value no page sends is a 400, a missing row a 404."""
from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.exceptions import BadRequest, NotFound

from app.core.request_args import date_arg, instant_value, or_404


@pytest.mark.parametrize("value, expected", [("2027-03-01", dt.date(2027, 3, 1)), ("", None)])
def test_a_date_from_the_query_string(app, value, expected):
    with app.test_request_context(f"/?day={value}"):
        assert date_arg("day") == expected


@pytest.mark.parametrize("value", ["garbage", "2027-02-30", "9999-12-31", "0001-01-01", "2027-03-01T10:00", "２０２７-03-01"])
def test_a_date_no_page_sends_is_a_400(app, value):
    with app.test_request_context("/", query_string={"day": value}), pytest.raises(BadRequest):
        date_arg("day")


def test_an_instant_is_aware_and_in_utc():
    assert instant_value("2027-03-01T09:00:00+03:00") == dt.datetime(2027, 3, 1, 6, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("value", [None, "", "garbage", "2027-03-01T09:00:00", "9999-12-31T23:00:00-12:00",
                                   "0001-01-01T00:00:00+05:00"])
def test_an_instant_no_page_sends_is_a_400(value):
    with pytest.raises(BadRequest):
        instant_value(value)


def test_or_404():
    assert or_404(0) == 0 and or_404("x") == "x"
    with pytest.raises(NotFound):
        or_404(None)
