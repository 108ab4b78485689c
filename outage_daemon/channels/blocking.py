"""Blocking third-party calls with a deadline, in threads that exit never waits for."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def call(seconds: float, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Given a deadline and a blocking call, run the call in a daemon thread of its own and return
    its result; raise what it raised, or TimeoutError after ``seconds``. A call past its deadline is
    left to end by itself: its thread is not joined at exit (the default executor's would be: a
    peer that drips its answer kept the process alive), and its result is dropped."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(lambda: None if done.done() else outcome())

    def run() -> None:
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
            settle(functools.partial(done.set_exception, exc))
        else:
            settle(functools.partial(done.set_result, result))

    threading.Thread(target=run, name=f"blocking-{getattr(func, '__name__', 'call')}", daemon=True).start()
    return await asyncio.wait_for(done, seconds)
