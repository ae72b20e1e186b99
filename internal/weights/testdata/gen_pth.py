#!/usr/bin/python3
"""Generate the small torch.save fixtures the .pth reader is tested with.

Run from anywhere with Debian's PyTorch (apt-get install python3-torch):

    /usr/bin/python3 internal/weights/testdata/gen_pth.py

It writes the fixtures next to this script, plus pth_expected.json, which
lists for each loadable fixture the tensors the Go reader must return (name,
shape, every value as float32 widened to a double) and for each bad fixture
a substring of the error. Nothing here executes the malicious payloads: they
are only pickled, never unpickled.
"""

import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class Tiny(nn.Module):
    """A conv + batch norm + linear net, the smallest with every parameter kind."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)


class Evil:
    """Unpickling an Evil runs a shell command: the attack a loader must refuse."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def tiny_state_dict():
    torch.manual_seed(0)
    net = Tiny()
    with torch.no_grad():
        net.bn.weight.uniform_(0.5, 1.5)
        net.bn.bias.normal_()
        net.bn.running_mean.normal_()
        net.bn.running_var.uniform_(0.5, 2.0)
        net.bn.num_batches_tracked.fill_(7)
    sd = net.state_dict()
    # Other dtypes, a scalar, and two tensors sharing one storage (the second
    # starts at storage offset 4).
    sd["extra.half"] = torch.tensor([[1.0, -2.0, 0.5], [65504.0, 2.0**-24, -0.0]], dtype=torch.float16)
    sd["extra.bf16"] = torch.tensor([1.0, -2.0, 3.140625, 1e30, -1e-30], dtype=torch.bfloat16)
    sd["extra.double"] = torch.tensor([0.1, -2.5e-8], dtype=torch.float64)
    sd["extra.scalar"] = torch.tensor(42.5)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd["view.whole"] = base
    sd["view.row"] = base[1]
    return sd


def expected(sd):
    tensors = []
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        tensors.append({
            "name": name,
            "shape": list(t.shape),
            "values": [float(v) for v in t.detach().to(torch.float32).flatten().tolist()],
        })
    return tensors


def save_raw_zip(path, payload):
    """A zip laid out like torch.save's, whose data.pkl is an arbitrary pickle."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", "3\n")


def main():
    out = lambda name: os.path.join(HERE, name)
    sd = tiny_state_dict()
    want = {}

    torch.save(sd, out("tiny.pth"))
    want["tiny.pth"] = {"tensors": expected(sd)}

    torch.save(sd, out("tiny_legacy.pth"), _use_new_zipfile_serialization=False)
    want["tiny_legacy.pth"] = {"tensors": expected(sd)}

    module = OrderedDict(("module." + k, v) for k, v in sd.items())
    torch.save(module, out("tiny_module.pth"))
    want["tiny_module.pth"] = {"tensors": expected(sd), "stripped_prefix": "module."}

    torch.save({"state_dict": sd, "epoch": 3}, out("tiny_checkpoint.pth"))
    want["tiny_checkpoint.pth"] = {"tensors": expected(sd)}

    torch.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}, out("noncontiguous.pth"))
    want["noncontiguous.pth"] = {"error": 'tensor "w": not contiguous'}

    refused = "refusing to load: the pickle calls posix.system, which a weight file never needs"
    torch.save({"x": Evil()}, out("evil.pth"))
    want["evil.pth"] = {"error": refused}
    torch.save(Evil(), out("evil_legacy.pth"), _use_new_zipfile_serialization=False)
    want["evil_legacy.pth"] = {"error": refused}
    save_raw_zip(out("evil_raw_zip.pth"), pickle.dumps(Evil(), protocol=2))
    want["evil_raw_zip.pth"] = {"error": refused}
    with open(out("evil_raw.pth"), "wb") as f:
        pickle.dump(Evil(), f, protocol=2)
    want["evil_raw.pth"] = {"error": refused}

    with open(out("pth_expected.json"), "w") as f:
        f.write(dump_expected(want))


def dump_expected(want):
    """JSON with one line per tensor, so that a regenerated file diffs well."""
    lines = ["{"]
    for i, name in enumerate(sorted(want)):
        w = want[name]
        fields = [f"{json.dumps(k)}: {json.dumps(w[k])}" for k in sorted(w) if k != "tensors"]
        if "tensors" in w:
            rows = ",\n".join("   " + json.dumps(t, allow_nan=False) for t in w["tensors"])
            fields.append('"tensors": [\n' + rows + "\n  ]")
        comma = "," if i < len(want) - 1 else ""
        lines.append(f" {json.dumps(name)}: {{\n  " + ",\n  ".join(fields) + "\n }" + comma)
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
