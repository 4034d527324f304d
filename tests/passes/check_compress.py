#!/usr/bin/python3
"""tests/passes/check_compress.py - `tessel compress`, `tessel passes` and the
pass flags of `tessel run`, end to end on examples/tiny_cnn.onnx.

Checks: the written model is standard ONNX (onnx.checker) whose weights equal
the decoded compressed weights (per layer: at most 2^bits distinct values
per channel after dividing by the channel's scale, the reported sparsity of
zeros); the report's compression_rate equals original_weight_bits /
weight_bits; the packed container exists; bad flags exit 1 with one line;
usage errors exit 2; `run --codebook 4` runs; --print-after and --time-passes
write to stderr; --opq with --calib works in compress and run and a missing
or mis-shaped calibration file is one error line; `compile` takes the same
pass flags (bad values rejected, the pipeline runs before code generation)."""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ap = argparse.ArgumentParser()
ap.add_argument("--tessel", required=True)
ap.add_argument("--source", required=True)
a = ap.parse_args()
model = os.path.join(a.source, "examples", "tiny_cnn.onnx")
inp = os.path.join(a.source, "examples", "tiny_cnn.input.npy")
fails = []


def run(*args):
    return subprocess.run([a.tessel, *args], capture_output=True, text=True, timeout=300)


def check(cond, what):
    if not cond:
        fails.append(what)


