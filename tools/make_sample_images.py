#!/usr/bin/env python3
"""Draw the sample site's illustrations as small PNG files, with the stdlib only.

    python tools/make_sample_images.py   # writes content/images/*.png

Flat, simple scenes (sky, buildings, figures) so the demo has real images
of known size for pages and feed enclosures. Deterministic output.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

W, H = 640, 360
Color = tuple[int, int, int]


class Canvas:
    def __init__(self, sky_top: Color, sky_bottom: Color) -> None:
        self.px = [[(0, 0, 0)] * W for _ in range(H)]
        for y in range(H):
            t = y / H
            c = tuple(int(a + (b - a) * t) for a, b in zip(sky_top, sky_bottom, strict=True))
            self.px[y] = [c] * W  # type: ignore[list-item]
            self.px[y] = list(self.px[y])

    def rect(self, x0: int, y0: int, x1: int, y1: int, c: Color) -> None:
        for y in range(max(0, y0), min(H, y1)):
            row = self.px[y]
            for x in range(max(0, x0), min(W, x1)):
                row[x] = c

    def circle(self, cx: int, cy: int, r: int, c: Color) -> None:
        for y in range(max(0, cy - r), min(H, cy + r + 1)):
            for x in range(max(0, cx - r), min(W, cx + r + 1)):
                if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                    self.px[y][x] = c

    def person(self, x: int, base: int, uniform: Color, scale: float = 1.0, cap: Color | None = None) -> None:
        s = scale
        self.rect(int(x - 14 * s), int(base - 70 * s), int(x + 14 * s), int(base - 20 * s), uniform)
        self.rect(int(x - 12 * s), int(base - 20 * s), int(x - 3 * s), base, (40, 40, 50))
        self.rect(int(x + 3 * s), int(base - 20 * s), int(x + 12 * s), base, (40, 40, 50))
        self.circle(x, int(base - 82 * s), int(11 * s), (236, 200, 170))
        if cap:
            self.rect(int(x - 12 * s), int(base - 96 * s), int(x + 12 * s), int(base - 88 * s), cap)

    def building(self, x0: int, x1: int, top: int, c: Color, ground: int, win: Color = (255, 236, 160)) -> None:
        self.rect(x0, top, x1, ground, c)
        for y in range(top + 12, ground - 20, 26):
            for x in range(x0 + 10, x1 - 14, 24):
                self.rect(x, y, x + 12, y + 14, win)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in self.px)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        ihdr = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


POLICE = (28, 52, 110)
TRAFFIC = (230, 230, 235)
CAP = (20, 30, 70)


def community() -> Canvas:
    c = Canvas((150, 200, 240), (230, 240, 250))
    c.rect(0, 280, W, H, (120, 170, 90))
    c.building(40, 200, 120, (200, 120, 90), 280)
    c.building(420, 600, 90, (180, 170, 150), 280)
    c.rect(250, 250, 390, 280, (170, 160, 150))
    c.person(280, 300, POLICE, 1.2, CAP)
    c.person(340, 300, (180, 60, 60), 1.1)
    c.person(380, 300, (90, 120, 80), 0.9)
    c.circle(560, 50, 26, (255, 220, 120))
    return c


def traffic() -> Canvas:
    c = Canvas((110, 120, 140), (170, 175, 185))
    c.rect(0, 240, W, H, (70, 70, 75))
    for x in range(0, W, 80):
        c.rect(x + 10, 296, x + 50, 302, (240, 240, 240))
    c.rect(60, 200, 200, 250, (200, 40, 40))
    c.circle(90, 252, 14, (20, 20, 20))
    c.circle(170, 252, 14, (20, 20, 20))
    c.rect(300, 270, 380, 284, (245, 245, 245))
    c.person(340, 272, TRAFFIC, 1.3, CAP)
    c.rect(470, 120, 480, 250, (60, 60, 60))
    c.rect(455, 90, 495, 140, (30, 30, 30))
    c.circle(475, 104, 9, (40, 200, 80))
    for x in range(0, W, 23):
        c.rect(x, (x * 7) % 200, x + 2, (x * 7) % 200 + 18, (200, 210, 230))
    return c


def night() -> Canvas:
    c = Canvas((10, 20, 50), (40, 50, 90))
    c.rect(0, 290, W, H, (50, 50, 60))
    c.building(20, 150, 140, (40, 40, 60), 290)
    c.building(470, 620, 100, (50, 45, 70), 290)
    c.circle(540, 50, 22, (240, 240, 210))
    c.person(260, 310, POLICE, 1.2, CAP)
    c.person(330, 310, POLICE, 1.2, CAP)
    c.rect(380, 200, 420, 236, (30, 90, 200))
    c.rect(385, 190, 415, 200, (220, 40, 40))
    return c


def cyber() -> Canvas:
    c = Canvas((235, 240, 245), (215, 222, 232))
    c.rect(0, 270, W, H, (150, 120, 90))
    for i, x in enumerate((80, 260, 440)):
        c.rect(x, 130, x + 130, 220, (30, 40, 60))
        c.rect(x + 8, 138, x + 122, 212, (20, 120, 160) if i != 1 else (30, 160, 110))
        for y in range(148, 205, 12):
            c.rect(x + 16, y, x + 16 + (y * 13 + x) % 90, y + 4, (200, 240, 255))
        c.rect(x + 55, 220, x + 75, 250, (60, 60, 60))
    c.person(330, 330, POLICE, 0.9, CAP)
    return c


def rescue() -> Canvas:
    c = Canvas((120, 130, 150), (160, 170, 180))
    c.rect(0, 230, W, H, (80, 110, 140))
    for x in range(0, W, 40):
        c.rect(x, 240 + (x // 40 % 3) * 20, x + 26, 244 + (x // 40 % 3) * 20, (200, 215, 230))
    c.rect(200, 250, 430, 280, (230, 120, 30))
    c.person(260, 255, POLICE, 1.0, CAP)
    c.person(330, 255, (240, 140, 30), 1.0)
    c.person(390, 255, (200, 60, 60), 0.8)
    c.building(500, 630, 150, (150, 140, 130), 240)
    return c


def station() -> Canvas:
    c = Canvas((140, 190, 235), (220, 235, 250))
    c.rect(0, 290, W, H, (190, 190, 185))
    c.rect(150, 110, 490, 290, (235, 235, 240))
    c.rect(150, 90, 490, 120, POLICE)
    c.rect(290, 210, 350, 290, (60, 80, 120))
    for x in (180, 230, 390, 440):
        c.rect(x, 150, x + 30, 190, (120, 170, 220))
    c.circle(320, 150, 20, (242, 193, 78))
    c.person(100, 310, POLICE, 1.0, CAP)
    c.person(540, 310, POLICE, 1.0, CAP)
    return c


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "content" / "images"
    out.mkdir(parents=True, exist_ok=True)
    for name, scene in (("community.png", community), ("traffic.png", traffic), ("night-patrol.png", night),
                        ("cyber.png", cyber), ("rescue.png", rescue), ("station.png", station)):
        (out / name).write_bytes(scene().png())
        print(out / name)


if __name__ == "__main__":
    main()
