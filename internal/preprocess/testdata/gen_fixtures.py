#!/usr/bin/python3
"""Generate the PIL reference fixtures for internal/preprocess.

Run from anywhere with Debian's Pillow and numpy:

    apt-get install -y python3-pil python3-numpy
    /usr/bin/python3 internal/preprocess/testdata/gen_fixtures.py

It writes, next to this script:

  synth/          small synthetic inputs (odd sizes, strips, alpha, gray, 16-bit,
                  palette, CMYK JPEG, EXIF-rotated JPEGs, GIF, BMP, TIFF, WebP)
  resized/        PIL's full resized output for the small synthetic cases (PNG, RGB)
  pil.json        what PIL makes of every input:
                    decode[]: Image.open -> (exif_transpose) -> convert('RGB'),
                              as size + SHA-256 of the raw RGB bytes
                    resize[]: convert('RGB') -> resize((w, h), filter), as SHA-256
                              (and the PNG under resized/ for synthetic inputs)
                    keras[]:  the keras preset tensor (float32 CHW) as SHA-256
                  plus the Pillow and numpy versions used.
  caffe_golden.json  input_sum / input_sumsq of the BVLC GoogLeNet pipeline, copied
                  from shared/golden/bvlc_googlenet.json and re-derived here.

With --dump DIR it also writes every PIL result as raw RGB (name.rgb) for
debugging a mismatch (not committed).
"""

import argparse
import hashlib
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import PIL
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
SYNTH = os.path.join(HERE, "synth")
RESIZED = os.path.join(HERE, "resized")
PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"]

FILTERS = {
    "nearest": Image.NEAREST,
    "box": Image.BOX,
    "bilinear": Image.BILINEAR,
    "hamming": Image.HAMMING,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}


def sha(b):
    return hashlib.sha256(b).hexdigest()


def rng(seed):
    return np.random.RandomState(seed)


