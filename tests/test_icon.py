"""The tray icon: every state at every size, told apart by colour and by shape."""

from __future__ import annotations

import colorsys
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from traycreds.core.state import Status
from traycreds.tray.icon import ICON_SIZES, draw_icon, write_assets

REPO_ROOT = Path(__file__).resolve().parent.parent


def rgba_pixels(image: Image.Image) -> list[tuple[int, int, int, int]]:
    data = image.convert("RGBA").tobytes()
    return [(data[i], data[i + 1], data[i + 2], data[i + 3]) for i in range(0, len(data), 4)]


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int, int]:
    return rgba_pixels(image)[y * image.width + x]


def count_over(difference: Image.Image, threshold: int) -> int:
    """How many pixels of a single-band difference image exceed ``threshold``."""
    return difference.point(lambda p: 255 if p > threshold else 0).histogram()[255]


def on_white(image: Image.Image) -> Image.Image:
    canvas = Image.new("RGBA", image.size, "white")
    canvas.alpha_composite(image)
    return canvas


def main_colour(image: Image.Image) -> tuple[float, float, float]:
    """Hue (degrees), saturation and value of the mean opaque, non-white pixel."""
    chosen = [(r, g, b) for r, g, b, a in rgba_pixels(image) if a >= 200 and min(r, g, b) < 200]
    assert chosen, "no opaque coloured pixels"
    r, g, b = (sum(channel) / len(chosen) / 255 for channel in zip(*chosen, strict=True))
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    return hue * 360, saturation, value


@pytest.mark.parametrize("size", ICON_SIZES)
@pytest.mark.parametrize("status", list(Status))
def test_every_state_draws_an_rgba_image_of_its_size(status: Status, size: int) -> None:
    image = draw_icon(status, size)
    assert image.mode == "RGBA"
    assert image.size == (size, size)
    for x, y in ((0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)):
        assert pixel(image, x, y)[3] < 32, "corners are see-through (a rounded badge)"
    opaque = count_over(image.getchannel("A"), 200)
    assert opaque > size * size // 4, "the symbol fills a good part of the icon"


@pytest.mark.parametrize("size", [16, 24, 32, 64])
def test_states_differ_even_in_greyscale(size: int) -> None:
    # Colour alone would fail colour-blind people: every pair must differ in shape or tone.
    for first, second in combinations(Status, 2):
        grey_first = on_white(draw_icon(first, size)).convert("L")
        grey_second = on_white(draw_icon(second, size)).convert("L")
        differing = count_over(ImageChops.difference(grey_first, grey_second), 48)
        assert differing >= size, f"{first.value} and {second.value} look alike at {size} px"


def test_expired_and_error_share_red_but_not_their_mark() -> None:
    expired, error = draw_icon(Status.EXPIRED, 32), draw_icon(Status.ERROR, 32)
    assert main_colour(expired)[0] == pytest.approx(main_colour(error)[0], abs=5)
    assert ImageChops.difference(expired, error).getbbox(alpha_only=False) is not None


@pytest.mark.parametrize(
    ("status", "hues", "min_saturation"),
    [
        (Status.WORKING, (195, 230), 0.5),  # blue
        (Status.FRESH, (100, 150), 0.5),  # green
        (Status.EXPIRING, (25, 50), 0.7),  # amber
        (Status.EXPIRED, (345, 370), 0.6),  # red (wraps past 360)
        (Status.ERROR, (345, 370), 0.6),
    ],
)
def test_16_px_keeps_its_colour_family(status: Status, hues: tuple[int, int],
                                       min_saturation: float) -> None:
    hue, saturation, _ = main_colour(draw_icon(status, 16))
    if hue < 20:
        hue += 360
    assert hues[0] <= hue <= hues[1], f"{status.value}: hue {hue:.0f}"
    assert saturation >= min_saturation, f"{status.value}: saturation {saturation:.2f}"


def test_16_px_idle_is_grey_and_hollow() -> None:
    image = draw_icon(Status.IDLE, 16)
    _, saturation, _ = main_colour(image)
    assert saturation < 0.1
    # Hollow: the middle of the badge (above the key) is see-through; a filled badge is not.
    assert pixel(image, 8, 4)[3] == 0
    assert pixel(draw_icon(Status.FRESH, 16), 8, 4)[3] == 255


def test_accent_adds_the_role_colour() -> None:
    plain = draw_icon(Status.FRESH, 64)
    accented = draw_icon(Status.FRESH, 64, "#8E24AA")
    assert ImageChops.difference(plain, accented).getbbox(alpha_only=False) is not None
    purple = [p for p in rgba_pixels(accented) if p == (0x8E, 0x24, 0xAA, 255)]
    assert len(purple) > 20
    tiny = draw_icon(Status.FRESH, 16, "#8e24aa")
    # Issue 15: the accent is a bar along the bottom edge (it was a dot at the top left).
    r, g, b, a = pixel(tiny, 8, 15)
    assert a > 200 and b > g and r > g, "the accent bar survives at 16 px"


