"""Named crash and pause points for the reliability drills.

The drills must stop a load at exact places (between the lake write and the
ledger row, between the loaded marker and the row, between a check and the
write it decides) to prove the locks and the re-run repair each. Timing a
signal from outside cannot hit a window of a few microseconds, so the loader
names those places:
- ENVMON_FAULT=<point>: the process SIGKILLs itself there;
- ENVMON_PAUSE=<point>=<seconds>: it sleeps there, widening a race window.
Unset (always, outside the drills) a point costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time


def fault_point(name: str) -> None:
    if os.environ.get("ENVMON_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get("ENVMON_PAUSE")
    if pause and pause.partition("=")[0] == name:
        time.sleep(float(pause.partition("=")[2] or 1))
