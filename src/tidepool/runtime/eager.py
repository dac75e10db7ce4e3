"""Run a coroutine eagerly: at once, in the caller's frame, and as a Task only if it suspends.

Why: the engine process of `serve --workers N` starts one `GatewayApp.dispatch` per forwarded
request, and nearly all of them finish without ever suspending (durability `process`, no
speedbump delay). A Task for each costs a loop turn before it starts and a few µs of the one
process every request goes through. Python 3.12's `asyncio.eager_task_factory` does the same;
this is the 3.11 form.

After the first suspension the rest is driven exactly as a Task drives a coroutine: wait for
the future it yielded (one loop turn for a bare yield, i.e. `asyncio.sleep(0)`), then resume it
with `send(None)`, or with `throw(exc)` if that wait raised (the future failed, or the Task was
cancelled), until it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def start_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` up to its first suspension now; the Task running the rest, or None if it
    already finished. An exception raised before the first suspension propagates here."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resume(coro, yielded))


async def _resume(coro: Coroutine[Any, Any, None], yielded: Any) -> None:
    while True:
        error: BaseException | None = None
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                # The coroutine's own `await` marked the future as being waited for; a Task
                # clears the mark when it takes the future over, and so must we before waiting.
                yielded._asyncio_future_blocking = False
                await yielded
        except BaseException as exc:  # handed to the coroutine, as a Task does
            error = exc
        try:
            yielded = coro.send(None) if error is None else coro.throw(error)
        except StopIteration:
            return
