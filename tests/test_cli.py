"""`soulsyncd run` and `soulsyncd check-config` as a user (or systemd) runs them: real processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def soulsyncd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "soulsyncd", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_check_config_prints_ok_for_the_example() -> None:
    result = soulsyncd("check-config", str(ROOT / "config" / "soulsync.example.yaml"))
    assert result.returncode == 0
    assert result.stdout.strip().startswith("ok")


def test_check_config_names_key_and_line_and_exits_78(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.yaml", "analysis:\n  fps: 5\n  fsp: 3\n")
    result = soulsyncd("check-config", str(config))
    assert result.returncode == 78
    assert result.stderr.strip() == f"{config}:3: analysis.fsp: unknown key (did you mean 'fps'?)"


def test_run_with_a_bad_config_exits_78(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.yaml", "camera:\n  kind: webcam\n")
    result = soulsyncd("run", "--config", str(config), "--for", "1")
    assert result.returncode == 78
    assert "camera.kind" in result.stderr


def test_missing_model_exits_78_naming_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "model:\n  path: nowhere/emotion.tflite\n")
    result = soulsyncd("run", "--config", str(config), "--for", "1")
    assert result.returncode == 78
    assert f"model file not found: {tmp_path / 'nowhere' / 'emotion.tflite'}" in result.stderr


def test_run_for_exits_0_and_logs_a_mood(tmp_path: Path, render_scene: Callable[..., Path]) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(3.0, "happy")])
    config = write_config(tmp_path / "c.yaml", f"camera:\n  kind: file\n  path: {video}\n  loop: true\n")
    result = soulsyncd("run", "--config", str(config), "--for", "4")
    assert result.returncode == 0, result.stderr
    # A real emotion from the face, not just the first "absent" line a blind detector would give.
    assert re.search(r"mood at +[0-9.]+ s: happy \(confidence", result.stderr), result.stderr
    assert re.search(r"^ +[0-9.]+ s +happy +confidence", result.stdout, re.MULTILINE), result.stdout


def test_file_input_ending_stops_the_run(tmp_path: Path, render_scene: Callable[..., Path]) -> None:
    """With loop off the daemon stops by itself when the clip is over (the demo relies on it)."""
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(2.0, "happy")])
    config = write_config(tmp_path / "c.yaml", f"camera:\n  kind: file\n  path: {video}\n  loop: false\n")
    started = time.monotonic()
    result = soulsyncd("run", "--config", str(config), "--for", "30")
    assert result.returncode == 0, result.stderr
    assert "input finished" in result.stderr
    assert time.monotonic() - started < 20


def test_sigterm_stops_cleanly_within_two_seconds(tmp_path: Path, render_scene: Callable[..., Path]) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(2.0, "neutral")])
    config = write_config(tmp_path / "c.yaml", f"camera:\n  kind: file\n  path: {video}\n  loop: true\n")
    process = subprocess.Popen([sys.executable, "-m", "soulsyncd", "run", "--config", str(config)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the daemon is up once it reports a mood
            if "mood at" in line:
                break
        else:
            raise AssertionError("the daemon ended without logging a mood")
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=5)
        assert time.monotonic() - sent < 2.0
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def test_absent_usb_camera_is_retried_and_the_daemon_keeps_running(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        "camera:\n  kind: usb\n  device: /nonexistent/video7\n  retry_initial_s: 0.2\n  retry_max_s: 0.5\n",
    )
    result = soulsyncd("run", "--config", str(config), "--for", "2")
    assert result.returncode == 0, result.stderr
    assert "unavailable" in result.stderr
    assert "retrying in" in result.stderr


def test_picamera2_off_a_pi_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "camera:\n  kind: picamera2\n")
    result = soulsyncd("run", "--config", str(config), "--for", "1")
    assert result.returncode == 69
    assert "picamera2" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_camera_exits_66(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "camera:\n  kind: file\n  path: gone.mp4\n")
    result = soulsyncd("run", "--config", str(config), "--for", "2")
    assert result.returncode == 66
    assert "gone.mp4" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_cascade_exits_78_naming_the_file(tmp_path: Path, render_scene: Callable[..., Path]) -> None:
    """A broken OpenCV install (no Haar XML) is a configuration problem for systemd: exit 78, no traceback."""
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(1.0, "happy")])
    config = write_config(tmp_path / "c.yaml", f"camera:\n  kind: file\n  path: {video}\n")
    shim = tmp_path / "shim"
    shim.mkdir()
    # sitecustomize runs before soulsyncd: point OpenCV's data folder somewhere empty.
    (shim / "sitecustomize.py").write_text("import cv2\ncv2.data.haarcascades = '/nonexistent/cascades/'\n")
    env = {**os.environ, "PYTHONPATH": f"{shim}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "soulsyncd", "run", "--config", str(config), "--for", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 78, result.stderr
    assert "/nonexistent/cascades/" in result.stderr
    assert "Traceback" not in result.stderr


def test_for_must_be_finite(tmp_path: Path) -> None:
    for bad in ("inf", "nan", "-1", "0", "1e300"):
        result = soulsyncd("run", "--config", str(tmp_path / "c.yaml"), "--for", bad)
        assert result.returncode == 2, bad
        assert "--for" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_closed_stdout_after_a_clean_run_is_not_an_error(
    tmp_path: Path, render_scene: Callable[..., Path],
) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(1.0, "happy")])
    config = write_config(tmp_path / "c.yaml", f"camera:\n  kind: file\n  path: {video}\n  loop: false\n")
    process = subprocess.Popen([sys.executable, "-m", "soulsyncd", "run", "--config", str(config)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.close()  # the reader went away (| head, a closed terminal)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "BrokenPipe" not in stderr


def _start(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "soulsyncd", "run", "--config", str(config), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(process: subprocess.Popen[str], needle: str) -> list[str]:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"the daemon ended before logging {needle!r}:\n{''.join(seen)}")


def _caught_signals(pid: int) -> int:
    """The mask of signals the process has handlers for (``SigCgt`` in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no SigCgt for process {pid}")


def _wait_until_catching(process: subprocess.Popen[str], signum: int) -> None:
    """Until the process has a handler for ``signum``: Python only catches SIGHUP once
    soulsyncd/__main__ has run its first lines, so this is the moment its promise starts."""
    deadline = time.monotonic() + 30
    while not _caught_signals(process.pid) & (1 << (signum - 1)):
        assert process.poll() is None, "the daemon ended before installing its handlers"
        assert time.monotonic() < deadline, f"no handler for signal {signum} after 30 s"
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.005)  # a poll interval: the condition above is what is waited for


