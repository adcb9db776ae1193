"""``rftp``'s progress bars: bytes, rate and ETA, redrawn a few times a second.

One line per bar, drawn on a terminal only (the caller decides); a group of
bars (the files in flight and a total) is redrawn together in place.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

from ._progress import _clock
from ._progress import human as human_bytes

__all__ = ["Bar", "Board", "Note", "human_bytes"]

REDRAW = 0.2  # seconds between redraws


class Bar:
    """How far one transfer (or a whole mirror) has got."""

    def __init__(self, label, total=None, *, done=0, start_done=None, files=None):
        self.label = label
        self.total = total
        self.done = done
        self.start_done = done if start_done is None else start_done
        self.started = time.monotonic()
        self.files = files  # (done, total) file counts for a mirror's total bar

    def render(self, width):
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done - self.start_done) / elapsed
        tail = f" {human_bytes(self.done)}"
        if self.total is not None:
            tail += f"/{human_bytes(self.total)}"
        tail += f" {human_bytes(rate)}/s"
        if self.total is not None and rate > 0 and self.done < self.total:
            tail += f" ETA {_clock((self.total - self.done) / rate)}"
        elif self.total is not None and self.done >= self.total:
            tail += f" in {_clock(elapsed)}"
        if self.files is not None:
            tail += f" [{self.files[0]}/{self.files[1]} files]"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
        else:
            fraction = 1.0 if self.total == 0 else None
        label_width = max(width // 4, 8)
        label = self.label
        if len(label) > label_width:
            label = "…" + label[-(label_width - 1) :]
        head = f"{label:<{label_width}} "
        if fraction is None:
            return (head + tail.lstrip())[:width]
        pct = f"{int(fraction * 100):3d}% "
        room = width - len(head) - len(pct) - len(tail) - 2
        if room >= 10:
            filled = int(fraction * room)
            gauge = "[" + "#" * filled + "-" * (room - filled) + "]"
        else:
            gauge = ""
        return (head + pct + gauge + tail)[:width]


class Note:
    """A line of text among the bars (a mirror's file in flight)."""

    def __init__(self, text):
        self.text = text

    def render(self, width):
        return self.text[:width]


class Board:
    """The bars on screen, redrawn in place at most every REDRAW seconds."""

    def __init__(self, stream):
        self.stream = stream
        self.bars = []
        self.footer = None  # the total, drawn below the files in flight
        self.lines_drawn = 0
        self.last = 0.0
        self.lock = threading.Lock()

    def add(self, bar):
        with self.lock:
            self.bars.append(bar)
        self.draw(force=True)
        return bar

    def remove(self, bar, *, keep=True):
        """Take ``bar`` off the board; ``keep`` leaves its last state printed above."""
        with self.lock:
            if bar not in self.bars:
                return
            if keep:
                self._erase()
                self.stream.write(bar.render(self._width()) + "\n")
                self.bars.remove(bar)
                self._paint()
            else:
                self.bars.remove(bar)
                self._erase()
                self._paint()

    def draw(self, force=False):
        now = time.monotonic()
        if not force and now - self.last < REDRAW:
            return
        with self.lock:
            self.last = now
            self._erase()
            self._paint()

    def close(self):
        with self.lock:
            self._erase()
            for bar in self._shown():
                if not isinstance(bar, Note):  # the file in flight: gone now
                    self.stream.write(bar.render(self._width()) + "\n")
            self.bars, self.footer = [], None
            self.stream.flush()

    def _shown(self):
        return self.bars + ([self.footer] if self.footer is not None else [])

    def _width(self):
        # The bars' own terminal (stderr), which may differ from stdout's;
        # COLUMNS wins, as with shutil.get_terminal_size.
        try:
            columns = int(os.environ["COLUMNS"])
        except (KeyError, ValueError):
            try:
                columns = os.get_terminal_size(self.stream.fileno()).columns
            except (AttributeError, OSError, ValueError):
                columns = shutil.get_terminal_size((80, 24)).columns
        return max(columns - 1, 40)

    def _erase(self):
        if self.lines_drawn:
            # up to the first line drawn, then clear to the end of the screen
            up = f"\x1b[{self.lines_drawn - 1}A" if self.lines_drawn > 1 else ""
            self.stream.write("\r" + up + "\x1b[J")
        self.lines_drawn = 0

    def _paint(self):
        width = self._width()
        lines = [bar.render(width) for bar in self._shown()]
        if lines:
            self.stream.write("\n".join(lines))
        self.lines_drawn = len(lines)
        self.stream.flush()
