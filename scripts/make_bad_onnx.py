#!/usr/bin/python3
"""make_bad_onnx.py - regenerate the malformed-model corpus in tests/onnx_bad/.

Each case is <case>.onnx (absent for the missing-file case) plus a sidecar
<case>.expected holding one line:  STATUS|where-substring|message-substring
which tests/onnx_bad/test_onnx_bad.c checks against the first diagnostic of
tsl_onnx_import_file.  Run with /usr/bin/python3 (needs the onnx package);
the output is deterministic.  Usage: make_bad_onnx.py [outdir]
"""
import os
import random
import sys

import onnx
from onnx import TensorProto, helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "onnx_bad")
F = TensorProto.FLOAT


def model(nodes, inputs=None, outputs=None, inits=(), opset=13, opsets=None):
    inputs = inputs if inputs is not None else [helper.make_tensor_value_info("x", F, [1, 4])]
    outputs = outputs if outputs is not None else [helper.make_tensor_value_info("y", F, None)]
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    if opsets is None:
        opsets = [helper.make_opsetid("", opset)]
    m = helper.make_model(g, opset_imports=opsets, producer_name="make_bad_onnx")
    m.ir_version = 8
    return m.SerializeToString()


def relu(i, o, name):
    return helper.make_node("Relu", [i], [o], name=name)


def init_raw(name, dims, raw, dtype=F):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    return t


def with_init(t, node_input=None):
    n = helper.make_node("Add", ["x", node_input or t.name], ["y"], name="add")
    return model([n], inits=[t])


