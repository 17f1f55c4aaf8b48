"""The life of a libgoal handle that one Python object owns (a model, a graph, an index)."""

from __future__ import annotations

import ctypes

from ._errors import GoalError


class OwnedHandle:
    """Owns `_handle`: released by close(), on leaving a `with` block, or when collected.
    Subclasses name what they hold (`_handle_kind`, for messages) and the libgoal function that
    frees it (`_free`)."""

    _handle_kind = "object"
    _free = None  # a staticmethod: the goal_*_free binding
    _handle = ctypes.c_void_p()

    def _live(self):
        """The handle, or GoalError if close() was called."""
        if not self._handle:
            raise GoalError(f"the {self._handle_kind} is closed")
        return self._handle

    def close(self) -> None:
        """Releases the handle. Calling it again does nothing."""
        handle, self._handle = self._handle, ctypes.c_void_p()
        if handle:
            self._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        # Also reached when __init__ failed before a handle was made; then there is nothing to do.
        try:
            self.close()
        except Exception:
            pass
