#!/usr/bin/python3
"""Generate the reference tensors of the torchvision, timm and cadene
(BN-Inception) presets for internal/preprocess.

Needs Debian bookworm's Pillow 9.4, numpy, torch 1.13 and torchvision 0.14:

    apt-get install -y python3-pil python3-numpy python3-torchvision python3-torch
    /usr/bin/python3 internal/preprocess/testdata/gen_presets.py

Inputs are the photos and some synthetic images of gen_fixtures.py (run that
first), opened as it does: Image.open -> exif_transpose -> convert('RGB').

Pipelines, each run with the real torchvision transforms:

  torchvision  Resize(resize) [PIL bilinear] -> CenterCrop(size) -> ToTensor
               -> Normalize(ImageNet mean, std), as torchvision's
               ImageClassification preset for its weights; with
               transform_input, then the model's own _transform_input method
               (googlenet for 224, inception_v3 for 299, built with
               weights=None).
  timm         This mirrors timm's eval transform (timm/data/
               transforms_factory.py transforms_imagenet_eval, crop_mode
               'center'), built from torchvision transforms because timm is
               not installable here: Resize(math.floor(size / crop_pct),
               interpolation) -> CenterCrop(size) -> ToTensor ->
               Normalize(torch.tensor(mean), torch.tensor(std)).
  cadene       Cadene pretrainedmodels/utils.py TransformImage for
               bninception: Resize(int(math.floor(224 / 0.875))) ->
               CenterCrop(224) -> ToTensor -> ToSpaceBGR -> ToRange255 ->
               Normalize([104, 117, 128], [1, 1, 1]); the two small classes
               are copied from that file (pretrainedmodels is not installed).

Output, next to this script:

  presets.json   per case: the preset Params (as the Go test passes them to
                 NewPreset), the file, the tensor's shape, SHA-256 of its
                 float32 little-endian CHW bytes, float64 sum and sum of
                 squares, and every stride-th value (sample) to measure a
                 difference without storing the tensor.
  presets/<config>_small.npy  the full tensors of the synthetic images at a
                 small input size (16, or 8), stacked: (images, 3, s, s).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import HERE, PHOTOS, pil_rgb  # noqa: E402

OUT = os.path.join(HERE, "presets")
SYNTH = [
    "synth/noise_37x23.png",
    "synth/strip_1x41.png",
    "synth/strip_41x1.png",
    "synth/tiny_8x8.png",
    "synth/wide_1000x10.png",
    "synth/gray_33x17.png",
    "synth/rgba_45x31.png",
    "synth/photo_101x67_420.jpg",
]
SAMPLES = 96

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
INCEPTION_MEAN, INCEPTION_STD = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
INTERP = {
    "nearest": InterpolationMode.NEAREST,
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "lanczos": InterpolationMode.LANCZOS,
}


class ToSpaceBGR(object):  # pretrainedmodels/utils.py
    def __init__(self, is_bgr):
        self.is_bgr = is_bgr

    def __call__(self, tensor):
        if self.is_bgr:
            new_tensor = tensor.clone()
            new_tensor[0] = tensor[2]
            new_tensor[2] = tensor[0]
            tensor = new_tensor
        return tensor


class ToRange255(object):  # pretrainedmodels/utils.py
    def __init__(self, is_255):
        self.is_255 = is_255

    def __call__(self, tensor):
        if self.is_255:
            tensor.mul_(255)
        return tensor


_ti_models = {}


def transform_input(x, size):
    """The pretrained model's own transform_input step (in float32)."""
    if size not in _ti_models:
        if size == 224:
            m = torchvision.models.googlenet(weights=None, aux_logits=False, transform_input=True, init_weights=False)
        else:
            m = torchvision.models.inception_v3(weights=None, aux_logits=False, transform_input=True, init_weights=False)
        _ti_models[size] = m.eval()
    with torch.no_grad():
        return _ti_models[size]._transform_input(x.unsqueeze(0))[0]


