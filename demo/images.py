"""Pictures for the demo catalogue, drawn with Pillow so nothing is downloaded."""

import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"

GLASS = {
    "red": (46, 14, 18),
    "white": (176, 170, 96),
    "rose": (226, 150, 150),
    "sparkling": (44, 62, 36),
    "sweet": (196, 140, 52),
    "fortified": (58, 26, 14),
}
LABELS = [
    (244, 236, 222),
    (236, 226, 204),
    (250, 248, 242),
    (30, 30, 34),
    (222, 232, 226),
    (246, 226, 214),
]
HOUSE_INKS = [(60, 22, 28), (24, 40, 70), (30, 60, 40)]
HOUSE_CAPSULES = [(120, 24, 36), (30, 30, 34), (24, 52, 96), (176, 140, 60)]


def _font(size):
    try:
        return ImageFont.truetype(SERIF_BOLD, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _centred(draw, box_centre_x, y, text, font, fill):
    width = draw.textlength(text, font=font)
    draw.text((box_centre_x - width / 2, y), text, font=font, fill=fill)


def _fit(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Bottle shapes by style: Bordeaux's high shoulders, Burgundy's and the Rhône's
# slope, the tall Mosel flute, Champagne's heavy bottle with its foil.
SHAPES = {
    "red_bold": {"shoulder": 70, "width": 110, "top": 290},
    "red_light": {"shoulder": 150, "width": 118, "top": 250},
    "white_crisp": {"shoulder": 70, "width": 104, "top": 290},
    "white_rich": {"shoulder": 150, "width": 118, "top": 250},
    "off_dry": {"shoulder": 200, "width": 88, "top": 200},
    "rose": {"shoulder": 120, "width": 106, "top": 270},
    "sparkling": {"shoulder": 160, "width": 120, "top": 250, "foil": True},
    "sweet": {"shoulder": 70, "width": 100, "top": 300},
    "fortified": {"shoulder": 60, "width": 112, "top": 300},
}


def bottle(seed, colour, producer, name, vintage, style="red_bold"):
    """A bottle shot, 720×900: backdrop, a bottle of the style's shape, and a
    label in the producer's own colours with the wine's name."""
    rng = random.Random(seed)
    house = random.Random(producer)
    width, height = 720, 900
    top = (rng.randint(226, 242), rng.randint(214, 230), rng.randint(196, 214))
    image = Image.new("RGB", (width, height), top)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(36 * y / height)
        draw.line([(0, y), (width, y)], fill=tuple(c - shade for c in top))
    draw.rectangle([0, 760, width, height], fill=tuple(c - 60 for c in top))

    shadow = Image.new("L", (width, height), 0)
    ImageDraw.Draw(shadow).ellipse([230, 735, 500, 785], fill=120)
    image.paste((40, 30, 25), mask=shadow.filter(ImageFilter.GaussianBlur(14)))

    glass = GLASS[colour]
    shape = SHAPES.get(style, SHAPES["red_bold"])
    half, top = shape["width"], shape["top"]
    cx = width // 2
    draw.rounded_rectangle([cx - 28, 90, cx + 28, top + 40], radius=14, fill=glass)
    draw.rounded_rectangle(
        [cx - half, top, cx + half, 770], radius=shape["shoulder"] // 2 + 20, fill=glass
    )
    capsule = HOUSE_CAPSULES[house.randrange(len(HOUSE_CAPSULES))]
    if shape.get("foil"):
        draw.rounded_rectangle(
            [cx - 34, 70, cx + 34, 200], radius=10, fill=(196, 160, 74)
        )
    else:
        draw.rectangle([cx - 30, 80, cx + 30, 150], fill=capsule)
    draw.rectangle(
        [cx - half + 24, top + 30, cx - half + 40, 730],
        fill=tuple(min(c + 60, 255) for c in glass),
    )

    label = LABELS[house.randrange(len(LABELS))]
    ink = (236, 220, 170) if sum(label) < 200 else HOUSE_INKS[house.randrange(3)]
    draw.rounded_rectangle([cx - 100, 450, cx + 100, 690], radius=6, fill=label)
    draw.rectangle([cx - 92, 458, cx + 92, 682], outline=ink, width=2)
    _centred(draw, cx, 475, _fit(producer.upper(), 16), _font(17), ink)
    draw.line([(cx - 50, 505), (cx + 50, 505)], fill=ink, width=2)
    _centred(draw, cx, 525, _fit(name, 13), _font(24), ink)
    _centred(draw, cx, 625, str(vintage or "NV"), _font(30), ink)
    return _png(image)


def landscape(seed, palette):
    """A wide landscape of rolling vineyard hills, 1600×600, for places."""
    rng = random.Random(seed)
    width, height = 1600, 600
    sky_top, sky_bottom, hills = palette
    image = Image.new("RGB", (width, height), sky_top)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(
                int(a + (b - a) * t) for a, b in zip(sky_top, sky_bottom, strict=True)
            ),
        )
    sun = rng.randrange(140, 1400)
    draw.ellipse([sun, 70, sun + 120, 190], fill=(250, 226, 170))
    # Each place its own hills: their height, tint and number
    tint = [rng.randint(-24, 24) for _ in range(3)]
    hills = tuple(max(0, min(255, c + t)) for c, t in zip(hills, tint, strict=True))
    layers = rng.randint(3, 5)
    for layer in range(layers):
        base = rng.randint(240, 320) + layer * (280 // layers)
        colour = tuple(max(0, c - layer * 22) for c in hills)
        points = [(0, height)]
        phase = rng.random() * 6
        for x in range(0, width + 40, 40):
            offset = 40 * math.sin(x / (220 + layer * 40) + phase)
            points.append((x, base + offset))
        points.append((width, height))
        draw.polygon(points, fill=colour)
        for row in range(6):
            y = base + 60 + row * 18
            draw.line(
                [(0, y), (width, y - 30)], fill=tuple(max(0, c - 30) for c in colour)
            )
    return _png(image)


def logo(text):
    image = Image.new("RGB", (480, 160), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([10, 10, 150, 150], radius=20, fill=(123, 30, 43))
    draw.polygon([(50, 40), (110, 40), (100, 85), (60, 85)], fill=(244, 236, 226))
    draw.rectangle([76, 85, 84, 120], fill=(244, 236, 226))
    draw.rectangle([58, 118, 102, 126], fill=(244, 236, 226))
    draw.text((175, 45), text, font=_font(64), fill=(43, 29, 29))
    return _png(image)
