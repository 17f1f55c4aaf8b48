"""A one-line progress bar for the command-line tool: done/total, rate and time left.

Kept here, small, so the tool needs nothing beyond NumPy (no tqdm).
"""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

_BAR_WIDTH = 24
# Redrawing on every item of a fast run would cost more than the work; a few times a second is
# enough for a person watching.
_MIN_INTERVAL = 0.1


def format_duration(seconds: float) -> str:
    """1:05, or 2:03:04 past an hour; '?' while there is nothing to estimate from."""
    if seconds != seconds or seconds == float("inf"):  # NaN or infinite
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Counts work done out of `total` and redraws one line on `stream` (stderr by default).

    A disabled bar counts but draws nothing, so callers need no `if` around each update.
    Use it as a context manager, or call close(), to end the line.
    """

    def __init__(self, total: int, label: str = "", *, stream: Optional[TextIO] = None, enabled: bool = True,
                 clock=time.monotonic):
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = enabled
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._start = clock()
        self._drawn_at: Optional[float] = None
        self._closed = False
        self._width = 0

    def update(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        now = self._clock()
        # Always draw the last step, so the final line says total/total.
        if self._drawn_at is None or now - self._drawn_at >= _MIN_INTERVAL or self.done == self.total:
            self._draw(now)

    def line(self, now: Optional[float] = None) -> str:
        """The text of the bar as it stands, e.g. 'text  32/100  32% [#######.....]  41.2/s  ETA 0:02'."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * _BAR_WIDTH)
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        width = len(str(self.total))
        prefix = f"{self.label}  " if self.label else ""
        return (f"{prefix}{self.done:>{width}}/{self.total}  {fraction:4.0%} [{bar}]  "
                f"{rate:.1f}/s  ETA {format_duration(eta)}")

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        if self.enabled:
            # \r returns to the start of the line; padding to the previous line's length blanks
            # what a longer previous line left behind (no terminal escapes, so logs stay clean).
            text = self.line(now)
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self._stream.flush()

    def close(self) -> None:
        """Ends the bar's line (once), so whatever is printed next starts on its own line."""
        if self._closed:
            return
        self._closed = True
        if self.enabled and self._drawn_at is not None:
            self._stream.write("\n")
            self._stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
