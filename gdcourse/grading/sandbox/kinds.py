"""Typed words of the sandbox's report: how a submission's run ended, why a test stopped.

Both are string enums: their values are what the report's JSON holds, and each
compares equal to its value, so code that compared the words keeps working while
readers move to the members.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Status", "Stop"]


class Status(StrEnum):
    """How the run of one submission ended (:attr:`RunResult.status`)."""

    OK = "ok"
    """Every test ran (each may still have failed or stopped on its own)."""
    TIMEOUT = "timeout"
    """The submission's wall-clock limit was used up; the tests after it did not run."""
    CELLS_FAILED = "cells-failed"
    """The notebook's code cells did not finish (limit, crash, the watch taken apart)."""
    CHANNEL = "channel"
    """The reply channel was misused while the cells ran."""
    CRASHED = "crashed"
    """The sandbox's own machinery failed on this submission."""

    @classmethod
    def read(cls, value: object) -> Status:
        """The member of a report's value (anything unknown: :attr:`CRASHED`).

        >>> Status.read("ok") is Status.OK, Status.read("nonsense") is Status.CRASHED
        (True, True)
        """
        return (
            cls(value)
            if isinstance(value, str) and value in cls._value2member_map_
            else cls.CRASHED
        )


class Stop(StrEnum):
    """Why a test's cases stopped before the last (:attr:`TestOutcome.stop`)."""

    NONE = ""
    """They did not: every case was asked (or a shortcut or violation ended them)."""
    TIMEOUT = "timeout"
    """The graded function did not return within the test's time."""
    ENDED = "ended"
    """The process running the case ended (an exit, a signal) without a result."""
    LIMIT = "limit"
    """The sandbox's memory, CPU or output limit stopped it."""
    NOT_RUN = "not-run"
    """The test never ran: the cells failed, or the submission's time was used up."""

    @classmethod
    def read(cls, value: object) -> Stop:
        """The member of a report's value (anything unknown: :attr:`ENDED`).

        >>> Stop.read("timeout") is Stop.TIMEOUT, Stop.read(3) is Stop.ENDED
        (True, True)
        """
        return (
            cls(value) if isinstance(value, str) and value in cls._value2member_map_ else cls.ENDED
        )
