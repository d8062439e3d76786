#!/usr/bin/env python3
"""Writes the small seed inputs of the fuzz targets into fuzz/seeds/ (run
from anywhere; needs only the Python standard library)."""
import gzip, json, os, struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")

def put(target, name, data):
    with open(os.path.join(here, target, name), "wb") as f:
        f.write(data)

def idx3(count, rows, cols):
    pixels = bytes((i * 7) % 256 for i in range(count * rows * cols))
    return struct.pack(">IIII", 0x803, count, rows, cols) + pixels

def idx1(count):
    return struct.pack(">II", 0x801, count) + bytes(i % 10 for i in range(count))

put("idx_images", "three-2x3", idx3(3, 2, 3))
put("idx_images", "empty-set", idx3(0, 28, 28))
put("idx_images", "three-2x3.gz", gzip.compress(idx3(3, 2, 3), mtime=0))
put("idx_labels", "five", idx1(5))
put("idx_labels", "five.gz", gzip.compress(idx1(5), mtime=0))

def safetensors(tensors, meta):
    header, data = {}, b""
    for name, shape, values in tensors:
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data

# A fashion-nn/1 model of 2x2 images, 2 hidden units, 3 classes.
model = safetensors(
    [("w1", [2, 4], [0.1 * i for i in range(8)]),
     ("b1", [2], [0.5, -0.5]),
     ("w2", [3, 2], [0.2 * i for i in range(6)]),
     ("b2", [3], [0.0, 1.0, 2.0]),
     ("pixel_mean", [4], [10.0, 20.0, 30.0, 40.0]),
     ("pixel_std", [4], [1.0, 2.0, 3.0, 4.0])],
    {"format": "fashion-nn/1", "rows": "2", "cols": "2",
     "class_names": json.dumps(["a", "b", "c"]), "lr": "0.5"})
put("model_file", "tiny-model", model)
