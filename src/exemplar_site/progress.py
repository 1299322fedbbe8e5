"""Build progress for people: a bar on a terminal, plain lines elsewhere (CI, pipes)."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from .i18n import N_, _

STAGES = {"reading": N_("reading and checking"), "pages": N_("pages"), "feeds": N_("feeds"), "sms": N_("SMS"),
          "writing": N_("writing")}


class Progress:
    """Callable as (stage, done, total). Silent for builds shorter than `delay` seconds."""

    def __init__(self, stream: TextIO | None = None, delay: float = 0.5, width: int = 30):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
        self.delay, self.width = delay, width
        self.start = time.monotonic()
        self.stage = ""
        self.last_draw = 0.0
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.start
        if not self.tty:
            if stage != self.stage:
                self.stage = stage
                if elapsed >= self.delay:
                    name = _(STAGES[stage]) if stage in STAGES else stage
                    print(f"[{elapsed:6.1f}s] {name}", file=self.stream, flush=True)
            return
        self.stage = stage
        now = time.monotonic()
        if elapsed < self.delay or (now - self.last_draw < 0.1 and done < total):
            return
        self.last_draw = now
        frac = done / total if total else 0.0
        filled = int(frac * self.width)
        bar = "█" * filled + "░" * (self.width - filled)
        label = _(STAGES[stage]) if stage in STAGES else stage
        count = f" {done}/{total}" if total > 1 else ""
        self.stream.write(f"\r{bar} {frac:4.0%} {label}{count}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