def test_stop_signals_are_quiet_before_anything_heavy_is_imported() -> None:
    """The quiet handlers are in place once ``soulsyncd.__main__`` is imported, and nothing heavy
    (numpy, OpenCV, the model runtime, the config) has been imported by then."""
    probe = ("import signal, sys, soulsyncd.__main__ as m\n"
             "print(all(signal.getsignal(s) is m._exit_quietly"
             " for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)))\n"
             "print(sorted(n for n in ('numpy', 'cv2', 'ai_edge_litert', 'tflite_runtime', 'msgspec',"
             " 'soulsyncd.cli', 'soulsyncd.config') if n in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert result.stdout.split("\n")[:2] == ["True", "[]"], result.stdout + result.stderr


def test_ctrl_c_at_start_up_ends_quietly(tmp_path: Path, render_scene: Callable[..., Path]) -> None:
    """SIGINT during imports and model loading: exit 0, no KeyboardInterrupt traceback.

    Counted from the moment soulsyncd/__main__ has installed its handlers (before that the
    interpreter itself is starting, and a signal ends it the way it ends any program), so a loaded
    machine only moves where in the start-up the signals land."""
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(1.0, "happy")])
    config = write_config(tmp_path / "c.yaml", f"camera:\n  kind: file\n  path: {video}\n")
    for delay_s in (0.0, 0.1, 0.3, 0.6):
        process = _start(config)
        _wait_until_catching(process, signal.SIGHUP)
        try:
            process.wait(timeout=delay_s)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert "KeyboardInterrupt" not in stderr


def test_sighup_reloads_a_good_config_and_keeps_running_on_a_bad_one(
    tmp_path: Path, render_scene: Callable[..., Path],
) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(2.0, "happy")])
    config = write_config(tmp_path / "c.yaml",
                          f"camera:\n  kind: file\n  path: {video}\npolicy:\n  mode: match\n")
    process = _start(config)
    try:
        _wait_for_line(process, "ready")
        config.write_text(f"camera:\n  kind: file\n  path: {video}\npolicy:\n  mode: shift\n")
        process.send_signal(signal.SIGHUP)
        _wait_for_line(process, "policy shift")
        config.write_text("policy:\n  mode: sideways\n")
        process.send_signal(signal.SIGHUP)
        lines = _wait_for_line(process, "reload rejected")
        lines += _wait_for_line(process, "policy.mode")
        assert process.poll() is None  # still running on the old config
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
