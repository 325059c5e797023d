"""Jobs on the workers of a Dask cluster (``gdcourse grade --scheduler ADDRESS``).

Each worker keeps one warm sandbox host of its own, started once by
:class:`SandboxPlugin` (a Dask worker plugin) with the isolation rules of local
grading: it refuses to start where bubblewrap and unprivileged user namespaces
are missing, unless the instructor passed ``--no-isolation``. A task
(:func:`run_job`) receives a :class:`~gdcourse.grading.sandbox.Job` (the
student's code cells and the master's cases) and returns the sandbox's
:class:`~gdcourse.grading.sandbox.RunResult`, plain frozen dataclasses; it
never sees a reference or an expected value, and never opens the gradebook.

A worker that dies takes its running tasks with it; Dask's scheduler runs them
again on another worker (``distributed.scheduler.allowed-failures`` times at
most, then the submission needs a human). Results are handed back once per
job, so each submission is judged and recorded once.

This module imports Dask: ``gdcourse grade`` imports it only when a scheduler is
given.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import hashlib
import importlib
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gdcourse.grading.report import plural
from gdcourse.grading.runners import (
    RunAborted,
    SandboxCheck,
    check_sandbox,
    fingerprint,
)
from gdcourse.grading.sandbox import IsolationUnavailable, Job, RunResult, Sandbox

__all__ = [
    "DaskRunner",
    "SandboxPlugin",
    "SchedulerUnreachable",
    "check_workers",
    "connect",
    "loopback_cluster",
    "run_job",
]

if TYPE_CHECKING:
    from gdcourse.grading.autograde import Master

T = TypeVar("T")

# Dask is typed in part only: used through ``Any``, like nbgrader.
distributed: Any = importlib.import_module("distributed")
_WorkerPlugin: Any = importlib.import_module("distributed.diagnostics.plugin").WorkerPlugin


def loopback_cluster(workers: int, **options: Any) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` processes (one thread each) on 127.0.0.1.

    What the tests and ``benchmarks/scale.py`` grade on, standing in for a real cluster: no
    dashboard (its metrics server on a free loopback port, not 8787, which another cluster
    may hold), no memory limit (the sandboxes have their own). ``options`` go to
    ``LocalCluster`` (e.g. ``silence_logs``). Use it as a context manager.
    """
    settings: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
        "memory_limit": 0,
    }
    return distributed.LocalCluster(**{**settings, **options})


CONNECT_SECONDS = 10.0
"""How long :func:`connect` tries to reach the scheduler."""

NO_WORKER_SECONDS = 120.0
"""How long a run waits with no worker at all before it stops (and says how to resume)."""


class SchedulerUnreachable(RunAborted):
    """The scheduler cannot be reached, or has no worker; the message says what to check."""


# ---------------------------------------------------------------- on each worker

_sandboxes: dict[tuple[str, bool, tuple[str, ...] | None, tuple[str, ...] | None], Sandbox] = {}
_sandboxes_lock = threading.Lock()


def worker_sandbox(
    course_root: str | None,
    isolation: bool,
    preload: tuple[str, ...] | None = None,
    probes: tuple[str, ...] | None = None,
) -> Sandbox:
    """This worker process's sandbox host: started on first use, stopped when it exits.

    ``course_root`` is the instructor's course folder; where it exists on this
    machine (a cluster on the instructor's own machine) it is kept out of the
    sandbox's view as in local grading. ``preload`` and ``probes`` are what the
    host imports once (the assignment's, computed by the instructor's process);
    ``None``: the sandbox's defaults, for every assignment.
    """
    root = course_root if course_root and os.path.isdir(course_root) else None
    key = (root or "", isolation, preload, probes)
    with _sandboxes_lock:
        if key not in _sandboxes:
            options: dict[str, Any] = {}
            if preload is not None:
                options["preload"] = list(preload)
            if probes is not None:
                options["probes"] = list(probes)
            sandbox = Sandbox(isolation=isolation, course_root=root, **options)
            sandbox.start()
            atexit.register(sandbox.close)
            _sandboxes[key] = sandbox
        return _sandboxes[key]


