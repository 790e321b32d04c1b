"""Writes the small image fixtures the decoder tests read, made with a second encoder (Pillow) on purpose.

Run once with Debian's python3-pil: /usr/bin/python3 make_fixtures.py. The outputs are committed; tests do not need Pillow.
"""
from PIL import Image

RED, BLUE = (255, 0, 0), (0, 0, 255)

def halves(mode_colour_left, mode_colour_right, mode="RGB", size=(32, 16)):
    img = Image.new(mode, size, mode_colour_right)
    img.paste(mode_colour_left, (0, 0, size[0] // 2, size[1]))
    return img

# EXIF orientation: stored 32x16, red on the left and blue on the right.
for orientation in (1, 3, 6, 8):
    exif = Image.Exif()
    exif[0x0112] = orientation
    halves(RED, BLUE).save(f"orientation-{orientation}.jpg", quality=95, exif=exif.tobytes())

Image.new("L", (16, 16), 128).save("grey.jpg", quality=95)
Image.new("L", (16, 16), 200).save("grey.png")
Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save("cmyk-red.jpg", quality=95)
Image.new("I;16", (16, 16), 0x8000).save("grey16.png")
halves(RED, BLUE, size=(16, 16)).convert("P").save("palette.png")
rgba = Image.new("RGBA", (16, 16), (0, 128, 255, 200))
rgba.paste((255, 255, 0, 255), (0, 0, 8, 16))
rgba.save("alpha.png")
Image.new("LA", (16, 16), (60, 128)).save("grey-alpha.png")
