#!/usr/bin/env python3
"""The article's NumPy method, timed on the article workload, as the reference
the CPU backend is compared against (issue 3: "at least 5x faster than the
article's NumPy method run in the same script").

Written for this project from the formulas in DESIGN.md, in the article's
style: float64 arrays, NumPy matrix products (OpenBLAS), one sigmoid hidden
layer of 50 units, softmax output, cross-entropy gradients, L1 and L2 terms,
weights uniform in [-1, 1], 25 batches of 2 400 standardized images an epoch.
The flop count is the one `fashion-nn bench` uses (4·N·D·H plus small terms),
so the GFLOP/s figures compare.

Usage: python3 benches/numpy_article.py [--epochs N] [--data DIR] [--json]
Prints the median / min / max epoch seconds (one warm-up epoch first).
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("numpy_article.py: NumPy is not installed; install it with `pip install numpy`")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    sys.exit(f"numpy_article.py: {stem}[.gz] not found in {data_dir}; run scripts/setup.sh")


def sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


def epoch(x, y_onehot, w1, b1, w2, b2, batch, lr, l1, l2):
    n = x.shape[0]
    for start in range(0, n, batch):
        xb = x[start:start + batch]
        yb = y_onehot[start:start + batch]
        rows = xb.shape[0]
        a1 = sigmoid(xb @ w1.T + b1)
        z2 = a1 @ w2.T + b2
        z2 -= z2.max(axis=1, keepdims=True)
        p = np.exp(z2)
        p /= p.sum(axis=1, keepdims=True)
        g2 = (p - yb) / rows
        g1 = (g2 @ w2) * a1 * (1.0 - a1)
        dw2 = g2.T @ a1 + l1 * np.sign(w2) + l2 * w2
        dw1 = g1.T @ xb + l1 * np.sign(w1) + l2 * w1
        w2 -= lr * dw2
        b2 -= lr * g2.sum(axis=0)
        w1 -= lr * dw1
        b1 -= lr * g1.sum(axis=0)


def epoch_flops(n, batch, d, h, c):
    # Same model as fashion-nn's train::epoch_flops.
    batches = -(-n // batch)
    return 4 * n * d * h + 6 * n * h * c + 4 * n * h + 6 * n * c + 5 * batches * (h * d + c * h)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=2400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    images = read_idx(find(args.data, "train-images-idx3-ubyte"))
    labels = read_idx(find(args.data, "train-labels-idx1-ubyte"))
    n = images.shape[0]
    x = images.reshape(n, -1).astype(np.float64)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    x = (x - x.mean(axis=0)) / std
    classes = int(labels.max()) + 1
    y = np.eye(classes)[labels]
    d, h = x.shape[1], args.hidden

    rng = np.random.default_rng(1)
    w1 = rng.uniform(-1.0, 1.0, (h, d))
    b1 = rng.uniform(-1.0, 1.0, h)
    w2 = rng.uniform(-1.0, 1.0, (classes, h))
    b2 = rng.uniform(-1.0, 1.0, classes)
    lr, l1, l2 = 0.001 * args.batch_size, 0.0, 0.5 / args.batch_size

    epoch(x, y, w1, b1, w2, b2, args.batch_size, lr, l1, l2)  # warm-up
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        epoch(x, y, w1, b1, w2, b2, args.batch_size, lr, l1, l2)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    gflops = epoch_flops(n, args.batch_size, d, h, classes) / median / 1e9
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    if args.json:
        print(json.dumps({
            "backend": "numpy-float64",
            "numpy": np.__version__,
            "openblas_threads": threads,
            "images": n, "hidden": h, "batch_size": args.batch_size,
            "median_s": median, "min_s": min(times), "max_s": max(times),
            "gflops": gflops,
        }))
    else:
        print(f"numpy {np.__version__} float64 (OpenBLAS threads: {threads}): "
              f"median {median:.3f} s, min {min(times):.3f}, max {max(times):.3f}, "
              f"{gflops:.1f} GFLOP/s over {args.epochs} epochs of {n} images, H {h}")


if __name__ == "__main__":
    main()
