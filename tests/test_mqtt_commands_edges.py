"""Command payloads and topics at their edges: the exact limits and the reasons given for a rejection."""

from __future__ import annotations

import re

import pytest

from soulsyncd.core.commands import Pause, SetDevice, SetMode, Skip
from soulsyncd.mood import targets
from soulsyncd.mqtt import commands

BASE = "soulsync/room"


def reason(topic: str, payload: bytes) -> str:
    with pytest.raises(commands.Rejected) as info:
        commands.parse(topic, payload, BASE)
    return info.value.reason


def test_limits_are_inclusive() -> None:
    longest = " " * (commands.MAX_PAYLOAD_BYTES - len("shift")) + "shift"
    assert commands.parse(f"{BASE}/mode/set", longest.encode(), BASE) == SetMode("shift")
    name = "x" * commands.DEVICE_NAME_MAX
    assert commands.parse(f"{BASE}/device/set", name.encode(), BASE) == SetDevice(name)


def test_control_characters_end_at_no_break_space() -> None:
    assert reason(f"{BASE}/mode/set", b"ma\x7ftch") == "payload contains control characters"
    assert reason(f"{BASE}/mode/set", "ma\u009ftch".encode()) == "payload contains control characters"
    spaced = "Küche\u00a0Box"  # a no-break space is text
    assert commands.parse(f"{BASE}/device/set", spaced.encode(), BASE) == SetDevice(spaced)


@pytest.mark.parametrize(("thing", "payload", "why"), [
    ("mode", b"party", "unknown mode 'party'; expected one of off, match, shift"),
    ("target", b"ecstatic", f"unknown target 'ecstatic'; expected one of {', '.join(targets.NAMES)} "
                            "or 'valence,energy' in [0, 1]"),
    ("skip", b"2", "expected PRESS (or ON, true, 1), got '2'"),
    ("device", b"   ", "empty payload"),
    ("mode", b"\xff", "payload is not UTF-8 text"),
])
def test_the_reason_names_what_was_wrong(thing: str, payload: bytes, why: str) -> None:
    assert reason(f"{BASE}/{thing}/set", payload) == why


def test_press_buttons_take_press_or_a_true_word_in_any_case_and_nothing_else() -> None:
    assert commands.parse(f"{BASE}/pause/set", b"Press", BASE) == Pause()
    assert commands.parse(f"{BASE}/skip/set", b"PRESS", BASE) == Skip()
    press = commands._press(Skip())  # the rows' factory itself (the rows are built at import)
    assert [press(word) for word in ("press", "ON", "true", "1", "Yes")] == [Skip()] * 5
    with pytest.raises(ValueError, match=r"^expected PRESS \(or ON, true, 1\), got 'OFF'$"):
        press("OFF")


def test_the_device_row_refuses_an_empty_name_itself() -> None:
    with pytest.raises(ValueError, match=r"^empty speaker name$"):
        commands.COMMANDS["device"].parse("")


@pytest.mark.parametrize("topic", [
    "x" * len(BASE + "/") + "mode/set",  # as long as the base, but another base
    f"{BASE}/a/mode/set",
    f"{BASE}/mode/set/x",
])
def test_a_topic_outside_the_command_pattern_is_named_so(topic: str) -> None:
    assert reason(topic, b"match") == f"not a command topic (expected {BASE}/<thing>/set)"


def test_an_unknown_thing_lists_the_known_ones() -> None:
    known = ", ".join(commands.COMMANDS)
    assert reason(f"{BASE}/party/set", b"on") == f"unknown command 'party'; known: {known}"
    assert re.search("mode, target, camera", known)