class SandboxPlugin(_WorkerPlugin):  # type: ignore[misc]
    """Starts the worker's sandbox host once, before its first task; a worker whose
    gdcourse differs from the instructor's, or that cannot isolate student code, refuses."""

    idempotent = True

    def __init__(
        self,
        *,
        course_root: str | None,
        isolation: bool,
        expected: str,
        preload: tuple[str, ...] | None = None,
        probes: tuple[str, ...] | None = None,
    ) -> None:
        self.course_root = course_root
        self.isolation = isolation
        self.expected = expected
        self.preload = preload
        self.probes = probes
        what = hashlib.sha256(repr((preload, probes)).encode()).hexdigest()[:8]
        self.name = (
            f"gdcourse-sandbox-{'isolated' if isolation else 'not-isolated'}-{expected[:12]}"
            f"-{what}"
        )

    async def setup(self, worker: Any) -> None:
        mine = await asyncio.get_running_loop().run_in_executor(None, fingerprint)
        if mine != self.expected:
            raise RuntimeError(
                f"Dask worker {worker.address} has another gdcourse than the instructor's "
                "(its sandbox, probes or protocol differ): install the same gdcourse version on "
                "every worker"
            )
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, worker_sandbox, self.course_root, self.isolation, self.preload, self.probes
            )
        except IsolationUnavailable as error:
            raise IsolationUnavailable(f"on Dask worker {worker.address}: {error}") from None


@functools.cache
def _own_fingerprint() -> str:
    return fingerprint()


def run_job(
    job: Job,
    course_root: str | None,
    isolation: bool,
    preload: tuple[str, ...] | None = None,
    probes: tuple[str, ...] | None = None,
    expected: str | None = None,
) -> RunResult:
    """The task: run one job in this worker's sandbox and return its report.

    A worker that joined after the plugin ran, with another gdcourse than ``expected``
    (the instructor's :func:`fingerprint`), refuses the job.
    """
    if expected is not None and _own_fingerprint() != expected:
        raise RuntimeError(
            "this Dask worker has another gdcourse than the instructor's: install the same "
            "gdcourse version on every worker"
        )
    return worker_sandbox(course_root, isolation, preload, probes).run(job)


def _check(course_root: str | None, isolation: bool, dask_worker: Any = None) -> SandboxCheck:
    """On a worker: run the check job in its sandbox (a warm one, else one started now)."""
    root = course_root if course_root and os.path.isdir(course_root) else None
    with _sandboxes_lock:
        warm = [box for key, box in _sandboxes.items() if key[:2] == (root or "", isolation)]
    try:
        sandbox = warm[0] if warm else worker_sandbox(course_root, isolation)
    except Exception:
        return check_sandbox(isolation, course_root)  # reports why it cannot start
    check = check_sandbox(isolation, course_root, sandbox=sandbox)
    if dask_worker is not None:
        return SandboxCheck(**{**check.__dict__, "host": f"{dask_worker.address} {check.host}"})
    return check


# ---------------------------------------------------------------- in the instructor's process


HELP = (
    "Check that the scheduler is running (`dask scheduler` prints its address; Dask Gateway, "
    "dask-jobqueue and dask-kubernetes give it as cluster.scheduler_address), that ADDRESS is "
    "that address with its protocol and port (e.g. tcp://10.0.0.5:8786), and that this machine "
    "can reach it (firewall, VPN; for tls:// the certificates in your Dask configuration). "
    "Grading on this machine alone needs no scheduler: leave out --scheduler."
)


def connect(address: str, *, timeout: float = CONNECT_SECONDS) -> Any:
    """A client of the scheduler at ``address``, or :class:`SchedulerUnreachable` within about
    ``timeout`` seconds saying what was tried and what to check.

    A TCP address (``tcp://``, ``tls://``) is first reached with a plain socket, so that a
    refused connection, an unknown host or a silent network is said as such, in seconds.
    """
    scheme, host, port = _parse(address)
    started = time.monotonic()
    if scheme in ("tcp", "tls"):
        _reach(address, host, port, timeout, handshake=scheme == "tcp")
    try:
        with dask_config(timeout):
            client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        waited = time.monotonic() - started
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address!r}: tried to connect for "
            f"{waited:.0f} s ({type(error).__name__}: {error}). {HELP}"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        client.close()
        raise SchedulerUnreachable(
            f"the Dask scheduler at {address!r} has no worker (waited {timeout:.0f} s): start "
            "workers with `dask worker ADDRESS` (or scale your Dask Gateway, dask-jobqueue or "
            "dask-kubernetes cluster), then run the command again."
        ) from None
    return client


