"""Feature definitions on hand-checked strings, user-defined features, and their errors."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from factormap.engine.factor_map.features import (
    CHAR_CLASS_NAMES,
    FeatureError,
    after_space,
    char_class,
    in_tag,
    standard_features,
    tag_depth,
    word_len,
    word_len_capped,
)
from factormap.engine.factor_map.user_features import (
    numeric_feature_file,
    parse_feature_definition,
    parse_feature_file,
    parse_regex_feature,
    regex_feature,
)


def ints(a):
    return [int(v) for v in a]


def test_word_len_counts_the_current_byte_and_resets_on_space_newline_tab():
    assert ints(word_len(b"ab cd\nefg\t h")) == [1, 2, 0, 1, 2, 0, 1, 2, 3, 0, 0, 1]


def test_word_len_is_not_capped_and_the_capped_variant_is():
    text = b"x" * 40 + b" y"
    assert word_len(text).max() == 40
    assert word_len_capped(text, 15).max() == 15
    assert ints(word_len_capped(text, 15)[-2:]) == [0, 1]


def test_word_len_of_planted_words():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 12, size=200)
    text = b" ".join(b"a" * int(k) for k in lengths)
    wl = word_len(text)
    ends = np.cumsum(lengths + 1) - 2  # the last byte of each word
    np.testing.assert_array_equal(wl[ends], lengths)
    assert np.all(wl[ends[:-1] + 1] == 0)


def test_in_tag_is_one_from_lt_inclusive_and_gt_itself_is_zero():
    assert ints(in_tag(b"a<b>c<d e>f>")) == [0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0]


def test_tag_depth_counts_opening_minus_closing_at_each_tags_gt():
    text = b'<a k="1"><b/>hi</a>'
    depth = ints(tag_depth(text))
    assert depth[:8] == [0] * 8
    assert depth[8] == 1  # <a ...> completes
    assert depth[9:13] == [1] * 4  # <b/> is self-closing
    assert depth[13:15] == [1, 1]
    assert depth[-1] == 0  # </a> completes
    assert depth[-2] == 1


def test_tag_depth_nests_and_ignores_comments_declarations_and_stray_gt():
    text = b"<?xml v?><r><!-- c --><p><q></q></p>x>y<>"
    depth = tag_depth(text)
    gts = [i for i, c in enumerate(text) if c == ord(">")]
    assert ints(depth[gts]) == [0, 1, 1, 2, 3, 2, 1, 1, 1]
    assert depth[-1] == 1


def test_after_space_is_about_the_previous_byte_and_space_only():
    assert ints(after_space(b" a b\nc  d")) == [0, 1, 0, 1, 0, 0, 0, 1, 1]


def test_char_class_names_each_byte():
    codes = char_class(b"aZ9 \n.,<>\x00\xe9")
    names = [CHAR_CLASS_NAMES[c] for c in codes]
    assert names == ["letter", "letter", "digit", "space", "space", "punctuation", "punctuation",
                     "markup", "markup", "other", "other"]


def test_regex_feature_marks_the_bytes_each_match_covers():
    assert ints(regex_feature(b"the cat sat", r"at")) == [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]
    assert ints(regex_feature(b"<a>text</a>", rb"<[^>]*>")) == [1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]


def test_regex_feature_empty_matches_cover_nothing():
    assert ints(regex_feature(b"abc", "x*")) == [0, 0, 0]


def test_regex_feature_bad_pattern_is_one_sentence():
    with pytest.raises(FeatureError, match="invalid regular expression"):
        regex_feature(b"abc", "(")


@pytest.mark.parametrize("pattern", [rb"[aeiou]", rb"<[^>]*>", rb"\w+", rb".", rb"\xc3.", rb"(?i)ANAR", rb"\d+|\s",
                                     rb"x*", rb"[^\x00-\x7f]"])
def test_regex_feature_covers_what_python_re_covers_over_bytes(pattern, sample_text):
    text = sample_text + "café \x00\xff\n".encode("latin-1") + "naïve".encode()
    expect = np.zeros(len(text))
    for match in re.finditer(pattern, text):
        expect[match.start():match.end()] = 1
    np.testing.assert_array_equal(regex_feature(text, pattern), expect)


def test_parse_regex_feature_gives_the_named_feature():
    feature = parse_regex_feature("vowel=[aeiou]")
    assert (feature.name, feature.pattern) == ("vowel", "[aeiou]")
    assert ints(feature.values(b"cat")) == ints(regex_feature(b"cat", "[aeiou]")) == [0, 1, 0]
    assert parse_regex_feature("eq=a=b").pattern == "a=b"  # split at the first '='


def test_regex_features_run_in_linear_time_on_patterns_that_backtrack():
    # Python's re takes exponential time here; RE2 has no backtracking (the hostile table bounds the time)
    assert parse_regex_feature("a=(a+)+$").values(b"a" * 30_000 + b"!").sum() == 0
    assert regex_feature(b"a" * 30_000, "(a|aa)*b").sum() == 0


@pytest.mark.parametrize(("spec", "message"), [
    ("novalue=", "expected NAME=VALUE"),
    ("noequals", "expected NAME=VALUE"),
    ("9lives=x", "feature name '9lives'"),
    ("bad=(", "bad: invalid regular expression '\\(': missing \\)"),
    (r"back=(a)\1", "backreferences are not supported"),
    ("ahead=a(?=b)", "lookahead and lookbehind are not supported"),
    ("behind=(?<!a)b", "lookahead and lookbehind are not supported"),
    ("many=a{5000}", "invalid repetition size"),
])
def test_parse_regex_feature_errors_are_one_sentence(spec, message):
    with pytest.raises(FeatureError, match=message) as info:
        parse_regex_feature(spec)
    assert "\n" not in str(info.value)


def test_a_definition_is_a_regex_or_at_a_file_of_numbers(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    path.write_text("1 2 3")
    regex = parse_feature_definition("  v=[aeiou]\n")
    assert (regex.name, regex.pattern, regex.path) == ("v", "[aeiou]", None)
    assert ints(regex.values(b"cat")) == [0, 1, 0]
    numbers = parse_feature_definition(f"f=@{path}")
    assert (numbers.name, numbers.pattern, numbers.path) == ("f", None, path)
    np.testing.assert_array_equal(numbers.values(b"abc"), [1.0, 2.0, 3.0])
    with pytest.raises(FeatureError, match="holds 3 numbers but the text has 2"):
        numbers.values(b"ab")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_feature_definition("f=@~/f.txt").path == parse_feature_file("f=~/f.txt").path == path
    with pytest.raises(FeatureError, match="is a directory"):  # '@' alone names the working folder
        parse_feature_definition("f=@").values(b"a")
    with pytest.raises(FeatureError, match="v: invalid regular expression"):
        parse_feature_definition("v=(")
    with pytest.raises(FeatureError, match="feature name"):
        parse_feature_definition("a.b=@f.txt")


def test_numeric_feature_file_reads_one_number_per_position(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("1\n2.5\n-3e2\n0\n")
    np.testing.assert_array_equal(numeric_feature_file(path, 4), [1.0, 2.5, -300.0, 0.0])


@pytest.mark.parametrize(("content", "n", "message"), [
    ("1\n2\n3\n", 4, "holds 3 numbers but the text has 4 bytes"),
    ("1\n2\nabc\n4\n", 4, r"entry 3 \('abc'\) is not a number"),
    ("1\nnan\n", 2, "is not a finite number"),
    ("1\n-1e308\n", 2, r"entry 2 \('-1e308'\) is beyond ±1e\+100"),
    ("1" * 200, 2, "more than 64 per byte position"),
])
def test_numeric_feature_file_errors_are_one_sentence(tmp_path, content, n, message):
    path = tmp_path / "f.txt"
    path.write_text(content)
    with pytest.raises(FeatureError, match=message):
        numeric_feature_file(path, n)


def test_numeric_feature_file_missing_and_directory(tmp_path):
    with pytest.raises(FeatureError, match="no such feature file"):
        numeric_feature_file(tmp_path / "absent.txt", 3)
    with pytest.raises(FeatureError, match="is a directory"):
        numeric_feature_file(tmp_path, 3)


@pytest.mark.parametrize("node", ["fifo", "/dev/zero", "/dev/null"])
def test_numeric_feature_file_is_never_a_device_or_a_pipe(tmp_path, node):
    if node == "fifo":
        node = tmp_path / "fifo"
        os.mkfifo(node)  # reading it would wait for a writer for ever
    with pytest.raises(FeatureError, match="is not a regular file"):
        numeric_feature_file(node, 3)


def test_standard_features_are_aligned_float_arrays(sample_text):
    feats = standard_features(sample_text)
    assert {"word_len", "in_tag", "tag_depth", "after_space"} <= set(feats)
    for f in feats.values():
        assert f.shape == (len(sample_text),)
        assert f.dtype == np.float64
