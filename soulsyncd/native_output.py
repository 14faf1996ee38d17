"""Output that native libraries write straight to the process's stderr, brought under logging.

LiteRT's C++ prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` to file descriptor 2
when an interpreter is built, and OpenCV prints ``[ WARN:0@1.397] global cap_v4l.cpp ...`` on every
failed open of a USB camera. Neither goes through Python's ``logging``: on a terminal they interrupt
the daemon's lines, and in the journal they arrive without priority or fields.

* :func:`native_stderr_logged` redirects fd 2 into a temporary file around a call and re-logs what
  was written, a line a record: ``INFO:`` lines at DEBUG, anything else at WARNING (a native error
  about a bad model is still news).
* :func:`quiet_opencv` turns OpenCV's own logging off (the sources log their own one-line message
  for each failed open); ``OPENCV_LOG_LEVEL`` in the environment, when set, wins.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

_INFO_PREFIXES = ("INFO:", "VERBOSE:")


@contextlib.contextmanager
def native_stderr_logged(logger: logging.Logger) -> Iterator[None]:
    """Capture what native code writes to fd 2 inside the block and log it through ``logger``.

    Python's own writes to ``sys.stderr`` from other threads in the meantime are captured too and
    re-logged rather than lost; keep the block short (building an interpreter takes milliseconds).
    Without a usable fd 2 (closed, or replaced by something without a descriptor) the block runs
    as it is.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
    for line in text.splitlines():
        if line.strip():
            level = logging.DEBUG if line.startswith(_INFO_PREFIXES) else logging.WARNING
            logger.log(level, "%s", line.strip())


def quiet_opencv() -> None:
    """Silence OpenCV's native log (``[ WARN:0@...]`` lines) unless ``OPENCV_LOG_LEVEL`` is set."""
    if os.environ.get("OPENCV_LOG_LEVEL"):
        return  # the person asked for OpenCV's own output
    import cv2

    with contextlib.suppress(AttributeError):  # a build without cv2.utils.logging: nothing to set
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
