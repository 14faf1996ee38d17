"""Snapshot -> topics and payloads (pure), and which changes are worth sending."""

from __future__ import annotations

import json

from soulsyncd.core.state import DaemonState, ShiftProgress, Stats
from soulsyncd.mqtt import state as st
from soulsyncd.testing import ManualClock
from soulsyncd.types import CameraStatus, Emotion, Mood, PlayerState, PlayerStatus, Track

BASE = "soulsync/room"
HAPPY = Mood(Emotion.HAPPY, confidence=0.8123, valence=0.6, arousal=0.3, since=0.0)
PROBS = (0.01, 0.0, 0.02, 0.81234, 0.05, 0.06, 0.05)


def by_topic(state: DaemonState) -> dict[str, str]:
    return {m.topic.removeprefix(BASE + "/"): m.payload for m in st.state_messages(state, BASE)}


def test_every_state_topic_is_published_in_order() -> None:
    messages = st.state_messages(DaemonState(), BASE)
    assert [m.topic for m in messages] == [f"{BASE}/{name}" for name in st.STATE_TOPICS]


def test_initial_state_reads_as_unknown() -> None:
    """Before the first frame the mood's fields are null (Home Assistant shows 'unknown')."""
    topics = by_topic(DaemonState())
    assert json.loads(topics["mood"]) == {"emotion": None, "confidence": None, "valence": None,
                                          "arousal": None, "probabilities": None}
    assert topics["faces"] == "0"
    assert topics["mode"] == "match"
    assert topics["target"] == "calm"
    assert topics["paused"] == "OFF"
    assert topics["volume"] == "None"
    assert topics["device"] == ""
    assert json.loads(topics["playing"])["text"] == "nothing"
    assert json.loads(topics["camera"]) == {"status": "starting", "enabled": True, "detail": None}
    assert json.loads(topics["shift"]) == {"target": None, "step": None, "steps": None, "percent": None}
    assert topics["log_level"] == "info"