def _parse(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a scheduler address (port 0 where the scheme has none)."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address)
        if scheme not in backends:  # Client() would fail, and leave a client to clean up
            raise SchedulerUnreachable(
                f"{address!r}: Dask here speaks no {scheme}:// (it speaks "
                f"{', '.join(sorted(backends))}://). A scheduler address looks like "
                "tcp://HOST:PORT; for Dask Gateway, hand the client of cluster.get_client() to "
                "gdcourse.grading.cli.grade_command (see README, 'Grading on a cluster')."
            )
        if scheme not in ("tcp", "tls"):
            return scheme, location, 0
        host, port = parse_host_port(location)
        if not host or not 0 < int(port) < 65536:
            raise ValueError("no host, or a port outside 1-65535")
    except (ValueError, TypeError) as error:
        raise SchedulerUnreachable(
            f"{address!r} is not a Dask scheduler address ({error}); a scheduler address "
            "looks like tcp://HOST:PORT (or tls://HOST:PORT)."
        ) from None
    return scheme, str(host), int(port)


def _reach(address: str, host: str, port: int, timeout: float, *, handshake: bool) -> None:
    """Open (and close) a TCP connection to the scheduler, or say why it cannot be opened.

    With ``handshake``, the first bytes of Dask's handshake must arrive too (a Dask
    server speaks first): a port that accepts connections and stays silent (another
    service, a dashboard) is not waited on for ever.
    """
    deadline = time.monotonic() + timeout
    refused = 0
    while True:
        try:
            left = max(0.5, deadline - time.monotonic())
            with socket.create_connection((host, port), timeout=left) as connection:
                if not handshake:
                    return
                connection.settimeout(max(1.0, deadline - time.monotonic()))
                if connection.recv(1):
                    return
                problem = f"{host}:{port} closed the connection without a Dask handshake"
        except socket.gaierror as error:
            problem = f"the host name {host!r} does not resolve ({error.strerror})"
        except ConnectionRefusedError:
            refused += 1
            problem = f"nothing listens on port {port} of {host} (connection refused)"
            if refused < 3 and time.monotonic() + 1 < deadline:
                time.sleep(1)  # a scheduler that is starting
                continue
        except TimeoutError:
            problem = (
                f"no Dask scheduler answered at {host}:{port} within {timeout:.0f} s (the "
                "connection was not accepted, or was accepted by something that stayed silent: "
                "is this the scheduler's port, 8786 by default, and not its dashboard's?)"
            )
        except OSError as error:
            problem = f"{error.strerror or error} ({host}:{port})"
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address!r}: {problem}. {HELP}"
        )


@contextlib.contextmanager
def dask_config(timeout: float) -> Iterator[None]:
    """Dask's connection timeouts no longer than ``timeout`` while connecting."""
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": f"{timeout}s"}):
        yield


