"""The tray icon: a key on a rounded badge, coloured and marked by the state it shows.

Every state differs in colour and, for people who cannot tell the colours apart, in shape:

    idle      grey outline, hollow        nothing held
    working   blue, spinner mark          a call is in flight
    fresh     green, no mark              credentials are good
    expiring  amber, clock mark           inside the warning window
    expired   red, "x" mark               credentials ran out
    error     red, "!" mark               the last attempt failed

The optional accent (the colour mark of the role the icon shows) is a bar along the bottom
edge, apart from the badge by a clear gap: a bar at the bottom, never a disc in a corner,
so a red role colour cannot pass for the error badge (a red disc at the top right).
Shapes are drawn at 4x on a 64-unit grid and downsampled, so every size is anti-aliased.

``python -m traycreds.tray.icon ASSETS_DIR`` writes the icon files the packaging uses.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw

from traycreds.core.state import Status

ICON_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
MIN_SIZE, MAX_SIZE = 16, 256
_OVERSAMPLE = 4
_GRID = 64.0  # every coordinate below is in units of a 64 x 64 icon

RGBA = tuple[int, int, int, int]
_CLEAR: RGBA = (0, 0, 0, 0)
_WHITE: RGBA = (255, 255, 255, 255)

# (badge fill, mark fill): the mark is a shade darker so it reads on top of the badge.
_COLOURS: dict[Status, tuple[str, str]] = {
    Status.IDLE: ("#8a8a8a", "#5f5f5f"),
    Status.WORKING: ("#1e88e5", "#0d47a1"),
    Status.FRESH: ("#2e9d3a", "#1b5e20"),
    Status.EXPIRING: ("#f29b00", "#b35c00"),
    Status.EXPIRED: ("#d32f2f", "#8e1010"),
    Status.ERROR: ("#d32f2f", "#8e1010"),
}


@dataclass(frozen=True)
class _Layout:
    """Where things go, in 64-unit coordinates. Small icons get bigger, simpler marks."""

    badge_radius: float
    outline: float  # idle's outline width
    bow: tuple[float, float]  # the key's bow (ring) centre
    bow_radius: float
    hole_radius: float
    blade: tuple[float, float, float, float]
    bits: tuple[tuple[float, float, float, float], ...]
    mark: tuple[float, float]  # the status mark's centre (top-right corner)
    mark_radius: float
    mark_gap: float
    stroke: float  # width of the lines inside the mark
    accent: tuple[float, float, float, float]  # the colour bar along the bottom edge
    accent_gap: float  # cleared above the bar, so it reads as a mark of its own
    idle_key: float  # how much smaller the key is inside idle's frame


_LARGE = _Layout(
    badge_radius=14.0, outline=5.0,
    bow=(19.0, 38.0), bow_radius=12.5, hole_radius=5.0,
    blade=(27.0, 34.0, 56.0, 42.5),
    bits=((48.0, 40.0, 56.0, 52.0), (37.0, 40.0, 43.5, 49.0)),
    mark=(50.0, 14.0), mark_radius=13.0, mark_gap=3.5, stroke=4.0,
    accent=(6.0, 56.0, 58.0, 64.0), accent_gap=3.5, idle_key=0.8,
)
_SMALL = _Layout(  # 16..24 px: every unit is a quarter pixel or more, so fewer, bolder shapes
    badge_radius=12.0, outline=4.0,
    bow=(16.0, 41.0), bow_radius=13.0, hole_radius=5.0,
    blade=(24.0, 36.0, 60.0, 45.0),
    bits=((50.0, 40.0, 60.0, 56.0), (36.0, 40.0, 44.0, 52.0)),
    mark=(46.0, 17.0), mark_radius=17.0, mark_gap=3.0, stroke=7.0,
    accent=(5.0, 56.0, 59.0, 64.0), accent_gap=4.0, idle_key=0.9,
)
_BADGE = (1.0, 1.0, 63.0, 63.0)


def _layout(size: int) -> _Layout:
    return _SMALL if size <= 24 else _LARGE


def _rgba(colour: str) -> RGBA:
    red, green, blue = ImageColor.getrgb(colour)[:3]
    return (red, green, blue, 255)


class _Pen:
    """Draws on the oversampled canvas in 64-unit coordinates."""

    def __init__(self, size: int) -> None:
        self.image = Image.new("RGBA", (size * _OVERSAMPLE, size * _OVERSAMPLE), _CLEAR)
        self.draw = ImageDraw.Draw(self.image)
        self.scale = size * _OVERSAMPLE / _GRID
        # Small icons: straight edges land on whole pixels, so they stay crisp.
        self.snap = _OVERSAMPLE if size <= 32 else 1

    def _edge(self, value: float) -> float:
        return round(value * self.scale / self.snap) * self.snap

    def _box(self, left: float, top: float, right: float, bottom: float) -> list[float]:
        return [self._edge(left), self._edge(top), self._edge(right) - 1, self._edge(bottom) - 1]

    def disc(self, centre: tuple[float, float], radius: float, fill: RGBA) -> None:
        x, y = (c * self.scale for c in centre)
        r = radius * self.scale
        self.draw.ellipse([x - r, y - r, x + r - 1, y + r - 1], fill=fill)

    def rounded(self, box: Sequence[float], radius: float, fill: RGBA) -> None:
        self.draw.rounded_rectangle(self._box(*box), radius=radius * self.scale, fill=fill)

    def frame(self, box: Sequence[float], radius: float, width: float, colour: RGBA) -> None:
        self.draw.rounded_rectangle(self._box(*box), radius=radius * self.scale, outline=colour,
                                    width=max(1, round(width * self.scale)))

    def rect(self, box: Sequence[float], fill: RGBA) -> None:
        self.draw.rectangle(self._box(*box), fill=fill)

    def line(self, points: Sequence[tuple[float, float]], width: float, fill: RGBA) -> None:
        scaled = [(x * self.scale, y * self.scale) for x, y in points]
        self.draw.line(scaled, fill=fill, width=max(1, round(width * self.scale)), joint="curve")
        r = width * self.scale / 2
        for x, y in (scaled[0], scaled[-1]):  # round caps
            self.draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)

    def arc(self, centre: tuple[float, float], radius: float, width: float,
            start: float, end: float, fill: RGBA) -> None:
        x, y = (c * self.scale for c in centre)
        r = radius * self.scale
        self.draw.arc([x - r, y - r, x + r, y + r], start, end, fill=fill,
                      width=max(1, round(width * self.scale)))


def _badge(pen: _Pen, status: Status, fill: RGBA, layout: _Layout) -> RGBA:
    """The rounded square, filled; returns the colour the key's hole shows."""
    if status is Status.IDLE:
        return _CLEAR  # hollow: _frame draws it after the key
    pen.rounded(_BADGE, layout.badge_radius, fill)
    return fill


