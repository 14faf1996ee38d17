"""The one table of command topic -> core command, and payload validation (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as s

from soulsyncd.core.commands import (
    Command,
    Pause,
    Resume,
    SetCamera,
    SetDevice,
    SetMode,
    SetTarget,
    SetVolume,
    Skip,
)
from soulsyncd.mqtt import commands
from soulsyncd.mqtt import state as st

BASE = "soulsync/room"


@pytest.mark.parametrize(("thing", "payload", "expected"), [
    ("mode", b"shift", SetMode("shift")),
    ("mode", b"  OFF \n", SetMode("off")),
    ("target", b"happy", SetTarget("happy")),
    ("target", b"Energetic", SetTarget("energetic")),
    ("target", b"sad", SetTarget("sad")),  # any mood the policy knows, as in the config
    ("target", b"0.8,0.6", SetTarget("0.8,0.6")),  # or an explicit valence,energy point
    ("camera", b"OFF", SetCamera(False)),
    ("camera", b"on", SetCamera(True)),
    ("camera", b"false", SetCamera(False)),
    ("pause", b"PRESS", Pause()),
    ("resume", b"press", Resume()),
    ("skip", b"PRESS", Skip()),
    ("device", "Küche Lautsprecher".encode(), SetDevice("Küche Lautsprecher")),
    ("volume", b"40", SetVolume(40)),
    ("volume", b"40.0", SetVolume(40)),
    ("volume", b"0", SetVolume(0)),
    ("volume", b"100", SetVolume(100)),
])
def test_valid_commands(thing: str, payload: bytes, expected: Command) -> None:
    assert commands.parse(f"{BASE}/{thing}/set", payload, BASE) == expected


def test_every_command_topic_has_a_row_and_affects_state_topics() -> None:
    things = {"mode", "target", "camera", "pause", "resume", "skip", "device", "volume"}
    assert set(commands.COMMANDS) == things
    for spec in commands.COMMANDS.values():
        assert spec.affects
        assert set(spec.affects) <= set(st.STATE_TOPICS)


@pytest.mark.parametrize(("thing", "payload", "reason"), [
    ("mode", b"party", "unknown mode"),
    ("mode", b'{"mode": "match"', "unknown mode"),  # bad JSON is just a wrong word
    ("mode", b"", "empty"),
    ("mode", b"\xff\xfe\x00\x01", "not UTF-8"),
    ("mode", b"x" * 1_000_000, "bytes"),
    ("mode", b"ma\x00tch", "control"),
    ("target", b"ecstatic", "unknown target"),
    ("camera", b"maybe", "ON or OFF"),
    ("skip", b"1", "PRESS"),
    ("device", b"x" * 101, "longer than"),
    ("volume", b"101", "0-100"),
    ("volume", b"-1", "0-100"),
    ("volume", b"nan", "0-100"),
    ("volume", b"inf", "0-100"),
    ("volume", b"loud", "number"),
    ("volume", "\u0665\u0660".encode(), "number"),  # Arabic-Indic 50: float() takes it, we don't
])
def test_invalid_payloads_are_rejected_with_the_state_to_republish(thing: str, payload: bytes,
                                                                    reason: str) -> None:
    with pytest.raises(commands.Rejected, match=reason) as info:
        commands.parse(f"{BASE}/{thing}/set", payload, BASE)
    assert info.value.affects == commands.COMMANDS[thing].affects


@pytest.mark.parametrize("topic", [
    f"{BASE}/mode/set/extra", f"{BASE}/mode", f"{BASE}/nonsense/set", "soulsync/other/mode/set",
    f"{BASE}/set",
])
def test_wrong_topics_are_rejected_without_state(topic: str) -> None:
    with pytest.raises(commands.Rejected) as info:
        commands.parse(topic, b"match", BASE)
    assert info.value.affects == ()


@settings(max_examples=500)
@given(thing=s.sampled_from([*commands.COMMANDS, "bogus"]), payload=s.binary(max_size=400) | s.text().map(
    str.encode))
def test_any_payload_gives_a_command_or_a_rejection(thing: str, payload: bytes) -> None:
    """Whatever arrives, parse returns a core command or raises Rejected: never anything else."""
    try:
        command = commands.parse(f"{BASE}/{thing}/set", payload, BASE)
    except commands.Rejected:
        return
    assert isinstance(command, (SetMode, SetTarget, SetCamera, Pause, Resume, Skip, SetDevice, SetVolume))