def red_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the error-red pixels."""
    mask = Image.new("L", image.size, 0)
    mask.putdata([255 if a > 200 and r > 150 and g < 90 and b < 90 else 0
                  for r, g, b, a in rgba_pixels(image)])
    return mask.getbbox()


@pytest.mark.parametrize("size", [16, 24, 32, 64])
def test_a_red_role_colour_does_not_look_like_the_error_badge(size: int) -> None:
    # The worst case: a role coloured exactly the error red, on a good (green) icon.
    marked = draw_icon(Status.FRESH, size, "#d32f2f")
    box = red_box(marked)
    assert box is not None, "the colour mark is drawn"
    left, top, right, bottom = box
    # Position: all of it in the bottom fifth, none in the error badge's top-right corner.
    assert top >= size * 0.8 and bottom == size
    assert red_box(marked.crop((size // 2, 0, size, size // 2))) is None
    # Shape: a wide bar, where the error badge is a disc (as wide as it is high).
    assert (right - left) >= 4 * (bottom - top)
    error = draw_icon(Status.ERROR, 64)
    mark = error.crop((32, 0, 64, 32))
    assert red_box(mark) is not None  # the error's badge is where the mark never is
    # On the error icon itself the bar stays apart: a see-through gap above it.
    both = draw_icon(Status.ERROR, size, "#d32f2f")
    gap = round(size * 53.5 / 64) if size > 24 else round(size * 53.0 / 64)
    assert all(pixel(both, x, gap)[3] < 64 for x in range(size // 4, size * 3 // 4))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        draw_icon(Status.FRESH, 32, "not-a-colour")
    with pytest.raises(ValueError, match="size"):
        draw_icon(Status.FRESH, 8)
    with pytest.raises(ValueError, match="size"):
        draw_icon(Status.FRESH, 512)


def test_images_are_cached() -> None:
    assert draw_icon(Status.WORKING, 24) is draw_icon(Status.WORKING, 24)
    assert draw_icon(Status.WORKING, 24, "#AABBCC") is draw_icon(Status.WORKING, 24, "#aabbcc")
    assert draw_icon(Status.WORKING, 24) is not draw_icon(Status.WORKING, 32)
    assert draw_icon("fresh", 32) is draw_icon(Status.FRESH, 32)  # type: ignore[arg-type]


def test_write_assets(tmp_path: Path) -> None:
    write_assets(tmp_path)
    with Image.open(tmp_path / "traycreds.ico") as ico:
        assert ico.info["sizes"] == {(size, size) for size in ICON_SIZES}
        for size in ICON_SIZES:
            frame = ico.ico.getimage((size, size)).convert("RGBA")
            assert frame.size == (size, size)
            # Each size is drawn for itself (small sizes have their own layout), not scaled.
            difference = ImageChops.difference(frame, draw_icon(Status.FRESH, size))
            assert difference.getbbox(alpha_only=False) is None
    with Image.open(tmp_path / "traycreds.png") as png:
        assert png.size == (256, 256) and png.mode == "RGBA"
    for status in Status:
        with Image.open(tmp_path / f"traycreds-{status.value}.png") as png:
            assert png.size == (64, 64) and png.mode == "RGBA"


def test_module_writes_assets_from_the_command_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "traycreds.tray.icon", str(tmp_path / "a")],
                         capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a" / "traycreds.ico").is_file()
    assert len(list((tmp_path / "a").glob("traycreds-*.png"))) == len(Status)


def test_checked_in_assets_match_the_drawing() -> None:
    for status in Status:
        path = REPO_ROOT / "assets" / f"traycreds-{status.value}.png"
        assert path.is_file(), f"{path} is missing: run python -m traycreds.tray.icon assets"
        with Image.open(path) as png:
            difference = ImageChops.difference(png.convert("RGBA"), draw_icon(status, 64))
        # histogram() is 256 counts per band: the highest non-empty bin is the worst difference.
        worst = max(level % 256 for level, count in enumerate(difference.histogram()) if count)
        assert worst <= 8, f"{path} is stale: run python -m traycreds.tray.icon assets"


def test_contact_sheet_for_people(artifacts: Path) -> None:
    """Every state at 16/24/32/64 px (plus 16 px magnified) on light and dark panels.

    Kept in artifacts/ so a person can judge the icons; the assertions above judge pixels.
    """
    sizes, cell = (16, 24, 32, 64), 80
    width = cell * (len(sizes) + 2)
    sheet = Image.new("RGBA", (width * 2, cell * len(Status) * 2), "white")
    for half, background in enumerate(("#f0f0f0", "#2b2b2b")):
        left = half * width
        sheet.paste(background, (left, 0, left + width, sheet.height))
        for row, (status, accent) in enumerate(
            (status, accent) for status in Status for accent in (None, "#8e24aa")
        ):
            top = row * cell
            label = f"{status.value}{' +accent' if accent else ''}"
            ImageDraw.Draw(sheet).text((left + 4, top + 34), label,
                                       fill="white" if half else "black")
            for column, size in enumerate(sizes, 1):
                offset = (cell - size) // 2
                sheet.alpha_composite(draw_icon(status, size, accent),
                                      (left + column * cell + offset, top + offset))
            magnified = draw_icon(status, 16, accent).resize((64, 64), Image.Resampling.NEAREST)
            sheet.alpha_composite(magnified, (left + (len(sizes) + 1) * cell + 8, top + 8))
    target = artifacts / "icon-contact-sheet.png"
    sheet.save(target)
    assert target.stat().st_size > 0