def _frame(pen: _Pen, colour: RGBA, layout: _Layout) -> None:
    """Idle's outline ("nothing held"), with a clear gap so the key stays inside it."""
    w = layout.outline
    inner = (_BADGE[0] + w, _BADGE[1] + w, _BADGE[2] - w, _BADGE[3] - w)
    pen.frame(inner, layout.badge_radius - w, w, _CLEAR)
    pen.frame(_BADGE, layout.badge_radius, w, colour)


def _key(pen: _Pen, colour: RGBA, hole: RGBA, layout: _Layout, shrink: float = 1.0) -> None:
    """A key lying flat: bow on the left, blade to the right, two bits hanging down.

    ``shrink`` scales it about its middle, so it fits inside idle's frame.
    """
    cx, cy = 32.0, layout.bow[1]

    def at(x: float, y: float) -> tuple[float, float]:
        return cx + (x - cx) * shrink, cy + (y - cy) * shrink

    def box(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return (*at(b[0], b[1]), *at(b[2], b[3]))

    bow = at(*layout.bow)
    pen.disc(bow, layout.bow_radius * shrink, colour)
    pen.disc(bow, layout.hole_radius * shrink, hole)
    pen.rect(box(layout.blade), colour)
    for bit in layout.bits:
        pen.rect(box(bit), colour)


def _mark(pen: _Pen, status: Status, fill: RGBA, layout: _Layout) -> None:
    """The corner mark that makes a state recognisable without its colour."""
    if status in (Status.IDLE, Status.FRESH):
        return
    centre, radius, w = layout.mark, layout.mark_radius, layout.stroke
    pen.disc(centre, radius + layout.mark_gap, _CLEAR)
    pen.disc(centre, radius, fill)
    x, y = centre
    k = radius / 13.0  # glyphs are designed for a radius of 13
    if status is Status.ERROR:
        pen.line([(x, y - 7.0 * k), (x, y - 1.5 * k)], w * 0.95, _WHITE)
        pen.disc((x, y + 7.0 * k), w * 0.52, _WHITE)
    elif status is Status.EXPIRED:
        d = 5.0 * k
        pen.line([(x - d, y - d), (x + d, y + d)], w, _WHITE)
        pen.line([(x - d, y + d), (x + d, y - d)], w, _WHITE)
    elif status is Status.EXPIRING:  # a clock face: white dial, dark hands
        pen.disc(centre, radius - 2.5 * k, _WHITE)
        pen.line([(x, y - 6.0 * k), (x, y), (x + 4.5 * k, y + 2.5 * k)], w * 0.7, fill)
    elif status is Status.WORKING:  # a spinner: three quarters of a ring
        pen.arc(centre, radius - 4.5 * k, w * 0.8, 0.0, 270.0, _WHITE)


def _accent(pen: _Pen, colour: RGBA, layout: _Layout) -> None:
    top, bottom = layout.accent[1], layout.accent[3]
    pen.rect((0.0, top - layout.accent_gap, _GRID, _GRID), _CLEAR)
    pen.rounded(layout.accent, (bottom - top) / 2, colour)


@functools.lru_cache(maxsize=256)
def _draw(status: Status, size: int, accent: str | None) -> Image.Image:
    fill_name, mark_name = _COLOURS[status]
    fill, mark = _rgba(fill_name), _rgba(mark_name)
    pen, layout = _Pen(size), _layout(size)
    hole = _badge(pen, status, fill, layout)
    if status is Status.IDLE:
        _key(pen, fill, hole, layout, shrink=layout.idle_key)
        _frame(pen, fill, layout)
    else:
        _key(pen, _WHITE, hole, layout)
    _mark(pen, status, mark, layout)
    if accent is not None:
        _accent(pen, _rgba(accent), layout)
    return pen.image.resize((size, size), Image.Resampling.LANCZOS)


def draw_icon(status: Status, size: int = 64, accent: str | None = None) -> Image.Image:
    """The icon for ``status``, ``size`` pixels square, RGBA on a transparent background.

    ``accent`` is a colour Pillow understands (normally "#rrggbb", the active role's colour).
    Images are cached and shared: copy one before changing it.
    """
    status = Status(status)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"icon size {size} is outside {MIN_SIZE}..{MAX_SIZE}")
    if accent is not None:
        accent = accent.strip().lower()
        try:
            ImageColor.getrgb(accent)
        except ValueError:
            raise ValueError(f"{accent!r} is not a colour (use #rrggbb)") from None
    return _draw(status, size, accent)


def write_assets(folder: Path) -> list[Path]:
    """Write traycreds.ico (every ICON_SIZES), traycreds.png (256) and one 64 px PNG per state."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ico = folder / "traycreds.ico"
    # The .ico takes its frames from the largest image, so draw each size on its own.
    largest = draw_icon(Status.FRESH, max(ICON_SIZES))
    frames = [draw_icon(Status.FRESH, size) for size in ICON_SIZES if size != largest.width]
    largest.save(ico, format="ICO", sizes=[(s, s) for s in ICON_SIZES], append_images=frames)
    written.append(ico)
    png = folder / "traycreds.png"
    largest.save(png, format="PNG")
    written.append(png)
    for status in Status:
        path = folder / f"traycreds-{status.value}.png"
        draw_icon(status, 64).save(path, format="PNG")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m traycreds.tray.icon ASSETS_DIR", file=sys.stderr)
        return 2
    for path in write_assets(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
