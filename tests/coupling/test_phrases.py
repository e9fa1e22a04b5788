"""The wording helpers the reasons are built from. No database."""

from __future__ import annotations

from flows.coupling import Emitted, MissedEvents
from flows.coupling.phrases import emitted_text, join, missed_text, windows
from tests.coupling.plain import ORDER_V2


def test_lists_read_as_a_sentence() -> None:
    assert join([]) == ""
    assert join(["a"]) == "a"
    assert join(["a", "b", "c"]) == "a, b and c"


def test_offline_spans_name_their_end_or_say_on() -> None:
    assert windows([(20.0, 35.5), (40.0, None)]) == "from 20 s to 35.5 s and from 40 s on"


def test_a_type_a_script_switches_to_says_when() -> None:
    assert emitted_text(Emitted(ORDER_V2)) == "OrderPlaced v2"
    assert emitted_text(Emitted(ORDER_V2, 30.0)) == "OrderPlaced v2 (from 30 s, by the script)"


def test_the_missed_figure_names_its_run_only_when_there_is_one() -> None:
    figure = MissedEvents("orders", "queue:1", "billing", ("b-1",), 3, 2, 1)
    assert missed_text(figure) == "billing received 2 of the 3 messages of orders and missed 1."
