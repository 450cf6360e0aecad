"""The finding card's position lines: what the attribution attributes, and p and bits of one byte."""

import math

from factormap.engine.session_record import FileIdentity
from factormap.tui.fields import compact
from factormap.tui.finding_card import CardPosition, card_markdown

FILES = {"model": FileIdentity("m.bin", "/m.bin", 10, "0" * 64), "text": FileIdentity("t.txt", "/t.txt", 20, "1" * 64)}


def _card(position: CardPosition) -> str:
    return card_markdown(**FILES, tool_version="0", precision="float32", position=position, edits=[],
                         combined=None, svg_name="c.svg", record_name="c.jsonl")


def _position(**chosen) -> CardPosition:
    """At t=1, the next byte '<' has p 0.868; the figures of the attribution are ``chosen``."""
    return CardPosition(t=1, byte=ord("x"), bits=-math.log2(0.868), top=[(ord("<"), 0.868)],
                        grad_norm_max=(0.5, 0), **chosen)


def test_a_contrast_is_stated_with_its_value_and_each_bytes_p():
    p_e, p_a = 0.000163, 0.00232
    card = _card(_position(target=ord("e"), prob=p_e, target_bits=-math.log2(p_e), contrast=ord("a"),
                           contrast_prob=p_a, value=math.log(p_e) - math.log(p_a)))
    assert (f"- attributed: ln p(e) − ln p(a) = {compact(math.log(p_e / p_a), signed=True)} nats, with p = "
            f"{compact(p_e)} for e ({compact(-math.log2(p_e))} bits) and p = {compact(p_a)} for a") in card
    assert f"- the next byte: {compact(-math.log2(0.868))} bits" in card  # the byte that comes, not e
    assert "‖∂ (ln p(e) − ln p(a))/∂h(t−k)‖" in card


def test_the_next_byte_alone_reads_as_before():
    card = _card(_position(target=ord("<"), prob=0.868, target_bits=-math.log2(0.868), value=math.log(0.868)))
    assert f"- attributed: ln p(<) = {compact(math.log(0.868), signed=True)} nats, with p = 0.868 for <" in card
    assert "− ln p(" not in card


def test_the_last_byte_has_no_next_byte():
    card = _card(CardPosition(t=19, byte=ord("."), bits=None))
    assert "- the last byte: there is no next byte to predict" in card and "attributed" not in card


def test_the_open_line_says_that_each_key_press_applies_one_action():
    """``--open`` opens the app at the record's start, not at the card's state (found by QA)."""
    card = _card(_position(target=ord("<"), prob=0.868, target_bits=-math.log2(0.868), value=math.log(0.868)))
    (line,) = [line for line in card.splitlines() if "--open" in line]
    assert "record's start" in line and "each > applies one action" in line and "the same state" not in line
