"""Every report is written by one function: a table for a person, JSON, CSV or TSV for a machine."""

from __future__ import annotations

import json
from decimal import Decimal

from sessionstats.cli.emit import Layout, report_text
from sessionstats.display.render import Format

RECORDS = [{"model": "gpt-4o", "cost": Decimal("0.000000075")}, {"model": "a,b\tc", "cost": None}]


def _never() -> str:
    raise AssertionError("a machine format drew the table")


def test_a_table_is_drawn_only_for_the_table_format():
    assert report_text(RECORDS, ["model", "cost"], Layout(Format.table), lambda: "drawn\n") == "drawn\n"


def test_json_is_an_array_of_the_records_and_one_record_alone_is_an_object():
    assert json.loads(report_text(RECORDS, ["model"], Layout(Format.json), _never))[0]["model"] == "gpt-4o"
    text = report_text(RECORDS[0], ["model"], Layout(Format.json), _never)
    assert text == '{\n  "model": "gpt-4o",\n  "cost": 0.000000075\n}\n'


def test_csv_and_tsv_carry_the_columns_asked_for_with_exact_values():
    assert report_text(RECORDS, ["cost", "model"], Layout(Format.csv), _never) == (
        'cost,model\n0.000000075,gpt-4o\n,"a,b\tc"\n')
    assert report_text(RECORDS[0], ["model", "cost"], Layout(Format.tsv), _never) == (
        "model\tcost\ngpt-4o\t0.000000075\n")
    assert report_text(RECORDS, ["model"], Layout(Format.tsv), _never) == "model\ngpt-4o\na,b\\tc\n"


def test_json_carries_the_whole_report_where_csv_has_its_lines():
    whole = {"total": Decimal("1.5"), "lines": RECORDS}
    assert json.loads(report_text(RECORDS, ["model"], Layout(Format.json), _never, whole=whole))["total"] == 1.5
    assert report_text(RECORDS, ["model"], Layout(Format.csv), _never, whole=whole) == 'model\ngpt-4o\n"a,b\tc"\n'
    assert report_text([], ["model"], Layout(Format.json), _never) == "[]\n"
