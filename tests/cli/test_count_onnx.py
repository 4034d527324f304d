#!/usr/bin/python3
"""test_count_onnx.py - checks the oracle scripts/count_onnx.py itself, then tessel against it.

Builds (in a temporary folder) a model whose counts are worked out by hand
below: Constant nodes in three attribute forms, an initializer, a batched
MatMul with broadcasting and a symbolic batch dim, a grouped strided
ConvTranspose and a Gemm with transA.  Checks count_onnx.py's params, MACs
and ops against the hand figures, checks --bind and --write-fixed, and then
runs tests/cli/check_inspect.py on the model so `tessel inspect --json` is
held to the same numbers for these ops.

Exit status: 0 pass, 1 fail.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"

# Hand counts with a=[2,1,5,6] bound (B=2):
#   params  Constant value_floats 3 + value_int 1 + value 4*2*3*3=72, initializer 6*9=54
#   MatMul  out [2,3,5,7] = 210 elements x K=6          = 1260
#   ConvT   x [1,4,5,5] = 100 elements x (C_out/g=2)*3*3 = 1800
#   Gemm    A^T [2,6] x B [6,9]: out 18 elements x K=6  =  108
WANT_PARAMS = 3 + 1 + 72 + 54
WANT_MACS_B2 = 1260 + 1800 + 108
WANT_MACS_B1 = 630 + 1800 + 108
WANT_OPS = {"Constant": 3, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1}


def build(path):
    nodes = [
        h.make_node("Constant", [], ["c1"], value_floats=[1.0, 2.0, 3.0]),
        h.make_node("Constant", [], ["c2"], value_int=4),
        h.make_node("Constant", [], ["w2"], value=nh.from_array(np.zeros((4, 2, 3, 3), np.float32))),
        h.make_node("MatMul", ["a", "b"], ["m"], name="mm"),
        h.make_node("ConvTranspose", ["x", "w2"], ["y"], name="deconv", group=2, strides=[2, 2]),
        h.make_node("Gemm", ["g", "gw"], ["go"], name="gemm", transA=1),
    ]
    inputs = [h.make_tensor_value_info("a", T.FLOAT, ["B", 1, 5, 6]),
              h.make_tensor_value_info("b", T.FLOAT, [3, 6, 7]),
              h.make_tensor_value_info("x", T.FLOAT, [1, 4, 5, 5]),
              h.make_tensor_value_info("g", T.FLOAT, [6, 2])]
    outputs = [h.make_tensor_value_info(n, T.FLOAT, None) for n in ("m", "y", "c1", "go")]
    graph = h.make_graph(nodes, "count_fixture", inputs, outputs,
                         [nh.from_array(np.ones((6, 9), np.float32), "gw")])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)]), path)


def count(*argv):
    p = subprocess.run([PYTHON, os.path.join(HERE, "..", "..", "scripts", "count_onnx.py")] +
                       list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else None)


def main():
    tessel = sys.argv[1]
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append("%s: got %r, want %r" % (what, got, want))

    with tempfile.TemporaryDirectory(prefix="tessel_count_") as d:
        model = os.path.join(d, "fixture.onnx")
        fixed = os.path.join(d, "fixed.onnx")
        build(model)
        rc, c = count(model, "--bind", "a=2,1,5,6", "--write-fixed", fixed)
        expect("count_onnx exit", rc, 0)
        if c:
            expect("params", c["params"], WANT_PARAMS)
            expect("macs (B=2)", c["macs"], WANT_MACS_B2)
            expect("ops", c["ops"], WANT_OPS)
            expect("input a", c["inputs"][0], {"name": "a", "dtype": "f32", "shape": ["B", 1, 5, 6]})
            f = onnx.load(fixed)
            dims = [[dd.dim_value for dd in o.type.tensor_type.shape.dim] for o in f.graph.output]
            expect("fixed input a", [dd.dim_value for dd in f.graph.input[0].type.tensor_type.shape.dim],
                   [2, 1, 5, 6])
            expect("fixed output shapes", dims, [[2, 3, 5, 7], [1, 4, 11, 11], [3], [2, 9]])
        rc, c = count(model)
        expect("macs (batch as 1)", c and c["macs"], WANT_MACS_B1)
        expect("bad --bind exit", count(model, "--bind", "a=1,2")[0], 1)
        expect("unknown --bind input exit", count(model, "--bind", "zz=1")[0], 1)
        r = subprocess.run([PYTHON, os.path.join(HERE, "check_inspect.py"), "--tessel", tessel,
                            "--count", os.path.join(HERE, "..", "..", "scripts", "count_onnx.py"),
                            model])
        expect("check_inspect.py on the fixture", r.returncode, 0)
    for p in problems:
        print("FAIL " + p)
    print("%d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
