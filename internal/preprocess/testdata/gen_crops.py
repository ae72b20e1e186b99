#!/usr/bin/python3
"""Generate the multi-crop reference tensors (10 and 144 crops) for
internal/preprocess (Preset.MultiCrop).

Needs Debian bookworm's Pillow 9.4, numpy, torch 1.13 and torchvision 0.14:

    apt-get install -y python3-pil python3-numpy python3-torchvision python3-torch
    /usr/bin/python3 internal/preprocess/testdata/gen_crops.py

Inputs are photos and synthetic images of gen_fixtures.py (run that first),
opened as it does: Image.open -> exif_transpose -> convert('RGB').

  ten    the preset's own resize (transforms.Resize(resize_size) on the
         shorter side, or Resize((r, r)) for the "both" mode), then the real
         transforms.TenCrop(size), each crop normalised as the preset does.
  144    GoogLeNet's 144 crops (Szegedy et al. 2014, section 7), built here
         from PIL and torchvision.transforms.functional calls, independently
         of the Go code: for flip in (no, yes), for the shorter sides
         round(size * k / 224), k = 256, 288, 320, 352: F.resize(img, short)
         [flipped with Image.FLIP_LEFT_RIGHT after the resize], the left /
         top, F.center_crop and right / bottom squares, and of each square
         F.five_crop(square, size) plus F.resize(square, [size, size]).

Normalisation: ToTensor + Normalize for the 0-1 range presets (torchvision,
timm); for caffe (BGR, 0-255) the uint8 pixels as float32, channels
reversed, minus the float32 mean, divided by the float32 std, in torch.

Output, next to this script:

  crops.json   per case: the preset Params (as the Go test passes them to
               NewPreset), the file, the number of crops, the SHA-256 of each
               crop's float32 little-endian CHW bytes, and, for the small
               cases, the .npy holding crops (all of them for ten-crop, the
               listed indices for 144).
  crops/<case>.npy  float32 (crops, 3, size, size).
"""

import hashlib
import json
import math
import os
import sys

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import HERE, pil_rgb  # noqa: E402

OUT = os.path.join(HERE, "crops")

INTERP = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
}

# Each preset's recipe, as far as the crops need it (see preset.go recipes).
RECIPES = {
    "torchvision": dict(mode="shorter", interp="bilinear", bgr=False, range1=True,
                        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    "timm": dict(mode="shorter", interp="bicubic", bgr=False, range1=True,
                 mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),
    "caffe": dict(mode="both", interp="bilinear", bgr=True, range1=False,
                  mean=[104, 117, 123], std=[1, 1, 1]),
}

# 144-crop indices whose full tensors are stored: the first and last of each
# kind and of each half, a centre square's crops and a whole-square resize.
PICK144 = [0, 1, 4, 5, 10, 11, 23, 71, 72, 73, 76, 77, 95, 143]


def normalize(r, im):
    """The preset's tensor of an RGB PIL image, float32 CHW."""
    if r["range1"]:
        x = T.Normalize(r["mean"], r["std"])(T.ToTensor()(im))
    else:
        x = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1).to(torch.float32)
        mean = torch.tensor(r["mean"], dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(r["std"], dtype=torch.float32).view(3, 1, 1)
        if r["bgr"]:
            x = x.flip(0)
        x = (x - mean) / std
    return x.numpy().astype("<f4")


def ten(params, im):
    r = RECIPES[params["preset"]]
    size = params["size"]
    rs = params.get("resize_size") or math.floor(size / params["crop_pct"])  # timm's scale_size
    resize = T.Resize(rs if r["mode"] == "shorter" else (rs, rs), interpolation=INTERP[r["interp"]])
    return [normalize(r, c) for c in T.TenCrop(size)(resize(im))]


def crops144(params, im):
    r = RECIPES[params["preset"]]
    size = params["size"]
    interp = INTERP[r["interp"]]
    out = []
    for flip in (False, True):
        for k in (256, 288, 320, 352):
            short = round(size * k / 224)  # never a tie: size*k/224 = size*(k/32)/7
            res = F.resize(im, short, interpolation=interp)
            if flip:
                res = res.transpose(Image.FLIP_LEFT_RIGHT)
            w, h = res.size
            if w >= h:
                squares = [res.crop((0, 0, h, h)), F.center_crop(res, h), res.crop((w - h, 0, w, h))]
            else:
                squares = [res.crop((0, 0, w, w)), F.center_crop(res, w), res.crop((0, h - w, w, h))]
            for sq in squares:
                for c in F.five_crop(sq, size):
                    out.append(normalize(r, c))
                out.append(normalize(r, F.resize(sq, [size, size], interpolation=interp)))
    assert len(out) == 144
    return out


# name -> (Params, file, crops, store): store the .npy (small cases only).
CASES = {
    # W-Size = 11 and H-Size = 1 are odd: the centre crop rounds half to
    # even, and the flipped centre is not the mirror of the centre.
    "ten_torchvision_noise": ({"preset": "torchvision", "size": 16, "resize_size": 17}, "synth/noise_37x23.png", 10, True),
    "ten_caffe_photo": ({"preset": "caffe", "size": 8, "resize_size": 11}, "synth/photo_101x67_420.jpg", 10, True),
    "ten_timm_portrait": ({"preset": "timm", "size": 8, "crop_pct": 0.875}, "synth/exif_orient6_24x16.jpg", 10, True),
    "ten_torchvision_chelsea": ({"preset": "torchvision", "size": 224, "resize_size": 256}, "chelsea.png", 10, False),
    "ten_timm_coffee": ({"preset": "timm", "size": 299, "crop_pct": 0.875}, "coffee.png", 10, False),
    "144_torchvision_noise": ({"preset": "torchvision", "size": 8}, "synth/noise_37x23.png", 144, True),
    "144_caffe_portrait": ({"preset": "caffe", "size": 8}, "synth/exif_orient6_24x16.jpg", 144, True),
    "144_timm_strip": ({"preset": "timm", "size": 5}, "synth/strip_1x41.png", 144, False),
    "144_torchvision_chelsea": ({"preset": "torchvision", "size": 224}, "chelsea.png", 144, False),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {
        "pillow": PIL.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cases": [],
    }
    for name, (params, rel, n, store) in CASES.items():
        im = pil_rgb(os.path.join(HERE, rel))
        crops = ten(params, im) if n == 10 else crops144(params, im)
        case = {
            "name": name,
            "params": params,
            "file": rel,
            "crops": n,
            "f32_sha256": [hashlib.sha256(c.tobytes()).hexdigest() for c in crops],
        }
        if store:
            pick = list(range(n)) if n == 10 else PICK144
            np.save(os.path.join(OUT, name + ".npy"), np.stack([crops[i] for i in pick]))
            case["npy"] = "crops/" + name + ".npy"
            case["npy_crops"] = pick
        out["cases"].append(case)
    with open(os.path.join(HERE, "crops.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