def external(location, nbytes=16, offset=None):
    t = TensorProto()
    t.name = "w"
    t.data_type = F
    t.dims.extend([nbytes // 4])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", location
    if offset is not None:
        e = t.external_data.add()
        e.key, e.value = "offset", str(offset)
    return with_init(t)


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def deep_nesting(levels):
    # GraphProto -> node(1) -> NodeProto -> attribute(5) -> AttributeProto -> g(6) -> ...
    g = b""
    for _ in range(levels):
        attr = field(1, b"body") + field(6, g)
        node = field(4, b"If") + field(5, attr)
        g = field(1, node)
    opset = field(1, b"") + varint(2 << 3) + varint(13)
    return varint(1 << 3) + varint(8) + field(8, opset) + field(7, g)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    good = model([relu("x", "y", "r")])
    cases["empty"] = (b"", "PARSE||empty file")
    rnd = random.Random(1234)
    cases["random_bytes"] = (bytes([0xFF]) + bytes(rnd.randrange(256) for _ in range(255)),
                             "PARSE|random_bytes.onnx|malformed protobuf")
    cases["truncated"] = (good[: len(good) // 2], "PARSE|truncated.onnx|")
    cases["deep_nesting"] = (deep_nesting(40), "LIMIT|deep_nesting.onnx|nesting deeper than the limit of 64")
    cases["dims_vs_raw"] = (with_init(init_raw("w", [1, 4], b"\0" * 12)),
                            "PARSE|w|raw_data is 12 bytes but dims and dtype f32 imply 16")
    cases["negative_dim"] = (with_init(init_raw("w", [-1, 4], b"")), "PARSE|w|negative dim -1")
    cases["dims_overflow"] = (with_init(init_raw("w", [1 << 40, 1 << 40], None)),
                              "LIMIT|w|element count of the dims overflows int64")
    cases["over_budget"] = (with_init(init_raw("w", [1 << 31, 4], None)),
                            "LIMIT|w|exceeds the remaining tensor budget")
    cases["string_tensor"] = (with_init(helper.make_tensor("w", TensorProto.STRING, [1], [b"a"])),
                              "UNSUPPORTED|w|string tensors are unsupported")
    two = init_raw("w", [1], b"\0\0\0\0")
    two.float_data.extend([1.0])
    cases["two_data_fields"] = (with_init(two), "PARSE|w|exactly one is allowed")
    cases["cycle"] = (model([relu("b", "a", "ra"), relu("a", "b", "rb"), relu("x", "y", "r")]),
                      "PARSE|cycle.onnx|graph has a cycle through node")
    cases["undefined_input"] = (model([helper.make_node("Add", ["x", "nope"], ["y"], name="add")]),
                                "PARSE|add|input \"nope\" is not produced")
    cases["duplicate_output"] = (model([relu("x", "y", "r1"), relu("x", "y", "r2")]),
                                 "PARSE|r2|duplicate output name \"y\"")
    cases["wrong_attr_type"] = (model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=1.0)],
        inputs=[helper.make_tensor_value_info("x", F, [1, 1, 4, 4])],
        inits=[helper.make_tensor("w", F, [1, 1, 1, 1], [1.0])]),
        "PARSE|conv|attribute \"group\" of Conv has type FLOAT, expected INT")
    cases["ext_dotdot"] = (external("../secret.bin"), "PARSE|w|contains \"..\"")
    cases["ext_absolute"] = (external("/etc/passwd"), "PARSE|w|is an absolute path")
    cases["ext_symlink"] = (external("ext_symlink.bin"), "IO|w|symlink")
    cases["ext_past_end"] = (external("ext_small.bin", 16, 4), "PARSE|w|past the end")
    cases["unsupported_ops"] = (model([
        helper.make_node("Foo", ["x"], ["a"], name="f1"),
        helper.make_node("Foo", ["a"], ["b"], name="f2"),
        helper.make_node("Bar", ["b"], ["y"], name="b1")]),
        "UNSUPPORTED|unsupported_ops.onnx|unsupported ops: Foo (nodes \"f1\", \"f2\"), Bar (node \"b1\")")
    then_g = helper.make_graph([relu("x", "t", "tr")], "then", [], [helper.make_tensor_value_info("t", F, None)])
    else_g = helper.make_graph([relu("x", "e", "er")], "else", [], [helper.make_tensor_value_info("e", F, None)])
    cases["if_node"] = (model([
        helper.make_node("Constant", [], ["c"], name="c", value=helper.make_tensor("v", TensorProto.BOOL, [], [1])),
        helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then_g, else_branch=else_g)]),
        "UNSUPPORTED|branch|If node has subgraph attribute")
    cases["no_opset"] = (model([relu("x", "y", "r")], opsets=[]),
                         "PARSE|no_opset.onnx|no opset_import for the default ONNX domain")
    cases["other_domain_only"] = (model([relu("x", "y", "r")],
                                        opsets=[helper.make_opsetid("com.example", 1)]),
                                  "UNSUPPORTED|other_domain_only.onnx|imports only the 'com.example' domain")
    cases["opset5"] = (model([relu("x", "y", "r")], opset=5), "UNSUPPORTED|opset5.onnx|opset 5 is not supported")
    cases["dropout_mask_used"] = (model(
        [helper.make_node("Dropout", ["x"], ["y", "m"], name="drop")],
        outputs=[helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("m", TensorProto.BOOL, None)]),
        "UNSUPPORTED|drop|mask output \"m\" is used")
    cases["concat_no_axis"] = (model([helper.make_node("Concat", ["x", "x"], ["y"], name="cat")]),
                               "PARSE|cat|Concat requires the attribute \"axis\"")
    cases["missing_output"] = (model([relu("x", "z", "r")]), "PARSE|y|graph output is not produced")

    for name, (data, expected) in sorted(cases.items()):
        with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
            f.write(data)
        with open(os.path.join(OUT, name + ".expected"), "w") as f:
            f.write(expected + "\n")
    with open(os.path.join(OUT, "missing_file.expected"), "w") as f:
        f.write("IO|missing_file.onnx|cannot open\n")
    with open(os.path.join(OUT, "ext_small.bin"), "wb") as f:
        f.write(b"\0" * 8)
    link = os.path.join(OUT, "ext_symlink.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("/etc/passwd", link)


if __name__ == "__main__":
    main()