def textured(w, h, seed):
    """RGB uint8 image: gradients, a hard edge and noise, so every tap matters."""
    r = rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack(
        [
            255 * x / max(w - 1, 1),
            255 * y / max(h - 1, 1),
            127.5 + 127.5 * np.sin((x + 2 * y) / 3.0),
        ],
        axis=-1,
    )
    base[(x > w / 2) & (y < h / 2)] = [250, 10, 240]
    noisy = base + r.normal(0, 40, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def png16(path, arr, color_type):
    """Write a 16-bit PNG by hand (PIL cannot write RGB/RGBA 16-bit)."""
    h, w = arr.shape[:2]
    raw = b"".join(b"\x00" + arr[i].astype(">u2").tobytes() for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_synth():
    os.makedirs(SYNTH, exist_ok=True)
    p = lambda n: os.path.join(SYNTH, n)
    files = []

    def save(name, im, **kw):
        im.save(p(name), **kw)
        files.append(name)

    save("noise_37x23.png", Image.fromarray(textured(37, 23, 1)))
    save("strip_1x41.png", Image.fromarray(textured(1, 41, 2)))
    save("strip_41x1.png", Image.fromarray(textured(41, 1, 3)))
    save("tiny_8x8.png", Image.fromarray(textured(8, 8, 4)))
    save("wide_1000x10.png", Image.fromarray(textured(1000, 10, 5)))

    rgba = np.dstack([textured(45, 31, 6), rng(7).randint(0, 256, (31, 45)).astype(np.uint8)])
    rgba[0, :5, 3] = 0  # fully transparent pixels keep their colour in PIL
    save("rgba_45x31.png", Image.fromarray(rgba, "RGBA"))
    save("gray_33x17.png", Image.fromarray(textured(33, 17, 8)[:, :, 0]))
    save("la_23x19.png", Image.fromarray(textured(23, 19, 9)[:, :, :2], "LA"))

    g16 = (rng(10).randint(0, 65536, (12, 20))).astype(np.uint16)
    g16[0, :10] = np.arange(10)  # some values below 256 survive PIL's clamp
    save("gray16_20x12.png", Image.fromarray(g16))
    png16(p("rgb16_19x13.png"), rng(11).randint(0, 65536, (13, 19, 3)), 2)
    files.append("rgb16_19x13.png")
    png16(p("rgba16_19x13.png"), rng(12).randint(0, 65536, (13, 19, 4)), 6)
    files.append("rgba16_19x13.png")

    pal = Image.fromarray(textured(30, 20, 13)).quantize(colors=50)
    save("pal_30x20.png", pal)
    save("pal_trns_30x20.png", pal, transparency=3)

    # JPEG: subsampling variants, progressive, gray, odd sizes (fancy-upsampling edges).
    photo = Image.open(os.path.join(HERE, "chelsea.png")).convert("RGB").crop((150, 60, 251, 127))
    save("photo_101x67_444.jpg", photo, quality=90, subsampling=0)
    save("photo_101x67_422.jpg", photo, quality=75, subsampling=1)
    save("photo_101x67_420.jpg", photo, quality=75, subsampling=2)
    save("photo_101x67_420_prog.jpg", photo, quality=80, subsampling=2, progressive=True)
    save("photo_101x67_gray.jpg", photo.convert("L"), quality=85)
    save("noise_37x23_420.jpg", Image.fromarray(textured(37, 23, 14)), quality=95, subsampling=2)
    save("noise_37x23_422_prog.jpg", Image.fromarray(textured(37, 23, 15)), quality=60, subsampling=1, progressive=True)
    save("cmyk_40x30.jpg", Image.fromarray(rng(16).randint(0, 256, (30, 40, 4)).astype(np.uint8), "CMYK"), quality=90)

    # EXIF orientation 2..8 on a non-square JPEG (24x16, 4:4:4 so edges are simple).
    small = Image.fromarray(textured(24, 16, 17))
    for o in range(2, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        save(f"exif_orient{o}_24x16.jpg", small, quality=95, subsampling=0, exif=ex.tobytes())

    # GIF: two frames (first one counts), one transparent index.
    f0 = Image.fromarray(textured(26, 18, 18)).quantize(colors=32)
    f1 = Image.fromarray(textured(26, 18, 19)).quantize(colors=32)
    save("anim_26x18.gif", f0, save_all=True, append_images=[f1], transparency=5, duration=100, loop=0)

    # GIF whose first frame (8x6 at 5,3) is smaller than the 20x15 screen:
    # PIL fills the rest with the transparent index. Patched from PIL's output.
    b = io.BytesIO()
    Image.fromarray(textured(8, 6, 25)).quantize(colors=8).save(b, "GIF", transparency=2)
    g = bytearray(b.getvalue())
    struct.pack_into("<HH", g, 6, 20, 15)
    d = g.index(b"\x2c", 13 + 3 * (2 << (g[10] & 7)))
    struct.pack_into("<HH", g, d + 1, 5, 3)
    with open(p("offset_20x15.gif"), "wb") as f:
        f.write(g)
    files.append("offset_20x15.gif")

    save("rgb_29x21.bmp", Image.fromarray(textured(29, 21, 20)))
    save("pal_29x21.bmp", Image.fromarray(textured(29, 21, 21)).quantize(colors=64))
    save("rgb_29x21.tif", Image.fromarray(textured(29, 21, 22)))
    save("rgb_29x21_lzw.tif", Image.fromarray(textured(29, 21, 23)), compression="tiff_lzw")
    save("rgb_29x21_lossless.webp", Image.fromarray(textured(29, 21, 24)), lossless=True)
    save("photo_101x67_lossy.webp", photo, quality=80)
    save("rgba_45x31_lossy.webp", Image.fromarray(rgba, "RGBA"), quality=70)
    return files


def pil_rgb(path, orient=True):
    im = Image.open(path)
    if orient:
        im = ImageOps.exif_transpose(im)
    return im.convert("RGB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", help="also write raw RGB results here")
    args = ap.parse_args()
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)

    def dump(name, im):
        if args.dump:
            with open(os.path.join(args.dump, name + ".rgb"), "wb") as f:
                f.write(im.tobytes())

    synth = make_synth()
    out = {
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "decode": [],
        "resize": [],
        "keras": [],
    }

    # Decode: every input, with and without EXIF orientation.
    for rel in PHOTOS + ["synth/" + s for s in synth]:
        path = os.path.join(HERE, rel)
        src = Image.open(path)
        for orient in (True, False):
            im = pil_rgb(path, orient)
            if not orient and src.getexif().get(0x0112, 1) == 1:
                continue
            out["decode"].append(
                {
                    "file": rel,
                    "pil_mode": src.mode,
                    "no_orient": not orient,
                    "width": im.size[0],
                    "height": im.size[1],
                    "rgb_sha256": sha(im.tobytes()),
                }
            )
            dump(rel.replace("/", "_") + ("_noorient" if not orient else ""), im)

    # Resize: every filter, typical network sizes, up- and downscales.
    photo_sizes = [(256, 256), (224, 224), (299, 299), (342, 342)]
    synth_sizes = [(256, 256), (224, 224), (299, 299), (5, 3), (1, 1), (3, 40), (111, 9)]
    cases = []
    for rel in PHOTOS:
        w, h = Image.open(os.path.join(HERE, rel)).size
        s = min(w, h)
        short = (256 * w // s, 256 * h // s)  # torchvision Resize(256) rule
        cases += [(rel, sz, False) for sz in photo_sizes + [short, (w * 2 + 1, h + 3)]]
    for rel in ["noise_37x23.png", "strip_1x41.png", "strip_41x1.png", "tiny_8x8.png", "wide_1000x10.png", "gray_33x17.png", "rgba_45x31.png"]:
        cases += [("synth/" + rel, sz, True) for sz in synth_sizes]
    os.makedirs(RESIZED, exist_ok=True)
    for rel, (w, h), keep in cases:
        src = pil_rgb(os.path.join(HERE, rel))
        for fname, f in FILTERS.items():
            r = src.resize((w, h), f)
            e = {"file": rel, "filter": fname, "width": w, "height": h, "rgb_sha256": sha(r.tobytes())}
            tag = f"{os.path.basename(rel).rsplit('.', 1)[0]}_{fname}_{w}x{h}"
            if keep and w * h <= 1024:  # small outputs are kept whole for debugging
                e["png"] = f"resized/{tag}.png"
                r.save(os.path.join(HERE, e["png"]))
            out["resize"].append(e)
            dump(tag, r)

    # keras preset: resize to 299x299 bilinear, x/127.5 - 1 in float32 (keras
    # applications.imagenet_utils.preprocess_input mode 'tf'), CHW.
    for rel in PHOTOS:
        x = np.asarray(pil_rgb(os.path.join(HERE, rel)).resize((299, 299), Image.BILINEAR), dtype=np.float32)
        x /= 127.5
        x -= 1.0
        chw = np.ascontiguousarray(x.transpose(2, 0, 1)).astype("<f4")
        out["keras"].append({"file": rel, "size": 299, "f32_sha256": sha(chw.tobytes()), "sum": float(chw.astype(np.float64).sum())})

    with open(os.path.join(HERE, "pil.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    # Caffe golden: re-derive the BVLC pipeline numbers and check them against
    # shared/golden when it is there.
    caffe = {"recipe": "PIL open -> convert('RGB') -> resize((256,256), BILINEAR) -> crop [16:240,16:240] -> BGR -> minus (104,117,123)", "images": {}}
    for rel in PHOTOS:
        a = np.asarray(Image.open(os.path.join(HERE, rel)).convert("RGB").resize((256, 256), Image.BILINEAR), dtype=np.float64)
        a = a[16:240, 16:240, ::-1] - np.array([104.0, 117.0, 123.0])
        caffe["images"][rel] = {"input_sum": float(a.sum()), "input_sumsq": float((a * a).sum())}
    golden = os.path.join(HERE, "..", "..", "..", "..", "shared", "golden", "bvlc_googlenet.json")
    if os.path.exists(golden):
        g = json.load(open(golden))["pipeline"]["images"]
        for rel, v in caffe["images"].items():
            for k in ("input_sum", "input_sumsq"):
                if g[rel][k] != v[k]:
                    sys.exit(f"{rel} {k}: golden {g[rel][k]} != PIL {v[k]}")
        caffe["source"] = "shared/golden/bvlc_googlenet.json pipeline.images (re-derived with PIL and equal)"
    with open(os.path.join(HERE, "caffe_golden.json"), "w") as f:
        json.dump(caffe, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
