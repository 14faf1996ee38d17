"""State payloads at their edges: the CPU figure's arithmetic and intervals, every diagnostics key."""

from __future__ import annotations

import json

import pytest

from soulsyncd.core.state import DaemonState, Stats
from soulsyncd.mqtt import state as st
from soulsyncd.testing import ManualClock


class CpuClock:
    """Process CPU seconds, set by the test."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch) -> CpuClock:
    fake = CpuClock()
    monkeypatch.setattr(st.time, "process_time", fake)
    return fake


def test_cpu_percent_is_cpu_seconds_over_wall_seconds_to_one_decimal(cpu: CpuClock) -> None:
    clock = ManualClock(1000.0)
    sampler = st.ProcessSampler(clock)
    cpu.seconds = 3.0
    assert sampler.sample().cpu_percent is None
    clock.advance(2.0)
    cpu.seconds = 3.25
    assert sampler.sample().cpu_percent == 12.5  # 0.25 s of CPU in 2 s (not 12, not 162.5)
    clock.advance(4.0)
    cpu.seconds = 3.27
    assert sampler.sample().cpu_percent == 0.5  # from the last sample on


def test_no_time_passed_repeats_the_figure_instead_of_dividing_by_zero(cpu: CpuClock) -> None:
    clock = ManualClock(1000.0)
    sampler = st.ProcessSampler(clock)
    sampler.sample()
    clock.advance(1.0)
    cpu.seconds = 0.1
    assert sampler.sample().cpu_percent == 10.0
    cpu.seconds = 0.5  # the same instant again (two reports in one tick)
    assert sampler.sample().cpu_percent == 10.0


def test_the_interval_is_measured_from_its_start_and_may_end_exactly_at_the_minimum(cpu: CpuClock) -> None:
    clock = ManualClock(1000.0)
    sampler = st.ProcessSampler(clock, min_interval_s=30.0)
    sampler.sample()
    clock.advance(10.0)
    cpu.seconds = 1.0
    assert sampler.sample().cpu_percent is None  # 10 s < 30 s: no figure yet
    clock.advance(20.0)
    cpu.seconds = 3.0
    assert sampler.sample().cpu_percent == 10.0  # exactly 30 s: 3 s of CPU over the whole interval


def test_every_diagnostics_key_carries_its_figure() -> None:
    state = DaemonState(stats=Stats(frames_analysed=10, frames_with_face=7, analysis_fps=5.0,
                                    inference_ms=3.0, detector_ms=5.456, uptime_s=1.0, commands_dropped=4))
    payload = json.loads(st.diagnostics_payload(state, st.ProcessSample(cpu_percent=1.0, rss_mb=2.0), 0))
    assert payload.pop("started_at") == st._iso(st.process_started_at())  # the process's, not now
    assert payload == {"analysis_fps": 5.0, "inference_ms": 3.0, "detector_ms": 5.46, "cpu_percent": 1.0,
                       "rss_mb": 2.0, "uptime_s": 1, "frames_analysed": 10, "frames_with_face": 7,
                       "commands_dropped": 4, "mqtt_rejected": 0, "last_error": None}


def test_select_keeps_only_the_named_topics() -> None:
    messages = [st.StateMessage("b/mode", "match", "match"), st.StateMessage("b/volume", "40", "40"),
                st.StateMessage("other/mode", "x", "x")]
    assert st.select(messages, "b", ["mode"]) == [messages[0]]


def test_cpu_percent_keeps_one_decimal_and_rss_is_in_megabytes(
        cpu: CpuClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "_rss_bytes", lambda: 123_456_789)
    clock = ManualClock(1000.0)
    sampler = st.ProcessSampler(clock)
    sampler.sample()
    clock.advance(1.0)
    cpu.seconds = 0.12345
    sample = sampler.sample()
    assert (sample.cpu_percent, sample.rss_mb) == (12.3, 123.5)


def test_a_figure_that_moved_waits_for_the_refresh_at_any_clock_value() -> None:
    clock = ManualClock(5000.0)
    changes = st.ChangeFilter(clock, refresh_s=10.0)
    first = st.StateMessage("b/diagnostics", "1.0", "")
    changes.sent(first)
    clock.advance(9.0)
    moved = st.StateMessage("b/diagnostics", "2.0", "")
    assert changes.due([moved]) == []
    clock.advance(1.0)
    assert changes.due([moved]) == [moved]


@pytest.mark.parametrize(("step", "steps", "percent"), [(0, 0, None), (1, 1, 100), (1, 3, 33), (0, 4, 0)])
def test_shift_percent_never_divides_by_zero(step: int, steps: int, percent: int | None) -> None:
    from soulsyncd.core.state import ShiftProgress

    state = DaemonState(shift=ShiftProgress("happy", step, steps), mode="shift")
    assert json.loads(st.shift_payload(state)) == {"target": "happy", "step": step, "steps": steps,
                                                    "percent": percent}


def test_a_short_probability_tuple_labels_what_it_has() -> None:
    payload, _ = st.mood_payload(DaemonState(probabilities=(0.25, 0.75)))
    assert json.loads(payload)["probabilities"] == {"angry": 0.25, "disgust": 0.75}


def test_the_playing_payload_carries_the_duration() -> None:
    from soulsyncd.types import PlayerState, Track

    payload, _ = st.playing_payload(PlayerState(track=Track("spotify:track:x", "Song", ("A",), 180.46)))
    assert json.loads(payload)["duration_s"] == 180.5


def test_rss_is_the_resident_set_from_statm_or_else_the_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import os
    import resource

    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    assert abs(st._rss_bytes() - resident_pages * os.sysconf("SC_PAGE_SIZE")) < 8 * 1024 * 1024

    def no_proc(*args: object, **kwargs: object) -> object:
        raise OSError("no /proc here")

    monkeypatch.setattr(builtins, "open", no_proc)
    assert st._rss_bytes() == resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- the process's start time (read once; the tests reset the cache) ---------------------------------


def test_the_start_time_read_from_proc_lies_between_boot_and_now() -> None:
    import time

    started = st._proc_start_time()
    now = time.time()
    booted = now - time.clock_gettime(time.CLOCK_BOOTTIME)
    assert started is not None
    assert booted + 1 <= started <= now + 1  # this process began after boot, and not in the future
    assert started == round(started)


class FakeProc:
    """``open`` for the two /proc files, with the text the test gives."""

    def __init__(self, stat: str, proc_stat: str) -> None:
        self.files = {"/proc/self/stat": stat, "/proc/stat": proc_stat}

    def __call__(self, path: str, encoding: str | None = None) -> object:
        import io

        if path not in self.files:
            raise FileNotFoundError(path)
        return io.StringIO(self.files[path])


def _stat_line(name: str, start_ticks: int) -> str:
    # pid (comm) state, then fields 4..21, field 22 is the start time in clock ticks, then more
    return f"4242 ({name}) S " + " ".join(["7"] * 18) + f" {start_ticks} 3133440 418 0\n"


@pytest.mark.parametrize("name", ["soulsyncd", "a) b", "x (y) z)"])
def test_the_start_time_is_boot_plus_the_start_ticks_whatever_the_command_name(
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    fake = FakeProc(_stat_line(name, 5000 * ticks + 3 * ticks // 4),
                    "cpu  1 2 3\nbtime_x 9\nbtime 1700000000\nprocesses 12\n")
    monkeypatch.setattr(st, "open", fake, raising=False)
    assert st._proc_start_time() == 1700005001  # 5000.75 s after boot, to the whole second


@pytest.mark.parametrize(("stat", "proc_stat"), [
    (_stat_line("d", 100), "cpu 1\n"),  # no boot time
    ("4242 (d) S 1 2\n", "btime 1700000000\n"),  # too few fields
    (_stat_line("d", 100).replace(" 100 ", " x "), "btime 1700000000\n"),  # not a number
])
def test_an_unreadable_start_time_is_none(monkeypatch: pytest.MonkeyPatch, stat: str, proc_stat: str) -> None:
    monkeypatch.setattr(st, "open", FakeProc(stat, proc_stat), raising=False)
    assert st._proc_start_time() is None


def test_the_process_start_is_read_once_from_proc_else_it_is_the_first_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "_STARTED_AT", None)
    monkeypatch.setattr(st, "_proc_start_time", lambda: 1700000123)
    monkeypatch.setattr(st.time, "time", lambda: 1800000000.5)
    assert st.process_started_at() == 1700000123  # the kernel's record, not now
    monkeypatch.setattr(st, "_proc_start_time", lambda: 1)
    assert st.process_started_at() == 1700000123  # stable between reports
    monkeypatch.setattr(st, "_STARTED_AT", None)
    monkeypatch.setattr(st, "_proc_start_time", lambda: None)
    assert st.process_started_at() == 1800000000.5  # no /proc: the first call


# --- the exact text on the wire -------------------------------------------------------------------------


def test_the_playing_payload_is_compact_json_in_utf_8_with_whole_second_progress() -> None:
    from soulsyncd.types import PlayerState, Track

    track = Track("spotify:track:x", "Été", ("Ütsi", "Mø"), 200.0)
    payload, key = st.playing_payload(PlayerState(track=track, device="Küche", playing=True, volume=40,
                                                  progress_s=61.4))
    assert payload == ('{"text":"Été — Ütsi, Mø","title":"Été","artists":["Ütsi","Mø"],'
                       '"uri":"spotify:track:x","duration_s":200.0,"device":"Küche","playing":true,"volume":40,"progress_s":61.0}')
    assert key == payload.removesuffix(',"progress_s":61.0}') + "}"


def test_nothing_playing_has_no_progress() -> None:
    from soulsyncd.types import PlayerState

    payload, _ = st.playing_payload(PlayerState(progress_s=12.0))
    assert json.loads(payload)["progress_s"] is None


def test_the_player_payload_carries_the_last_error_clipped() -> None:
    from soulsyncd.types import PlayerState

    assert json.loads(st.player_payload(PlayerState(last_error="boom")))["last_error"] == "boom"
    long = json.loads(st.player_payload(PlayerState(last_error="e" * 300)))["last_error"]
    assert long == "e" * 254 + "…"


@pytest.mark.parametrize(("length", "limit", "clipped"), [
    (255, 255, False), (256, 255, True), (100, 100, False), (101, 100, True)])
def test_a_text_is_clipped_only_past_its_limit(length: int, limit: int, clipped: bool) -> None:
    text = "x" * length
    assert st._clip(text, limit) == ("x" * (limit - 1) + "…" if clipped else text)
    assert st._clip(text) == ("x" * 254 + "…" if length > 255 else text)


@pytest.mark.parametrize(("length", "published"), [(100, "d" * 100), (101, "d" * 99 + "…")])
def test_the_device_topic_is_clipped_at_100_characters(length: int, published: str) -> None:
    from soulsyncd.types import PlayerState

    messages = st.state_messages(DaemonState(player=PlayerState(device="d" * length)), "b")
    assert [m.payload for m in messages if m.topic == "b/device"] == [published]


def test_a_missing_figure_rounds_to_none() -> None:
    assert st._r(None) is None
    assert st._r(1.23456, 3) == 1.235


def test_rss_is_the_resident_pages_times_the_page_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    fake = FakeProc("", "")
    fake.files["/proc/self/statm"] = "9000 250 100 1 0 300 0\n"
    monkeypatch.setattr(st, "open", fake, raising=False)
    assert st._rss_bytes() == 250 * os.sysconf("SC_PAGE_SIZE")


def test_rss_is_in_decimal_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "_rss_bytes", lambda: 1_350_000)
    assert st.ProcessSampler(ManualClock(0.0)).sample().rss_mb == 1.4  # 1.35 MB, not 1.349... MB


def test_the_sampler_reports_any_interval_unless_given_a_minimum(cpu: CpuClock) -> None:
    clock = ManualClock(1000.0)
    sampler = st.ProcessSampler(clock)
    sampler.sample()
    clock.advance(0.5)
    cpu.seconds = 0.25
    assert sampler.sample().cpu_percent == 50.0


def test_figures_are_refreshed_every_10_s_unless_configured() -> None:
    clock = ManualClock(0.0)
    changes = st.ChangeFilter(clock)
    changes.sent(st.StateMessage("b/mood", "1", "happy"))
    moved = st.StateMessage("b/mood", "2", "happy")
    clock.advance(9.5)
    assert changes.due([moved]) == []
    clock.advance(0.5)
    assert changes.due([moved]) == [moved]