with tempfile.TemporaryDirectory() as d:
    out, rep, pk = (os.path.join(d, n) for n in ("o.onnx", "r.json", "w.tpk"))
    r = run("compress", model, "-o", out, "--report", rep, "--emit-packed", pk,
            "--prune", "0.5", "--codebook", "4", "--no-keep-first-last")
    check(r.returncode == 0, f"compress failed: {r.stderr}")
    if r.returncode == 0:
        m = onnx.load(out)
        onnx.checker.check_model(m)
        rj = json.load(open(rep))
        check(abs(rj["compression_rate"] - rj["original_weight_bits"] / rj["weight_bits"]) < 1e-9,
              "compression_rate is not original/stored")
        check(rj["compression_rate"] > 5, f"rate {rj['compression_rate']} too low")
        check(os.path.getsize(pk) == rj["packed_bytes"], "packed size mismatch")
        inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
        total = pruned = 0
        for l in rj["layers"]:
            check(l["bits"] == 4 and l["step"] == 0.125, f"layer {l['name']}: bits/step")
            w = inits[l["name"]]
            zeros = int((w == 0).sum())
            check(zeros == round(l["sparsity"] * w.size), f"{l['name']}: zeros {zeros}")
            total += w.size
            pruned += zeros
            for c in range(w.shape[0]):
                check(len(np.unique(w[c][w[c] != 0])) <= 16, f"{l['name']}: >16 levels")
        check(pruned == round(0.5 * total), f"global sparsity {pruned}/{total}")
        r2 = run("run", out, "-i", inp)
        check(r2.returncode == 0 and "logits" in r2.stdout, "compressed model does not run")
    # first/last kept by default: those layers are reported uncompressed
    r = run("compress", model, "-o", out, "--report", rep, "--codebook", "3")
    check(r.returncode == 0, f"compress --codebook 3: {r.stderr}")
    if r.returncode == 0:
        ls = json.load(open(rep))["layers"]
        check(ls[0]["bits"] == 32 and ls[-1]["bits"] == 32 and ls[1]["bits"] == 3,
              "keep-first-last not honoured")
    # bad values: exit 1, one line
    for args, msg in [(["--prune", "1"], "[0, 1)"), (["--prune", "-0.1"], "[0, 1)"),
                      (["--codebook", "9"], "outside 1..8"), (["--codebook", "0"], "outside 1..8"),
                      (["--prune", "0.5,blocks"], "unknown pruning kind"),
                      (["--prune", "0.3,2:4"], "2:4")]:
        r = run("compress", model, "-o", out, *args)
        check(r.returncode == 1 and msg in r.stderr and r.stderr.count("\n") == 1,
              f"{args}: rc {r.returncode} {r.stderr!r}")
    # Huffman-coded indices (the default with --opq): the rate counts the
    # coded stream and is met; the packed container holds that stream (within
    # its headers) and reads back
    pk = os.path.join(d, "h.tspk")
    r = run("compress", model, "-o", out, "--report", rep, "--opq", "6", "--emit-packed", pk,
            "--print-after", "opq")
    check(r.returncode == 0, f"compress --opq 6 (huffman by default): {r.stderr}")
    check("coding huffman" in r.stderr, "--opq does not default to Huffman-coded indices")
    if r.returncode == 0:
        rj = json.load(open(rep))
        check(rj["compression_rate"] >= 6, f"huffman rate {rj['compression_rate']}")
        check(os.path.getsize(pk) * 8 <= rj["weight_bits"] + 8 * (16 + 96 * len(rj["layers"])),
              "packed container larger than the coded accounting")
        r2 = run("run", out, "-i", inp)
        check(r2.returncode == 0 and "logits" in r2.stdout, "huffman-compressed model does not run")
    # --index-coding packed overrides the --opq default; --codebook stays packed
    for args in [["--opq", "6", "--index-coding", "packed"], ["--codebook", "4"]]:
        r = run("compress", model, "-o", out, *args, "--print-after", "all")
        check(r.returncode == 0 and "# IR after" in r.stderr and "coding huffman" not in r.stderr,
              f"{args}: indices not bit-packed: rc {r.returncode}")
    # a model with no compressible layer
    g = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
                               [onnx.helper.make_tensor_value_info("x", 1, [2])],
                               [onnx.helper.make_tensor_value_info("y", 1, [2])])
    relu = os.path.join(d, "relu.onnx")
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)]), relu)
    r = run("compress", relu, "-o", out, "--codebook", "4")
    check(r.returncode == 1 and "no compressible layer" in r.stderr, f"no layer: {r.stderr!r}")
    # usage errors: exit 2
    for args in [["compress", model, "--codebook", "4"], ["compress", model, "-o", out],
                 ["compress", model, "-o", out, "--passes", "nope"],
                 ["compress", model, "-o", out, "--prune", "0.5", "--print-after", "nope"],
                 ["compress", model, "-o", out, "--opq", "4", "--index-coding", "zstd"]]:
        r = run(*args)
        check(r.returncode == 2, f"{args}: rc {r.returncode} (want 2)")
    # passes, print-after, time-passes, run with pass flags
    r = run("passes")
    check(r.returncode == 0 and "prune" in r.stdout and "codebook" in r.stdout and
          "fold-batchnorm" in r.stdout, "tessel passes")
    r = run("compress", model, "-o", out, "--prune", "0.3", "--print-after", "prune",
            "--time-passes")
    check(r.returncode == 0 and "# IR after prune" in r.stderr and "masked" in r.stderr and
          "total" in r.stderr, f"print-after/time-passes: {r.stderr[:300]!r}")
    r = run("compress", model, "-o", out, "--passes", "infer-shapes,prune", "--prune", "0.2")
    check(r.returncode == 0, f"--passes: {r.stderr}")
    r = run("run", model, "--codebook", "4", "-i", inp)
    check(r.returncode == 0 and "logits" in r.stdout, f"run --codebook: {r.stderr}")
    # --calib: opq with a calibration batch (compress and run), bad files
    r = run("compress", model, "-o", out, "--report", rep, "--opq", "4", "--calib", inp)
    check(r.returncode == 0 and json.load(open(rep))["compression_rate"] >= 3.9,
          f"compress --opq 4 --calib: {r.stderr}")
    r = run("run", model, "--opq", "4", "--calib", inp, "-i", inp)
    check(r.returncode == 0 and "logits" in r.stdout, f"run --opq --calib: {r.stderr}")
    missing = os.path.join(d, "missing.npy")
    r = run("compress", model, "-o", out, "--opq", "4", "--calib", missing)
    check(r.returncode == 1 and missing in r.stderr and r.stderr.count("\n") == 1,
          f"missing calib: rc {r.returncode} {r.stderr!r}")
    bad = os.path.join(d, "bad.npy")
    np.save(bad, np.zeros((1, 5), dtype=np.float32))
    r = run("compress", model, "-o", out, "--opq", "4", "--calib", bad)
    check(r.returncode == 1 and "expected rank" in r.stderr and r.stderr.count("\n") == 1,
          f"wrong-shape calib: rc {r.returncode} {r.stderr!r}")
    r = run("compress", model, "-o", out, "--codebook", "4", "--calib", inp)
    check(r.returncode == 2 and "--opq" in r.stderr, f"--calib without --opq: {r.stderr!r}")
    # compile takes the same pass flags as compress and run
    r = run("compile", model, "-o", d, "--codebook", "9")
    check(r.returncode == 1 and "outside 1..8" in r.stderr, f"compile --codebook 9: {r.stderr!r}")
    r = run("compile", model, "-o", d, "--prune", "0.5,blocks")
    check(r.returncode == 1 and "unknown pruning kind" in r.stderr,
          f"compile --prune bad: {r.stderr!r}")
    cdir = os.path.join(d, "compiled")
    r = run("compile", model, "-o", cdir, "-i", "input=" + inp, "--opq", "4", "--calib", inp,
            "--print-after", "opq", "--time-passes")
    if r.returncode == 1 and "not available" in r.stderr:
        print("check_compress: cpu backend not built; compile flags checked for parsing only")
    else:
        check(r.returncode == 0 and "# IR after opq" in r.stderr and "total" in r.stderr and
              os.path.exists(os.path.join(cdir, "tiny_cnn.so")),
              f"compile --opq --calib: rc {r.returncode} {r.stderr[-300:]!r}")

for f in fails:
    print("FAIL:", f)
print(f"check_compress: {len(fails)} failure(s)")
sys.exit(1 if fails else 0)
