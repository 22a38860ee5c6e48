"""A tiny PNG line chart of replication lag over time (zlib + struct, no plotting library).

Points are (when the write was acknowledged, in seconds since the drill started; its lag in ms);
vertical markers show the fault (red), the failover (orange) and the heal (green).
Axis ticks are labelled with a 3x5 pixel font.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

Color = tuple[int, int, int]
WHITE, GREY, BLACK, BLUE = (255, 255, 255), (225, 225, 225), (40, 40, 40), (31, 119, 180)
MARKERS: dict[str, Color] = {"fault_s": (214, 39, 40), "failover_s": (255, 127, 14), "heal_s": (44, 160, 44)}

# 3x5 glyphs, rows top to bottom, 3 bits each.
FONT = {
    "0": (7, 5, 5, 5, 7),
    "1": (2, 6, 2, 2, 7),
    "2": (7, 1, 7, 4, 7),
    "3": (7, 1, 7, 1, 7),
    "4": (5, 5, 7, 1, 1),
    "5": (7, 4, 7, 1, 7),
    "6": (7, 4, 7, 5, 7),
    "7": (7, 1, 2, 2, 2),
    "8": (7, 5, 7, 5, 7),
    "9": (7, 5, 7, 1, 7),
    "s": (0, 3, 6, 3, 6),
    "m": (0, 0, 7, 7, 5),
    ".": (0, 0, 0, 0, 2),
    " ": (0, 0, 0, 0, 0),
}


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(WHITE) * width) for _ in range(height)]

    def dot(self, x: int, y: int, color: Color, size: int = 1) -> None:
        for dy in range(size):
            for dx in range(size):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    self.rows[py][3 * px : 3 * px + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, size: int = 1) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.dot(x0, y0, color, size)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err, x0 = err + dy, x0 + sx
            if e2 <= dx:
                err, y0 = err + dx, y0 + sy

    def text(self, x: int, y: int, text: str, color: Color = BLACK, scale: int = 2) -> None:
        for i, char in enumerate(text):
            for row, bits in enumerate(FONT.get(char, FONT[" "])):
                for col in range(3):
                    if bits & (4 >> col):
                        self.dot(x + (4 * i + col) * scale, y + row * scale, color, scale)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b"")
        )


def _step(span: float) -> float:
    """A round tick step giving about five ticks over span."""
    raw = span / 5 or 1
    scale = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= raw)


def lag_chart(
    points: list[tuple[float, float]],
    markers: dict[str, float],
    path: str | Path,
    width: int = 800,
    height: int = 400,
) -> None:
    canvas = Canvas(width, height)
    left, right, top, bottom = 80, width - 20, 20, height - 40
    xmax = max([t for t, _ in points] + list(markers.values()) + [1.0])
    ymax = max([lag for _, lag in points] + [1.0]) * 1.05

    def px(t: float) -> int:
        return left + round((right - left) * t / xmax)

    def py(lag: float) -> int:
        return bottom - round((bottom - top) * lag / ymax)

    step = _step(ymax)
    tick = 0.0
    while tick <= ymax:
        canvas.line(left, py(tick), right, py(tick), GREY)
        canvas.text(8, py(tick) - 5, f"{tick:g}ms"[:8])
        tick += step
    step = _step(xmax)
    tick = 0.0
    while tick <= xmax:
        canvas.line(px(tick), bottom, px(tick), bottom + 5, BLACK)
        canvas.text(px(tick) - 8, bottom + 12, f"{tick:g}s")
        tick += step
    for name, at in markers.items():
        if name in MARKERS:
            canvas.line(px(at), top, px(at), bottom, MARKERS[name], 2)
    canvas.line(left, top, left, bottom, BLACK)
    canvas.line(left, bottom, right, bottom, BLACK)
    previous = None
    for t, lag in sorted(points):
        point = (px(t), py(lag))
        if previous is not None and point[0] - previous[0] < 40:  # a gap in writes breaks the line
            canvas.line(*previous, *point, BLUE, 2)
        canvas.dot(point[0] - 1, point[1] - 1, BLUE, 3)
        previous = point
    Path(path).write_bytes(canvas.png())