class DaskRunner(Generic[T]):
    """Jobs as tasks on a Dask cluster, ``window`` in flight at most."""

    def __init__(
        self,
        client: Any,
        *,
        course_root: str | None,
        isolation: bool,
        window: int | None = None,
        no_worker_seconds: float = NO_WORKER_SECONDS,
        poll_seconds: float = 10.0,
    ) -> None:
        self.client = client
        self.course_root = course_root
        self.isolation = isolation
        self.no_worker_seconds = no_worker_seconds
        self.poll_seconds = poll_seconds
        """How often :meth:`wait` looks at the workers while no result comes."""
        threads = sum(client.nthreads().values())
        self.window = window or max(4, 2 * threads)
        self.description = (
            f"{plural(len(client.nthreads()), 'Dask worker')} ({plural(threads, 'thread')}) of "
            "the scheduler at "
            f"{client.scheduler.address}"
        )
        self._futures: dict[Any, T] = {}
        self._done: queue.Queue[Any] = queue.Queue()
        self._run = uuid.uuid4().hex[:8]
        self._count = 0
        self._preload: tuple[str, ...] | None = None
        self._probes: tuple[str, ...] | None = None
        self._expected = fingerprint()

    def start(self, master: Master | None = None) -> None:
        """Start a warm sandbox on every worker (a few seconds), importing what ``master``'s
        submissions use; raises :class:`~gdcourse.grading.sandbox.IsolationUnavailable`
        naming a worker that cannot isolate student code, and RuntimeError for one with
        another gdcourse."""
        if master is not None:
            from gdcourse.grading.autograde.run import preload_for, probe_module

            self._preload = tuple(preload_for(master))
            self._probes = (probe_module(master.assignment),)
        plugin = SandboxPlugin(
            course_root=self.course_root,
            isolation=self.isolation,
            expected=self._expected,
            preload=self._preload,
            probes=self._probes,
        )
        try:
            self.client.register_plugin(plugin)
        except Exception:
            with contextlib.suppress(Exception):
                self.client.unregister_worker_plugin(plugin.name)
            raise

    def submit(self, tag: T, job: Job) -> None:
        self._count += 1
        key = f"gdcourse-run-{self._run}-{self._count}"
        future = self.client.submit(
            run_job,
            job,
            self.course_root,
            self.isolation,
            self._preload,
            self._probes,
            self._expected,
            key=key,
            pure=False,
        )
        self._futures[future] = tag
        future.add_done_callback(self._done.put)  # called in a thread of Dask's

    def pending(self) -> int:
        return len(self._futures)

    def wait(self) -> list[tuple[T, RunResult | BaseException]]:
        alone_since: float | None = None
        while True:
            try:
                finished = [self._done.get(timeout=self.poll_seconds)]
            except queue.Empty:
                if self._workers():
                    alone_since = None
                    continue
                alone_since = alone_since or time.monotonic()
                if time.monotonic() - alone_since > self.no_worker_seconds:
                    raise RunAborted(
                        f"the Dask cluster has had no worker for {self.no_worker_seconds:g} s, "
                        f"with {plural(len(self._futures), 'submission')} in flight: start "
                        "workers, then "
                        "run the same command again to grade what is missing"
                    ) from None
                continue
            with contextlib.suppress(queue.Empty):
                while True:
                    finished.append(self._done.get_nowait())
            return [self._take(future) for future in finished if future in self._futures]

    def _workers(self) -> int:
        if self.client.status not in ("running", "connecting"):
            raise RunAborted(
                "lost the Dask scheduler: run the same command again to grade what is missing"
            )
        try:
            return len(self.client.nthreads())
        except Exception as error:
            raise RunAborted(
                f"lost the Dask scheduler ({type(error).__name__}: {error}): run the same "
                "command again to grade what is missing"
            ) from None

    def _take(self, future: Any) -> tuple[T, RunResult | BaseException]:
        tag = self._futures.pop(future)
        try:
            if future.status == "cancelled":
                raise RunAborted(
                    "the Dask scheduler dropped the work (its connection was lost?): run the "
                    "same command again to grade what is missing"
                )
            error = future.exception()
            outcome: RunResult | BaseException
            outcome = _described(error) if error is not None else future.result()
        finally:
            future.release()
        return tag, outcome

    def close(self) -> None:
        futures = list(self._futures)
        self._futures.clear()
        with contextlib.suppress(Exception):
            self.client.cancel(futures)
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)


def _described(error: BaseException) -> BaseException:
    """A task's error as the grader reports it (a worker that kept dying says so)."""
    if type(error).__name__ == "KilledWorker":
        return RuntimeError(
            "the Dask workers running this submission died every time it ran there "
            f"({error}); grade it again, and see the workers' logs"
        )
    return error


def check_workers(client: Any, *, course_root: str | None, isolation: bool) -> list[SandboxCheck]:
    """Run the check job in the sandbox of every worker (each started if need be)."""
    results = client.run(_check, course_root, isolation, on_error="return")
    checks = []
    for address, outcome in sorted(results.items()):
        if isinstance(outcome, SandboxCheck):
            checks.append(outcome)
        else:
            checks.append(
                SandboxCheck(address, "?", "", False, "failed", 0.0, error=repr(outcome))
            )
    return checks
