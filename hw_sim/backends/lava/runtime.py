"""Start, run and always stop a Lava runtime: a failed or interrupted run leaves no OS process behind.

Lava (``MultiProcessing`` message infrastructure) runs every process as a child OS process
plus a shared-memory manager. :func:`lava_session` yields the process that drives the runs;
on leaving it (normally, on an exception or on Ctrl-C) it asks the runtime to stop, waits at
most ``STOP_TIMEOUT`` seconds for that (a child killed by the same Ctrl-C never answers), then
terminates, and if need be kills, every child process started inside the session.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import threading
from typing import Any, Iterator

STOP_TIMEOUT = 30.0  # seconds granted to Lava's own orderly stop
KILL_TIMEOUT = 5.0  # seconds granted to each terminated child before it is killed


def _stop_runtime(runtime: Any) -> None:
    """``runtime.stop()`` in a daemon thread, given ``STOP_TIMEOUT`` seconds."""
    if runtime is None:
        return
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            runtime.stop()
        except BaseException as err:  # noqa: BLE001 - reported below, children are killed anyway
            errors.append(err)

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    thread.join(STOP_TIMEOUT)


def _alive(child: Any) -> bool:
    try:
        return bool(child.is_alive())
    except ValueError:  # a process object Lava already joined and closed
        return False


def _reap(children: list[Any]) -> None:
    """Terminate, then kill, the given child processes that are still alive."""
    live = [c for c in children if _alive(c)]
    for child in live:
        child.terminate()
    for child in live:
        mp.Process.join(child, KILL_TIMEOUT)  # Lava's SystemProcess.join takes no timeout
        if _alive(child):
            child.kill()
            mp.Process.join(child, KILL_TIMEOUT)


def lava_children(before: set[int]) -> list[Any]:
    """Live child processes of this process not in ``before`` (pids)."""
    return [c for c in mp.active_children() if c.pid not in before]


@contextlib.contextmanager
def lava_session(runner: Any) -> Iterator[Any]:
    """Yield ``runner`` (the Lava process whose ``run`` drives the network); stop its runtime on exit."""
    before = {c.pid for c in mp.active_children()}
    try:
        yield runner
    finally:
        runtime = getattr(runner, "runtime", None)
        try:
            _stop_runtime(runtime)
        finally:
            actors = list(getattr(getattr(runtime, "_messaging_infrastructure", None), "actors", []) or [])
            _reap(actors + [c for c in lava_children(before) if c not in actors])
