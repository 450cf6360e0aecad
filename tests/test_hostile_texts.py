"""The hostile table's texts, arguments and user features: devices, empty and odd texts, options
out of range, regular expressions that backtrack, feature files (issue 16). The machinery is
tests/hostile_runs.py.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import SAMPLE_TEXT
from tests.hostile_runs import CaseTable, Run, model_and_text, run_checked, write_model, write_text

CASES = CaseTable()


# -- the text ---------------------------------------------------------------------------------

@CASES.case("text_missing")
def _(d):
    return Run(["info", str(write_model(d)), str(d / "nope.txt")], fragments=("no such text file",))


@CASES.case("text_is_a_fifo")
def _(d):
    os.mkfifo(d / "text.txt")
    return Run(["info", str(write_model(d)), str(d / "text.txt")], fragments=("not a regular file",), timeout=30)


@CASES.case("text_is_dev_zero")
def _(d):
    return Run(["report", str(write_model(d)), "/dev/zero"], fragments=("not a regular file",), timeout=30)


@CASES.case("text_empty")
def _(d):
    return Run(["info", str(write_model(d)), str(write_text(d, b""))], fragments=("empty",))


@CASES.case("text_one_byte")
def _(d):
    return Run(["info", str(write_model(d)), str(write_text(d, b"x"))], fragments=("single byte",))


@CASES.case("arguments_swapped")
def _(d):
    model, text = model_and_text(d)
    return Run(["info", text, model], fragments=("swapped", "MODEL TEXT"))


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"caf\xe9 \xff\xfe\xc3\x28 \xed\xa0\x80\n" * 20,
                                  b"a\tb\x00c\x07d\x1b[31mred\x1b[0m\x08\x0c\x7f\r\x0b\n" * 20, b"\r\n" * 300],
                         ids=["all_bytes", "invalid_utf8", "controls", "crlf_only"])
def test_odd_texts_simply_work(tmp_path, data):
    text = write_text(tmp_path, data)
    proc = run_checked(tmp_path, Run(["info", str(write_model(tmp_path)), str(text), "--json"], status=0))
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout


# -- file names -------------------------------------------------------------------------------

@CASES.case("markup_in_file_name")
def _(d):
    (d / "[red]x[bold].bin").write_bytes(b"not a model")  # rich would read these as styles
    return Run(["info", str(d / "[red]x[bold].bin"), str(write_text(d))], fragments=("[red]x[bold].bin",))


@CASES.case("markup_in_folder_name")
def _(d):
    (d / "a[").mkdir()
    (d / "a[" / "b]").mkdir()  # the path holds "[/b]", a closing tag to rich
    return Run(["info", str(d / "a[" / "b]" / "m.bin"), str(write_text(d))], fragments=("a[/b]/m.bin",))


@CASES.case("escape_and_newline_in_file_name")
def _(d):
    (d / "a\x1b[31m\nb.bin").write_bytes(b"not a model")
    return Run(["info", str(d / "a\x1b[31m\nb.bin"), str(write_text(d))], fragments=("\\x1b[31m\\nb.bin",))


# -- arguments --------------------------------------------------------------------------------

@CASES.case("worst_negative")
def _(d):
    return Run(["info", *model_and_text(d), "--worst", "-1"], fragments=("--worst", "whole number"))


@CASES.case("train_seed_negative")
def _(d):
    return Run(["train", str(write_text(d)), "-o", str(d / "out.bin"), "--seed", "-1"], fragments=("--seed",))


@CASES.case("train_hidden_huge")
def _(d):
    return Run(["train", str(write_text(d)), "-o", str(d / "out.bin"), "--hidden", "99999999999999999999"],
               fragments=("hidden must be at most",))


@CASES.case("train_lr_nan")
def _(d):
    return Run(["train", str(write_text(d)), "-o", str(d / "out.bin"), "--lr", "nan"], fragments=("learning rate",))


@CASES.case("export_start_after_stop")
def _(d):
    return Run(["export", *model_and_text(d), "--start", "10", "--stop", "5", "--json"], fragments=("--start 10",))


@CASES.case("export_K_of_a_thousand_digits")
def _(d):
    return Run(["export", *model_and_text(d), "--K", "9" * 1000, "--json"], fragments=("--K", "0..4,096"))


@CASES.case("report_K_too_deep")
def _(d):
    return Run(["report", *model_and_text(d), "--K", "5000"], fragments=("--K", "0..4,096"))


@CASES.case("unknown_option")
def _(d):
    return Run(["info", *model_and_text(d), "--frobnicate"], fragments=("unrecognized arguments",))


# -- user features ------------------------------------------------------------------------------

@CASES.case("regex_that_backtracks_for_ever")
def _(d):
    """Python's re never returned on this; RE2 is linear (the timeout is the bound)."""
    return Run(["report", str(write_model(d)), str(write_text(d, b"a" * 30_000 + b"!")), "--only", "factor_map",
                "--feature", "a=(a+)+$", "--json"], status=0, timeout=120)


@CASES.case("regex_with_a_backreference")
def _(d):
    return Run(["report", *model_and_text(d), "--feature", r"a=(a)\1"], fragments=("backreferences are not supported",))


@CASES.case("regex_with_lookahead")
def _(d):
    return Run(["report", *model_and_text(d), "--feature", "a=x(?=y)"], fragments=("lookahead",))


@CASES.case("feature_file_dev_zero")
def _(d):
    return Run(["report", *model_and_text(d), "--feature-file", "f=/dev/zero"], fragments=("not a regular file",), timeout=30)


@CASES.case("feature_file_fifo")
def _(d):
    os.mkfifo(d / "f.txt")
    return Run(["report", *model_and_text(d), "--feature-file", f"f={d / 'f.txt'}"], fragments=("not a regular file",),
               timeout=30)


@CASES.case("feature_file_too_large")
def _(d):
    (d / "f.txt").write_bytes(b"1 " * (64 * len(SAMPLE_TEXT)))
    return Run(["report", *model_and_text(d), "--feature-file", f"f={d / 'f.txt'}"], fragments=("more than 64",))


@CASES.case("feature_file_of_1e308")
def _(d):
    (d / "f.txt").write_text("1e308\n" * len(SAMPLE_TEXT))
    return Run(["report", *model_and_text(d), "--only", "factor_map", "--feature-file", f"f={d / 'f.txt'}"],
               fragments=("beyond ±1e+100",))


@pytest.mark.parametrize("name", CASES.builds)
def test_hostile_case(tmp_path, name):
    CASES.check(tmp_path, name)
