"""Jobs on this machine: a pool of threads over one warm sandbox host (the default runner)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Generic, TypeVar

from gdcourse.grading.sandbox import Job, RunResult, Sandbox

__all__ = ["Background", "LocalRunner", "start_local"]

T = TypeVar("T")
R = TypeVar("R")


class Background(Generic[R]):
    """``action()`` in a thread of its own (a sandbox starts while nbgrader is imported)."""

    def __init__(self, action: Callable[[], R]) -> None:
        self._result: R | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(action,), daemon=True)
        self._thread.start()

    def _run(self, action: Callable[[], R]) -> None:
        try:
            self._result = action()
        except BaseException as error:  # raised again in the caller's thread, by wait()
            self._error = error

    def wait(self) -> R:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class LocalRunner(Generic[T]):
    """``workers`` sandboxed jobs at a time, all forked from one warm host."""

    def __init__(self, sandbox: Sandbox, workers: int, *, window: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.sandbox = sandbox
        self.description = f"{workers} sandboxes at a time on this machine"
        self.window = window or 2 * workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gdcourse-run")
        self._futures: dict[Future[RunResult], T] = {}

    def submit(self, tag: T, job: Job) -> None:
        self._futures[self._pool.submit(self.sandbox.run, job)] = tag

    def pending(self) -> int:
        return len(self._futures)

    def wait(self) -> list[tuple[T, RunResult | BaseException]]:
        done, _ = wait(self._futures, return_when=FIRST_COMPLETED)
        finished: list[tuple[T, RunResult | BaseException]] = []
        for future in done:
            tag = self._futures.pop(future)
            error = future.exception()
            finished.append((tag, error if error is not None else future.result()))
        return finished

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._futures.clear()


def start_local(
    course_root: str | os.PathLike[str],
    *,
    isolation: bool,
    workers: int,
    window: int | None = None,
    master_path: os.PathLike[str] | str | None = None,
) -> Background[LocalRunner[T]]:
    """Start this process's sandbox host in the background; ``wait()`` gives the runner.

    ``wait()`` raises :class:`~gdcourse.grading.sandbox.IsolationUnavailable` when
    isolation is asked for and the machine cannot give it. With ``master_path``, the host
    imports what that assignment's submissions use, and its probes only.
    """

    def start() -> LocalRunner[T]:
        from gdcourse.grading.autograde import read_master, run

        master = read_master(Path(master_path)) if master_path is not None else None
        sandbox = run.shared_sandbox(course_root, isolation=isolation, master=master)
        return LocalRunner(sandbox, workers, window=window)

    return Background(start)