def torchvision_pipeline(size, resize, interp="bilinear", ti=False):
    tf = T.Compose([
        T.Resize(resize, interpolation=INTERP[interp]),
        T.CenterCrop(size),
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    return (lambda im: transform_input(tf(im), size)) if ti else tf


def timm_pipeline(size, crop_pct, interp, mean, std):
    scale_size = math.floor(size / crop_pct)  # transforms_imagenet_eval
    return T.Compose([
        T.Resize(scale_size, interpolation=INTERP[interp]),
        T.CenterCrop(size),
        T.ToTensor(),
        T.Normalize(mean=torch.tensor(mean), std=torch.tensor(std)),
    ])


def cadene_pipeline(size, scale=0.875):
    return T.Compose([
        T.Resize(int(math.floor(size / scale))),
        T.CenterCrop(size),
        T.ToTensor(),
        ToSpaceBGR(True),
        ToRange255(True),
        T.Normalize(mean=[104, 117, 128], std=[1, 1, 1]),
    ])


def configs(small):
    """name -> (Go Params, python pipeline) at the reference size, or at a
    small size for the full-tensor synthetic cases."""
    tv1, tv3, s299 = (16, 8, 16) if small else (224, 299, 299)
    c = {}
    for name, size in (("torchvision_v1", tv1), ("torchvision_v3", tv3)):
        resize = round(size * 256 / 224)  # 256 for 224, 342 for 299
        for ti in (False, True):
            p = {"preset": "torchvision", "size": size}
            if ti:
                p["transform_input"] = True
            c[name + ("_ti" if ti else "")] = (p, torchvision_pipeline(size, resize, ti=ti))
    c["timm_tf_in1k"] = ({"preset": "timm", "size": s299}, timm_pipeline(s299, 0.875, "bicubic", INCEPTION_MEAN, INCEPTION_STD))
    c["timm_gluon_in1k"] = (
        {"preset": "timm", "size": s299, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        timm_pipeline(s299, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    )
    c["timm_irv2"] = ({"preset": "timm", "size": s299, "crop_pct": 0.8975}, timm_pipeline(s299, 0.8975, "bicubic", INCEPTION_MEAN, INCEPTION_STD))
    # Overrides as the flags give them: --interpolation, --crop-pct.
    c["timm_nearest_crop1"] = (
        {"preset": "timm", "size": s299, "crop_pct": 1.0, "interpolation": "nearest"},
        timm_pipeline(s299, 1.0, "nearest", INCEPTION_MEAN, INCEPTION_STD),
    )
    c["timm_lanczos"] = (
        {"preset": "timm", "size": s299, "interpolation": "lanczos"},
        timm_pipeline(s299, 0.875, "lanczos", INCEPTION_MEAN, INCEPTION_STD),
    )
    size = 16 if small else 224
    c["cadene_bninception"] = ({"preset": "cadene", "size": size}, cadene_pipeline(size))
    return c


def f32bytes(x):
    return np.ascontiguousarray(x.numpy()).astype("<f4").tobytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {
        "pillow": PIL.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cases": [],
    }
    for name, (params, tf) in configs(False).items():
        for rel in PHOTOS + SYNTH:
            x = tf(pil_rgb(os.path.join(HERE, rel)))
            a = x.numpy().astype(np.float64).ravel()
            stride = max(1, a.size // SAMPLES)
            out["cases"].append({
                "config": name,
                "params": params,
                "file": rel,
                "shape": list(x.shape),
                "f32_sha256": hashlib.sha256(f32bytes(x)).hexdigest(),
                "sum": float(a.sum()),
                "sumsq": float((a * a).sum()),
                "stride": stride,
                "sample": [float(v) for v in x.numpy().ravel()[::stride]],
            })
    for name, (params, tf) in configs(True).items():
        stack = np.stack([tf(pil_rgb(os.path.join(HERE, rel))).numpy() for rel in SYNTH]).astype("<f4")
        np.save(os.path.join(OUT, f"{name}_small.npy"), stack)
        out["cases"].append({"config": name, "params": params, "files": SYNTH, "npy": f"presets/{name}_small.npy"})
    with open(os.path.join(HERE, "presets.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
