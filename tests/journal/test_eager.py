"""runtime.eager: coroutines run at once, and after a suspension exactly as a Task runs them."""

from __future__ import annotations

import asyncio

import pytest

from tidepool.runtime.eager import start_eagerly


def test_a_coroutine_that_never_suspends_runs_to_the_end_at_once() -> None:
    log: list[str] = []

    async def body() -> None:
        log.append("ran")

    async def main() -> None:
        task = start_eagerly(body())
        assert task is None
        assert log == ["ran"]  # before any loop turn

    asyncio.run(main())


def test_after_a_suspension_it_resumes_with_results_and_in_order() -> None:
    log: list[object] = []

    async def body(future: asyncio.Future[int]) -> None:
        log.append("start")
        log.append(await future)
        await asyncio.sleep(0)  # a bare yield
        log.append("after sleep(0)")
        await asyncio.sleep(0.001)  # a timer future
        log.append("end")

    async def main() -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = start_eagerly(body(future))
        assert task is not None
        assert log == ["start"]
        future.set_result(42)
        await task
        assert log == ["start", 42, "after sleep(0)", "end"]

    asyncio.run(main())


def test_a_failed_future_raises_inside_the_coroutine() -> None:
    caught: list[BaseException] = []

    async def body(future: asyncio.Future[int]) -> None:
        try:
            await future
        except ValueError as exc:
            caught.append(exc)

    async def main() -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = start_eagerly(body(future))
        assert task is not None
        future.set_exception(ValueError("boom"))
        await task
        assert [str(e) for e in caught] == ["boom"]

    asyncio.run(main())


def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    seen: list[str] = []

    async def body(future: asyncio.Future[int]) -> None:
        try:
            await future
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = start_eagerly(body(future))
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == ["cancelled"]
        assert future.cancelled()

    asyncio.run(main())


def test_an_error_before_the_first_suspension_reaches_the_caller() -> None:
    async def body() -> None:
        raise KeyError("early")

    async def main() -> None:
        with pytest.raises(KeyError):
            start_eagerly(body())

    asyncio.run(main())
