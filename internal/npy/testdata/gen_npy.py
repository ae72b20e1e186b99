#!/usr/bin/python3
"""Reference .npy files for internal/npy, written by numpy, and a check that
numpy loads what the Go writer produces.

    apt-get install -y python3-numpy
    /usr/bin/python3 internal/npy/testdata/gen_npy.py

1. For each array in ARRAYS, np.save writes testdata/<name>.npy. The values
   are a fixed formula both sides share (values() here, testValues in
   npy_test.go): special floats (NaN, +-Inf, -0, the smallest subnormal, the
   largest float32, 1/3) then float32(((i*7919) % 1000)/8 - 60.5).
2. It runs `go test ./internal/npy -run TestWriteMatchesNumpy -args
   -npy.out=DIR`, which makes the Go writer save the same arrays to DIR, loads
   each with np.load, compares shape, dtype and bits, and records the outcome
   in testdata/numpy_loads_go.json.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

SPECIALS = [0x7FC00000, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF, 0x3EAAAAAB]

# name -> shape. "aligned" makes numpy's header exactly 64-byte aligned
# before padding, so numpy pads a whole extra 64 bytes; "long_axis" has a
# first dimension wider than an int32.
ARRAYS = {
    "scalar": (),
    "vec3": (3,),
    "empty": (0,),
    "long_axis": (12345678901, 0),
    "mat": (2, 3),
    "nchw": (1, 3, 8, 8),
    "aligned": (1,) * 13 + (100,),
}


def values(n):
    bits = np.zeros(n, dtype="<u4")
    for i in range(n):
        if i < len(SPECIALS):
            bits[i] = SPECIALS[i]
        else:
            bits[i] = np.array([((i * 7919) % 1000) / 8 - 60.5], dtype="<f4").view("<u4")[0]
    return bits.view("<f4")


def main():
    for name, shape in ARRAYS.items():
        a = values(int(np.prod(shape))).reshape(shape)
        np.save(os.path.join(HERE, name + ".npy"), a)

    result = {"numpy": np.__version__, "arrays": {}}
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            ["go", "test", "./internal/npy", "-count=1", "-run", "TestWriteMatchesNumpy", "-args", "-npy.out=" + d],
            cwd=ROOT, check=True,
        )
        for name, shape in ARRAYS.items():
            want = values(int(np.prod(shape))).reshape(shape)
            got = np.load(os.path.join(d, name + ".npy"))
            ok = got.dtype == np.dtype("<f4") and got.shape == shape and got.flags.c_contiguous and \
                np.array_equal(got.view("<u4"), want.view("<u4"))
            result["arrays"][name] = {"shape": list(shape), "np_load_ok": bool(ok)}
            if not ok:
                sys.exit(f"{name}: numpy loaded {got.dtype} {got.shape}, not the array written")
    with open(os.path.join(HERE, "numpy_loads_go.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
