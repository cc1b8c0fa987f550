"""Stopping on a signal must never deadlock, whatever the main thread is doing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Where a second SIGTERM can land: inside `stop.wait()`, just after it took back the event's
# (non-reentrant) lock. A handler that set the event right there, on the same thread, would
# never return; run in a child process so such a hang fails the test instead of stalling it.
SCENARIO = textwrap.dedent(
    """
    import signal, threading
    from sounding.processes import stop_on_signals

    stop = threading.Event()
    stop_on_signals(stop)
    handler = signal.getsignal(signal.SIGTERM)
    with stop._cond:
        handler(signal.SIGTERM, None)
    assert stop.wait(2), "the stop was never set"
    print("stopped")
    """
)


def test_a_signal_arriving_while_the_main_thread_holds_the_events_lock_still_stops() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCENARIO], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("the signal handler deadlocked") from None
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"
