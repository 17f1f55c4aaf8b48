"""The exceptions the binding raises: one class per goal_status, all under GoalError."""

from __future__ import annotations


class GoalError(Exception):
    """A call into libgoal failed. `status` is the goal_status number, `message` the library's text."""

    status: int = -1

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidArgumentError(GoalError, ValueError):
    status = 1


class OutOfMemoryError(GoalError, MemoryError):
    status = 2


class IndexOutOfRangeError(GoalError, IndexError):
    status = 3


class ModelNotFoundError(GoalError):
    status = 4


class ReadError(GoalError):
    status = 5


class NotONNXError(GoalError):
    status = 6


class TruncatedModelError(GoalError):
    status = 7


class InvalidModelError(GoalError):
    status = 8


class ExternalDataError(GoalError):
    status = 9


class PathEscapeError(GoalError):
    status = 10


class UnsupportedError(GoalError):
    status = 11


class InternalError(GoalError):
    status = 12


class BufferTooSmallError(GoalError):
    status = 13


class CorruptFileError(GoalError):
    """A damaged file, or not the kind it should be: an index file with a wrong magic, a
    checksum mismatch or inconsistent sizes."""

    status = 14


_BY_STATUS = {cls.status: cls for cls in GoalError.__subclasses__()}


def error_for(status: int, message: str) -> GoalError:
    cls = _BY_STATUS.get(status)
    if cls is None:
        return GoalError(message or f"libgoal status {status}", status)
    return cls(message)