def test_mood_payload_has_emotion_confidence_valence_arousal_and_probabilities() -> None:
    mood = json.loads(by_topic(DaemonState(mood=HAPPY, probabilities=PROBS, faces=2))["mood"])
    assert mood["emotion"] == "happy"
    assert mood["confidence"] == 0.81
    assert (mood["valence"], mood["arousal"]) == (0.6, 0.3)
    assert mood["probabilities"]["happy"] == 0.812
    assert list(mood["probabilities"]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_absent_mood() -> None:
    absent = Mood(None, confidence=0.0, valence=0.0, arousal=0.0, since=0.0)
    mood = json.loads(by_topic(DaemonState(mood=absent))["mood"])
    assert mood["emotion"] == "absent"
    assert mood["valence"] is None


def test_player_camera_and_shift_payloads() -> None:
    player = PlayerState(status=PlayerStatus.RATE_LIMITED, device="Kitchen", playing=True, progress_s=61.4,
                         volume=35, retry_at=0.0, detail="waiting",
                         track=Track("spotify:track:x", "Song", ("A", "B"), 180.0))
    state = DaemonState(player=player, camera=CameraStatus.DISABLED, camera_detail="privacy switch",
                        shift=ShiftProgress("happy", 2, 5), mode="shift")
    topics = by_topic(state)
    playing = json.loads(topics["playing"])
    assert playing["text"] == "Song — A, B"
    assert playing["artists"] == ["A", "B"]
    assert playing["uri"] == "spotify:track:x"
    assert playing["playing"] is True
    assert playing["progress_s"] == 61.0
    assert playing["device"] == "Kitchen"
    assert json.loads(topics["player"]) == {"status": "rate limited", "detail": "waiting",
                                            "retry_at": "1970-01-01T00:00:00+00:00", "last_error": None}
    camera = {"status": "disabled", "enabled": False, "detail": "privacy switch"}
    assert json.loads(topics["camera"]) == camera
    assert json.loads(topics["shift"]) == {"target": "happy", "step": 2, "steps": 5, "percent": 40}
    assert topics["device"] == "Kitchen"
    assert topics["volume"] == "35"
    assert topics["mode"] == "shift"


def test_shift_is_cleared_as_soon_as_the_mode_is_not_shift() -> None:
    """The loop may keep the last ShiftProgress until the next track; the topic reads null at once."""
    nulls = {"target": None, "step": None, "steps": None, "percent": None}
    for mode in ("match", "off"):
        state = DaemonState(shift=ShiftProgress("happy", 2, 5), mode=mode)
        assert json.loads(by_topic(state)["shift"]) == nulls


def test_long_titles_are_clipped_for_home_assistant() -> None:
    player = PlayerState(track=Track("u", "x" * 400))
    assert len(st.now_playing_text(player)) == st.TEXT_MAX


def test_diagnostics_payload() -> None:
    state = DaemonState(stats=Stats(frames_analysed=10, analysis_fps=4.987, inference_ms=3.21,
                                    detector_ms=5.5, uptime_s=12.6), last_error="camera gone")
    payload = json.loads(st.diagnostics_payload(state, st.ProcessSample(cpu_percent=9.5, rss_mb=95.1), 3))
    assert payload["analysis_fps"] == 4.99
    assert payload["inference_ms"] == 3.21
    assert payload["cpu_percent"] == 9.5
    assert payload["rss_mb"] == 95.1
    assert payload["uptime_s"] == 13
    assert payload["mqtt_rejected"] == 3
    assert payload["last_error"] == "camera gone"


def test_diagnostics_carry_the_start_time_stable_between_reports() -> None:
    """``started_at`` (Home Assistant's timestamp sensor) is when the process started, in UTC, the same
    in every report however long the daemon runs; it agrees with the kernel's own clock of the process."""
    from datetime import datetime

    sample = st.ProcessSample(cpu_percent=None, rss_mb=1.0)
    first = json.loads(st.diagnostics_payload(DaemonState(stats=Stats(uptime_s=1.0)), sample, 0))
    later = json.loads(st.diagnostics_payload(DaemonState(stats=Stats(uptime_s=3600.4)), sample, 0))
    assert first["started_at"] == later["started_at"]
    started = datetime.fromisoformat(first["started_at"])
    assert started.utcoffset() is not None
    assert started.utcoffset().total_seconds() == 0
    age = datetime.now(started.tzinfo) - started
    assert 0 <= age.total_seconds() < 24 * 3600  # this test process started within the day, not at 1970


def test_log_level_state_follows_the_snapshot() -> None:
    assert by_topic(DaemonState(log_level="debug"))["log_level"] == "debug"


def test_process_sampler_measures_cpu_between_samples() -> None:
    clock = ManualClock()
    sampler = st.ProcessSampler(clock)
    first = sampler.sample()
    assert first.cpu_percent is None
    assert first.rss_mb > 1
    clock.advance(1.0)
    second = sampler.sample()
    assert second.cpu_percent is not None
    assert second.cpu_percent >= 0


def test_process_sampler_gives_no_figure_until_an_interval_exists() -> None:
    """Start-up (the model load) must not read as ~100 % CPU: samples closer than min_interval_s to the
    start of the measurement give no figure (or repeat the last one) and do not restart it."""
    clock = ManualClock()
    sampler = st.ProcessSampler(clock, min_interval_s=30.0)
    assert sampler.sample().cpu_percent is None
    clock.advance(0.05)  # the first report right after connect
    assert sampler.sample().cpu_percent is None
    clock.advance(30.0)
    figure = sampler.sample().cpu_percent
    assert figure is not None
    assert figure >= 0
    clock.advance(1.0)  # a report in between (a new error): the last figure again, same interval
    assert sampler.sample().cpu_percent == figure
    clock.advance(29.0)
    assert sampler.sample().cpu_percent is not None


def test_change_filter_sends_discrete_changes_at_once_and_figures_at_most_every_refresh() -> None:
    clock = ManualClock()
    changes = st.ChangeFilter(clock, refresh_s=10.0)

    def send(state: DaemonState) -> set[str]:
        due = changes.due(st.state_messages(state, BASE))
        for message in due:
            changes.sent(message)
        return {m.topic.removeprefix(BASE + "/") for m in due}

    assert send(DaemonState()) == set(st.STATE_TOPICS)  # everything the first time
    assert send(DaemonState()) == set()
    happy = DaemonState(mood=HAPPY, probabilities=PROBS)
    assert send(happy) == {"mood"}  # a new emotion: at once
    clock.advance(1.0)
    wobble = DaemonState(mood=Mood(Emotion.HAPPY, 0.7, 0.5, 0.2, 0.0), probabilities=PROBS)
    assert send(wobble) == set()  # only the figures moved: held back...
    clock.advance(9.0)
    assert send(wobble) == {"mood"}  # ...until refresh_s has passed
    assert send(DaemonState(mood=wobble.mood, probabilities=PROBS, mode="shift")) == {"mode"}
    changes.forget()
    assert len(send(DaemonState())) == len(st.STATE_TOPICS)


def test_an_unknown_track_length_is_null_not_zero() -> None:
    """A catalog row without a duration has 0.0 (unknown): `duration_s: 0.0` told HA the track is 0 s
    long (seen with an imported export in a Trixie box)."""
    from soulsyncd.mqtt.state import playing_payload
    from soulsyncd.types import PlayerState, Track

    unknown = json.loads(playing_payload(PlayerState(track=Track("spotify:track:x", "Song")))[0])
    assert unknown["duration_s"] is None
    track = Track("spotify:track:x", "Song", duration_s=200.04)
    known = json.loads(playing_payload(PlayerState(track=track))[0])
    assert known["duration_s"] == 200.0
