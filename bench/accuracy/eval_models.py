#!/usr/bin/python3
"""eval_models.py - scores one ONNX model on one task of the accuracy harness
by running `tessel run` (reference backend) on the whole split as one batch.

    eval_models.py TESSEL TASK MODEL.onnx DATA.npz WORKDIR
    TASK: digits (argmax accuracy), rec (CTC greedy: line accuracy, CER),
          cls (argmax accuracy, 0 vs 180 degrees)

Prints one JSON object.  It does not compress (run.sh does).
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np

KEYS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules",
                    "@gutenye", "ocr-models", "assets", "ppocr_keys_v1.txt")


def run(tessel, model, X, work):
    os.makedirs(work, exist_ok=True)
    for f in glob.glob(os.path.join(work, "*.npy")):
        os.remove(f)
    inp = os.path.join(work, "input.bin.npy")
    np.save(inp, np.ascontiguousarray(X, dtype=np.float32))
    outdir = os.path.join(work, "outputs")
    os.makedirs(outdir, exist_ok=True)
    for f in glob.glob(os.path.join(outdir, "*.npy")):
        os.remove(f)
    subprocess.run([tessel, "run", model, "-i", inp, "-o", outdir], check=True,
                   stdout=subprocess.DEVNULL)
    outs = sorted(glob.glob(os.path.join(outdir, "*.npy")))
    return np.load(outs[0])


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def ctc_greedy(probs, chars):
    out = []
    for seq in probs.argmax(-1):
        s, last = [], 0
        for k in seq:
            if k != last and k != 0:
                s.append(chars[k] if k < len(chars) else "")
            last = k
        out.append("".join(s))
    return out


def main():
    tessel, task, model, data, work = sys.argv[1:6]
    d = np.load(data)
    y = run(tessel, model, d["X"], work)
    if task in ("digits", "cls"):
        acc = float((y.argmax(-1) == d["y"]).mean())
        print(json.dumps({"accuracy": acc * 100}))
        return
    keys = open(KEYS, encoding="utf-8").read().split("\n")
    chars = [""] + keys + [" "]
    pred = ctc_greedy(y, chars)
    labels = [str(t) for t in d["labels"]]
    errs = sum(edit_distance(p, t) for p, t in zip(pred, labels))
    total = sum(len(t) for t in labels)
    line = sum(p == t for p, t in zip(pred, labels)) / len(labels)
    print(json.dumps({"line_accuracy": line * 100, "cer": 100 * errs / total,
                      "examples": [[t, p] for p, t in list(zip(pred, labels))[:4]]}))


if __name__ == "__main__":
    main()
