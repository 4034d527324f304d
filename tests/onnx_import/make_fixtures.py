#!/usr/bin/python3
"""make_fixtures.py - regenerate the small valid ONNX models in
tests/onnx_import/fixtures/ that test_onnx_import.c imports: every
initializer encoding, Constant nodes, symbolic dims, the legacy opset forms
the importer rewrites, op defaults, and a node list out of topological order.
Run with /usr/bin/python3 (needs onnx + numpy); output is deterministic."""
import os

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
F = T.FLOAT


def vi(name, dt=F, shape=None):
    return h.make_tensor_value_info(name, dt, shape)


def save(name, nodes, inputs, outputs, inits=(), opset=13, value_info=()):
    g = h.make_graph(nodes, name, inputs, outputs, initializer=list(inits),
                     value_info=list(value_info))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="fixtures")
    m.ir_version = 7
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def tensor(name, dt, dims, field, values):
    t = T()
    t.name = name
    t.data_type = dt
    t.dims.extend(dims)
    getattr(t, field).extend(values)
    return t


def main():
    os.makedirs(OUT, exist_ok=True)
    # every initializer encoding; "w_raw" is also listed as a graph input
    raw = T()
    raw.name, raw.data_type = "w_raw", F
    raw.dims.extend([2, 2])
    raw.raw_data = np.array([1, 2, 3, 4], dtype="<f4").tobytes()
    inits = [
        raw,
        tensor("w_float", F, [3], "float_data", [0.5, -1.5, 2.0]),
        tensor("w_i8", T.INT8, [2], "int32_data", [-3, 5]),
        tensor("w_u8", T.UINT8, [2], "int32_data", [200, 7]),
        tensor("w_i16", T.INT16, [1], "int32_data", [-300]),
        tensor("w_u16", T.UINT16, [1], "int32_data", [60000]),
        tensor("w_f16", T.FLOAT16, [1], "int32_data", [0x3C00]),
        tensor("w_bf16", T.BFLOAT16, [1], "int32_data", [0x3F80]),
        tensor("w_bool", T.BOOL, [2], "int32_data", [1, 0]),
        tensor("w_i32", T.INT32, [2], "int32_data", [-7, 8]),
        tensor("w_i64", T.INT64, [2], "int64_data", [-(1 << 40), 9]),
        tensor("w_f64", T.DOUBLE, [1], "double_data", [2.5]),
        tensor("w_u64", T.UINT64, [1], "uint64_data", [1 << 63]),
        tensor("w_u32", T.UINT32, [1], "uint64_data", [4000000000]),
        tensor("w_scalar", F, [], "float_data", [42.0]),
    ]
    outs = [vi("y")] + [vi(t.name, t.data_type, None) for t in inits[1:]]
    save("inits", [h.make_node("Add", ["x", "w_raw"], ["y"], name="add")],
         [vi("x", F, [2, 2]), vi("w_raw", F, [2, 2])], outs, inits)

    # Constant nodes and symbolic dims
    x = vi("x", F, ["N", 4, None])
    save("constants", [
        h.make_node("Constant", [], ["c_t"], value=h.make_tensor("v", T.INT64, [2], [3, 4])),
        h.make_node("Constant", [], ["c_f"], value_float=1.5),
        h.make_node("Constant", [], ["c_fs"], value_floats=[1.0, 2.0, 3.0]),
        h.make_node("Constant", [], ["c_i"], value_int=7),
        h.make_node("Constant", [], ["c_is"], value_ints=[5, 6]),
        h.make_node("Relu", ["x"], ["y"], name="relu"),
    ], [x, vi("z", F, ["N", "M"])], [vi("y"), vi("c_t", T.INT64), vi("c_f"), vi("c_fs"),
                                      vi("c_i", T.INT64), vi("c_is", T.INT64)])

    # opset 7 forms
    x4 = vi("x", F, [1, 2, 4, 4])
    bn = [h.make_tensor(n, F, [2], [1.0, 1.0]) for n in ("s", "b", "m", "v")]
    save("legacy7", [
        h.make_node("Clip", ["x"], ["clip"], name="clip", min=0.0, max=6.0),
        h.make_node("Pad", ["clip"], ["pad"], name="pad", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.5),
        h.make_node("Slice", ["pad"], ["slice"], name="slice", starts=[1], ends=[5], axes=[2]),
        h.make_node("Upsample", ["slice"], ["up"], name="up", scales=[1.0, 1.0, 2.0, 2.0], mode="nearest"),
        h.make_node("BatchNormalization", ["up", "s", "b", "m", "v"], ["bn"], name="bn", spatial=1,
                    epsilon=1e-3),
        h.make_node("Dropout", ["bn"], ["drop", "mask"], name="drop", ratio=0.3),
        h.make_node("Softmax", ["drop"], ["y"], name="sm", axis=1),
        h.make_node("TopK", ["x"], ["tv", "ti"], name="topk", k=2, axis=3),
    ], [x4], [vi("y"), vi("tv"), vi("ti", T.INT64)], bn, opset=7,
        value_info=[vi("drop", F, [1, 2, 8, 8])])

    # opset 9 Upsample (scales input), opset 10 Resize (X, scales)
    sc = h.make_tensor("sc", F, [4], [1.0, 1.0, 2.0, 2.0])
    save("legacy9", [h.make_node("Upsample", ["x", "sc"], ["y"], name="up", mode="linear")],
         [x4], [vi("y")], [sc], opset=9)
    save("legacy10", [h.make_node("Resize", ["x", "sc"], ["y"], name="rs", mode="nearest")],
         [x4], [vi("y")], [sc], opset=10)

    # opset 13 input forms, omitted inputs
    ax = h.make_tensor("ax", T.INT64, [1], [0])
    sp = h.make_tensor("sp", T.INT64, [2], [1, 3])
    mx = h.make_tensor("mx", F, [], [6.0])
    save("opset13", [
        h.make_node("Unsqueeze", ["x", "ax"], ["u"], name="unsq"),
        h.make_node("Squeeze", ["u", "ax"], ["q"], name="sq"),
        h.make_node("Split", ["q", "sp"], ["s0", "s1"], name="split", axis=1),
        h.make_node("ReduceSum", ["s1", "ax"], ["r"], name="rsum", keepdims=0),
        h.make_node("Clip", ["s0", "", "mx"], ["c"], name="clip"),
        h.make_node("Dropout", ["c", "", ""], ["d"], name="drop"),
        h.make_node("Softmax", ["d"], ["y"], name="sm"),
        h.make_node("Cast", ["r"], ["cast"], name="cast", to=T.INT64),
        h.make_node("ConstantOfShape", ["ax"], ["cos"], name="cos",
                    value=h.make_tensor("val", T.INT32, [1], [3])),
    ], [vi("x", F, [2, 4])], [vi("y"), vi("cast", T.INT64), vi("cos", T.INT32)], [ax, sp, mx])

    # per-op attribute defaults
    idx = h.make_tensor("idx", T.INT64, [1], [0])
    sc1 = h.make_tensor("qs", F, [], [0.5])
    save("defaults", [
        h.make_node("LeakyRelu", ["x"], ["a"], name="leaky"),
        h.make_node("Elu", ["a"], ["b"], name="elu"),
        h.make_node("HardSigmoid", ["b"], ["c"], name="hsig"),
        h.make_node("Selu", ["c"], ["d"], name="selu", gamma=2.0),
        h.make_node("Flatten", ["d"], ["e"], name="flat"),
        h.make_node("Gather", ["e", "idx"], ["f"], name="gather"),
        h.make_node("Concat", ["f", "f"], ["g"], name="concat", axis=1),
        h.make_node("Softmax", ["g"], ["y"], name="sm"),
        h.make_node("DequantizeLinear", ["qx", "qs"], ["dq"], name="dq"),
    ], [vi("x", F, [2, 3]), vi("qx", T.INT8, [4])], [vi("y"), vi("dq")], [idx, sc1], opset=11,
        value_info=[vi("g", F, [1, 6])])

    # a TensorProto test-data file (.pb)
    t = tensor("t", T.INT64, [2, 2], "int64_data", [1, -2, 3, -4])
    with open(os.path.join(OUT, "tensor_i64.pb"), "wb") as f:
        f.write(t.SerializeToString())

    # nodes listed out of topological order
    save("order", [
        h.make_node("Sigmoid", ["b"], ["y"], name="third"),
        h.make_node("Neg", ["a"], ["b"], name="second"),
        h.make_node("Relu", ["x"], ["a"], name="first"),
    ], [vi("x", F, [1, 4])], [vi("y")])


if __name__ == "__main__":
    main()
