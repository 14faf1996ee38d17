"""The one table of command topic -> core command, and payload validation (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as s

from soulsyncd.core.commands import (
    LOG_LEVELS,
    MODES,
    Command,
    Pause,
    Restart,
    Resume,
    SetCamera,
    SetDevice,
    SetLogLevel,
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
    ("restart", b"PRESS", Restart()),
    ("log_level", b"DEBUG", SetLogLevel("debug")),
])
def test_valid_commands(thing: str, payload: bytes, expected: Command) -> None:
    assert commands.parse(f"{BASE}/{thing}/set", payload, BASE) == expected


def test_every_command_topic_has_a_row_and_affects_state_topics() -> None:
    things = {"mode", "target", "camera", "pause", "resume", "skip", "device", "volume", "restart",
              "log_level"}
    assert set(commands.COMMANDS) == things
    for thing, spec in commands.COMMANDS.items():
        assert bool(spec.affects) == (thing != "restart")  # a restart changes no state topic
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
    ("skip", b"2", "PRESS"),
    ("restart", b"OFF", "PRESS"),  # off is never a press
    ("log_level", b"verbose", "unknown log level"),
    ("mode", b'{"mode": "match"}', 'needs a "value"'),
    ("mode", b'{"value": null}', "word or a number"),
    ("mode", b'{"value": ["match"]}', "word or a number"),
    ("volume", b'{"value": 101}', "0-100"),
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


# The loose payloads of docs/home-assistant.md ("Payloads accepted"), row by row.
LOOSE: list[tuple[str, bytes, Command]] = [
    *((thing, word, command) for thing, command in (("skip", Skip()), ("pause", Pause()),
                                                      ("resume", Resume()), ("restart", Restart()))
      for word in (b"PRESS", b"press", b"ON", b"on", b"true", b"TRUE", b"1", b"yes", b'"PRESS"',
                   b'{"value": true}', b'{"value": 1}', b'{"value": "PRESS"}')),
    *(("camera", word, SetCamera(True))
      for word in (b"ON", b"On", b"true", b"1", b"yes", b'{"value": true}')),
    *(("camera", word, SetCamera(False))
      for word in (b"OFF", b"off", b"False", b"0", b"no", b'{"value": false}', b'{"value": 0}')),
    *(("volume", text, SetVolume(40)) for text in (b"40", b"40.4", b"40 %", b"40%", b'"40"', b'{"value": 40}',
                                                   b'{"value": "40"}', b'{"value": 39.6}')),
    ("mode", b"Shift", SetMode("shift")), ("mode", b'"match"', SetMode("match")),
    ("mode", b'{"value": "OFF"}', SetMode("off")),
    ("log_level", b"Warning", SetLogLevel("warning")),
    ("log_level", b'{"value": "error"}', SetLogLevel("error")),
    ("target", b'{"value": "Happy"}', SetTarget("happy")),
    ("device", b'{"value": "Kitchen"}', SetDevice("Kitchen")),
]


@pytest.mark.parametrize(("thing", "payload", "expected"), LOOSE)
def test_loose_payloads_where_the_meaning_is_clear(thing: str, payload: bytes, expected: Command) -> None:
    assert commands.parse(f"{BASE}/{thing}/set", payload, BASE) == expected


@pytest.mark.parametrize(("payload", "correlation_id"), [
    (b'{"value": "PRESS", "correlation_id": "abc-1"}', "abc-1"),
    (b'{"value": "PRESS", "correlation_id": 17}', "17"),
    (b'{"value": "PRESS"}', None),
    (b"PRESS", None),
])
def test_the_correlation_id_of_a_json_payload_is_kept(payload: bytes, correlation_id: str | None) -> None:
    request = commands.parse_request(f"{BASE}/skip/set", payload, BASE)
    assert (request.thing, request.command, request.correlation_id) == ("skip", Skip(), correlation_id)


def test_a_rejection_keeps_the_thing_and_correlation_id() -> None:
    with pytest.raises(commands.Rejected) as info:
        commands.parse_request(f"{BASE}/volume/set", b'{"value": "loud", "correlation_id": "x9"}', BASE)
    assert (info.value.thing, info.value.correlation_id) == ("volume", "x9")
    assert "number" in info.value.reason


def _cases(word: str) -> s.SearchStrategy[str]:
    """``word`` in any mix of upper and lower case."""
    return s.lists(s.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(word, upper, strict=True)))


def _wrapped(text: s.SearchStrategy[str]) -> s.SearchStrategy[tuple[bytes, str | None]]:
    """A plain payload as sent plainly, with spaces, as a JSON string or in a JSON object with an id."""
    ids = s.none() | s.text(s.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
    return s.tuples(text, ids, s.sampled_from(["plain", "spaced", "string", "object"])).map(
        lambda t: ({"plain": t[0], "spaced": f"  {t[0]}\n", "string": json.dumps(t[0]),
                    "object": json.dumps({"value": t[0], "correlation_id": t[1]})}[t[2]].encode(),
                   t[1] if t[2] == "object" else None))


PRESS_WORDS = s.sampled_from(["press", "on", "true", "1", "yes"]).flatmap(_cases)
LOOSE_STRATEGIES: dict[str, s.SearchStrategy[tuple[str, Command]]] = {
    "skip": PRESS_WORDS.map(lambda w: (w, Skip())),
    "restart": PRESS_WORDS.map(lambda w: (w, Restart())),
    "camera": s.sampled_from(["on", "off", "true", "false", "1", "0", "yes", "no"]).flatmap(
        lambda w: _cases(w).map(lambda c: (c, SetCamera(w in ("on", "true", "1", "yes"))))),
    "mode": s.sampled_from(MODES).flatmap(lambda m: _cases(m).map(lambda c: (c, SetMode(m)))),
    "log_level": s.sampled_from(LOG_LEVELS).flatmap(lambda m: _cases(m).map(lambda c: (c, SetLogLevel(m)))),
    "volume": s.floats(0, 100).flatmap(lambda v: s.sampled_from(
        [f"{v}", f"{round(v)}", f"{round(v)} %", f"{v:.1f}%"]).map(
        lambda text: (text, SetVolume(round(float(text.removesuffix("%").strip())))))),
}


@settings(max_examples=300)
@given(data=s.data(), thing=s.sampled_from(sorted(LOOSE_STRATEGIES)))
def test_loose_payloads_give_the_command_they_mean(data: s.DataObject, thing: str) -> None:
    """Any case, spaces, a JSON string or a JSON object with an id: the same command, the id kept."""
    text, expected = data.draw(LOOSE_STRATEGIES[thing])
    payload, correlation_id = data.draw(_wrapped(s.just(text)))
    request = commands.parse_request(f"{BASE}/{thing}/set", payload, BASE)
    assert request.command == expected
    assert request.correlation_id == correlation_id


@settings(max_examples=500)
@given(thing=s.sampled_from([*commands.COMMANDS, "bogus"]), payload=s.binary(max_size=400) | s.text().map(
    str.encode))
def test_any_payload_gives_a_command_or_a_rejection(thing: str, payload: bytes) -> None:
    """Whatever arrives, parse returns a core command or raises Rejected: never anything else."""
    try:
        command = commands.parse(f"{BASE}/{thing}/set", payload, BASE)
    except commands.Rejected:
        return
    assert isinstance(command, (SetMode, SetTarget, SetCamera, Pause, Resume, Skip, SetDevice, SetVolume,
                                Restart, SetLogLevel))


@settings(max_examples=300)
@given(thing=s.sampled_from(sorted(commands.COMMANDS)),
       value=s.none() | s.booleans() | s.integers() | s.floats() | s.text(max_size=50)
       | s.lists(s.integers(), max_size=3),
       correlation_id=s.none() | s.text(max_size=80) | s.integers())
def test_any_json_object_gives_a_request_or_a_rejection_with_its_id(thing: str, value: object,
                                                                    correlation_id: object) -> None:
    """JSON envelopes of anything: a request or a Rejected, which names the id whenever it was usable."""
    payload = json.dumps({"value": value, "correlation_id": correlation_id}).encode()
    try:
        request = commands.parse_request(f"{BASE}/{thing}/set", payload, BASE)
    except commands.Rejected as exc:
        rejection = exc
    else:
        assert request.thing == thing
        assert request.correlation_id == (None if correlation_id is None else str(correlation_id))
        return
    usable = correlation_id is not None and len(str(correlation_id)) <= commands.CORRELATION_ID_MAX
    if len(payload) <= commands.MAX_PAYLOAD_BYTES and usable:
        assert rejection.correlation_id == str(correlation_id)
