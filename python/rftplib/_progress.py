"""A progress bar on stderr for ``download(progress=True)`` / ``upload(progress=True)``:
bytes, rate and ETA, redrawn at most ~10 times a second, silent when stderr
is not a terminal."""

from __future__ import annotations

import sys
import time

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human(n):
    """``1536`` -> ``'1.5 KiB'``."""
    n = float(n)
    for unit in _UNITS:
        if abs(n) < 1024 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _clock(seconds):
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Bar:
    """Call with ``(done, total_or_None)``; ``close()`` ends the line."""

    def __init__(self, label, stream=None, width=30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.monotonic()
        self.first = (
            None  # (time, bytes) of the first report: resumed bytes are not rate
        )
        self.drawn = False
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def line(self, done, total, now=None):
        """The text of the bar (without the carriage return)."""
        now = time.monotonic() if now is None else now
        if self.first is None:
            self.first = (now, done)
        t0, b0 = self.first
        elapsed = max(now - t0, 1e-9)
        rate = (done - b0) / elapsed if now > t0 else 0.0
        if total:
            frac = min(done / total, 1.0)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            eta = _clock((total - done) / rate) if rate > 0 else "--:--"
            return (
                f"{self.label} [{bar}] {frac * 100:5.1f}% "
                f"{human(done)}/{human(total)} {human(rate)}/s ETA {eta}"
            )
        return f"{self.label} {human(done)} {human(rate)}/s"

    def __call__(self, done, total):
        if not self.enabled:
            return
        self.stream.write("\r" + self.line(done, total) + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self):
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
