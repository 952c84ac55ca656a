"""Formatting for people and machines, tested in one place."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sessionstats.display.render import (
    Format,
    exact_text,
    fmt_cost,
    fmt_duration,
    fmt_number,
    fmt_time,
    fmt_tokens,
    to_delimited,
    to_json,
)


@pytest.mark.parametrize(
    ("tokens", "shown"),
    [(0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (1234567, "1,234,567"),
     (2**63 - 1, "9,223,372,036,854,775,807"), (None, "-")],
)
def test_tokens_show_thousands_separators(tokens, shown):
    assert fmt_tokens(tokens) == shown


@pytest.mark.parametrize(
    ("cost", "shown"),
    [
        (Decimal("0"), "$0.0000"),
        (Decimal("0.0012"), "$0.0012"),
        (Decimal("0.00125"), "$0.0013"),  # half-up, not banker's rounding
        (Decimal("0.00135"), "$0.0014"),
        (Decimal("0.00124999"), "$0.0012"),
        (Decimal("0.000000075"), "$0.0000"),  # a one-token charge
        (Decimal("-0.00001"), "$0.0000"),  # never -$0.0000
        (Decimal("-0.5"), "-$0.5000"),
        (Decimal("1234567.891"), "$1,234,567.8910"),
        (Decimal("99999999999999999999.999999999999999999"), "$100,000,000,000,000,000,000.0000"),
        (None, "-"),
    ],
)
def test_costs_show_four_decimals_rounded_half_up(cost, shown):
    assert fmt_cost(cost) == shown


def test_ratios_durations_and_times_read_well():
    assert fmt_number(1234.56) == "1,234.6"
    assert fmt_number(None) == "-"
    assert fmt_number(float("nan")) == "-"
    assert fmt_duration(3725) == "01:02:05"
    assert fmt_duration(90061) == "25:01:01"
    assert fmt_duration(None) == "-"
    stored = datetime(2026, 1, 1, 23, 30)
    assert fmt_time(stored, UTC) == "2026-01-01 23:30:00 +0000"
    assert fmt_time(stored, ZoneInfo("Europe/Paris")) == "2026-01-02 00:30:00 +0100"


def test_machine_values_are_exact_and_unformatted():
    assert exact_text(Decimal("0.000000075000000000")) == "0.000000075"
    assert exact_text(Decimal("1E+2")) == "100"
    assert exact_text(Decimal("-0E-18")) == "0"
    assert exact_text(1234567) == "1234567"
    assert exact_text(None) == ""
    assert exact_text(datetime(2026, 1, 1, 23, 30), UTC) == "2026-01-01T23:30:00+00:00"


def test_json_carries_decimals_as_exact_number_literals():
    text = to_json({"total_cost": Decimal("0.000000075"), "n": 3, "name": "x\"y", "none": None}, indent=0)
    assert text == '{"total_cost": 0.000000075, "n": 3, "name": "x\\"y", "none": null}'


def test_delimited_output_has_a_header_and_quotes_when_needed():
    rows = [{"a": "x,y", "b": Decimal("0.50")}]
    assert to_delimited(rows, ["a", "b"], Format.csv) == 'a,b\n"x,y",0.5\n'
    assert to_delimited(rows, ["a", "b"], Format.tsv) == "a\tb\nx,y\t0.5\n"
