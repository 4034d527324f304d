#!/usr/bin/python3
"""count_onnx.py - count parameters, MACs and ops of an ONNX model, independently of tessel.

The oracle for `tessel inspect --json`: it uses only the onnx and numpy
Python packages (Debian's python3-onnx), never tessel, so the two can be
compared in tests.

  params  every element of every constant tensor: graph initializers (dense
          and sparse) plus the tensors held by Constant nodes (value,
          sparse_value, value_float(s), value_int(s), value_string(s)).
  macs    multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul:
          (elements of the output) x (length of the reduction), i.e.
            Conv           |Y| * C_in/group * prod(kernel)
            ConvTranspose  |X| * C_out/group * prod(kernel)
            Gemm, MatMul   |Y| * K
          Shapes come from onnx.shape_inference after binding the graph
          inputs: every symbolic or unknown input dim is 1 unless
          `--bind NAME=d0,d1,...` gives the whole shape of input NAME.
          onnx 1.12's data propagation stops at Cast and friends, so small
          shape-computing subgraphs (Shape, Cast, Slice, Concat, Gather, ...)
          are evaluated here with numpy and inference is rerun until every
          shape is static.  This folding only serves shape inference; params
          and ops are always counted on the model as given.
  ops     node count per op type (top-level graph).

Prints one JSON object: {"params", "macs", "ops", "nodes", "opset",
"inputs", "outputs"} where inputs/outputs are the model's declared
(unbound) ones as {"name", "dtype", "shape"}, dtype in tessel's names
("f32"), symbolic dims as their names and unknown dims as "?".

--write-fixed OUT.onnx saves a copy of the model whose inputs have the bound
static shapes and whose outputs carry the inferred static shapes, so any tool
that computes MACs with symbolic dims as 1 can be compared on the same sizes.

Exit status: 0 ok, 1 the model cannot be counted (missing shapes, bad
file), 2 usage error.
"""
import argparse
import collections
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, mapping, numpy_helper, shape_inference

MAC_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
# Tensors larger than this are never evaluated while folding shape subgraphs.
FOLD_MAX_ELEMENTS = 4096
# Rounds of (infer shapes, fold what became computable) before giving up.
FOLD_MAX_ROUNDS = 20

# ONNX element type -> tessel dtype name (ir/include/tessel/dtypes.def).
DTYPE_NAMES = {
    TensorProto.FLOAT: "f32", TensorProto.FLOAT16: "f16", TensorProto.BFLOAT16: "bf16",
    TensorProto.DOUBLE: "f64", TensorProto.INT64: "i64", TensorProto.INT32: "i32",
    TensorProto.INT16: "i16", TensorProto.INT8: "i8", TensorProto.UINT64: "u64",
    TensorProto.UINT32: "u32", TensorProto.UINT16: "u16", TensorProto.UINT8: "u8",
    TensorProto.BOOL: "bool",
}


class CountError(Exception):
    pass


def prod(xs):
    r = 1
    for x in xs:
        r *= int(x)
    return r


def constant_node_elements(node):
    """Element count of the tensor a Constant node produces."""
    total = 0
    for a in node.attribute:
        if a.name == "value":
            total += prod(a.t.dims)
        elif a.name == "sparse_value":
            total += prod(a.sparse_tensor.dims)
        elif a.name in ("value_float", "value_int", "value_string"):
            total += 1
        elif a.name == "value_floats":
            total += len(a.floats)
        elif a.name == "value_ints":
            total += len(a.ints)
        elif a.name == "value_strings":
            total += len(a.strings)
    return total


def count_params(graph):
    n = sum(prod(t.dims) for t in graph.initializer)
    n += sum(prod(s.dims) for s in graph.sparse_initializer)
    n += sum(constant_node_elements(node) for node in graph.node if node.op_type == "Constant")
    return n


def real_inputs(graph):
    inits = {t.name for t in graph.initializer} | {s.values.name for s in graph.sparse_initializer}
    return [i for i in graph.input if i.name not in inits]


def describe(vi):
    tt = vi.type.tensor_type
    shape = None
    if tt.HasField("shape"):
        shape = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                shape.append(d.dim_value)
            elif d.HasField("dim_param"):
                shape.append(d.dim_param)
            else:
                shape.append("?")
    return {"name": vi.name, "dtype": DTYPE_NAMES.get(tt.elem_type, str(tt.elem_type)),
            "shape": shape}


def parse_binds(items):
    binds = {}
    for item in items or []:
        name, sep, dims = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            binds[name] = [int(x) for x in dims.split(",")]
            if any(d < 0 for d in binds[name]):
                raise ValueError
        except ValueError:
            raise CountError("--bind %r: expected NAME=d0,d1,... with dims >= 0" % item)
    return binds


def bind_inputs(model, binds):
    """Copy of model with static input shapes and no value_info / output shapes."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    inputs = {i.name: i for i in real_inputs(fixed.graph)}
    for name in binds:
        if name not in inputs:
            raise CountError("--bind %s: the model has no input of that name" % name)
    for name, vi in inputs.items():
        dims = vi.type.tensor_type.shape.dim
        if name in binds:
            if len(binds[name]) != len(dims):
                raise CountError("--bind %s: rank %d, the input has rank %d"
                                 % (name, len(binds[name]), len(dims)))
            values = binds[name]
        else:
            values = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
        for d, v in zip(dims, values):
            d.Clear()
            d.dim_value = v
    del fixed.graph.value_info[:]
    for o in fixed.graph.output:
        o.type.tensor_type.ClearField("shape")
    return fixed


def static_shapes(inferred):
    shapes = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            shapes[vi.name] = [d.dim_value for d in tt.shape.dim]
    for t in g.initializer:
        shapes[t.name] = list(t.dims)
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = list(a.t.dims)
    return shapes


def node_macs(node, shapes):
    def shape_of(name, what):
        if name not in shapes:
            raise CountError("%s %r (%s): no static shape for %s %r after shape inference"
                             % (node.op_type, node.name, node.output[0], what, name))
        return shapes[name]

    y = shape_of(node.output[0], "output")
    if node.op_type == "Conv":
        w = shape_of(node.input[1], "weight")
        return prod(y) * prod(w[1:])
    if node.op_type == "ConvTranspose":
        x = shape_of(node.input[0], "input")
        w = shape_of(node.input[1], "weight")
        return prod(x) * prod(w[1:])
    a = shape_of(node.input[0], "input")
    if node.op_type == "Gemm":
        trans_a = any(at.name == "transA" and at.i for at in node.attribute)
        return prod(y) * (a[0] if trans_a else a[1])
    return prod(y) * a[-1]  # MatMul


# ---- folding of shape subgraphs (for shape inference only) ----------------

def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def axes_arg(node, vals, opset_attr):
    """Axes from the attribute (older opsets) or the second input."""
    if len(node.input) > 1 and node.input[1]:
        return [int(a) for a in vals[1]]
    return list(opset_attr.get("axes", []))


def fold_slice(node, vals, at):
    x = vals[0]
    if "starts" in at:
        starts, ends = at["starts"], at["ends"]
        axes = at.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = list(vals[1]), list(vals[2])
        axes = list(vals[3]) if len(vals) > 3 and vals[3] is not None else list(range(len(starts)))
        steps = list(vals[4]) if len(vals) > 4 and vals[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return x[tuple(index)]


def fold_unsqueeze(node, vals, at):
    x = vals[0]
    axes = sorted(a + x.ndim + len(axes_arg(node, vals, at)) if a < 0 else a
                  for a in axes_arg(node, vals, at))
    for a in axes:
        x = np.expand_dims(x, a)
    return x


def fold_squeeze(node, vals, at):
    axes = axes_arg(node, vals, at)
    return np.squeeze(vals[0], axis=tuple(axes)) if axes else np.squeeze(vals[0])


def fold_div(node, vals, at):
    a, b = vals
    if np.issubdtype(a.dtype, np.integer):
        return (np.trunc(a / b)).astype(a.dtype)
    return a / b


FOLDERS = {
    "Cast": lambda n, v, at: v[0].astype(mapping.TENSOR_TYPE_TO_NP_TYPE[at["to"]]),
    "Concat": lambda n, v, at: np.concatenate(v, axis=at["axis"]),
    "Gather": lambda n, v, at: np.take(v[0], v[1], axis=at.get("axis", 0)),
    "Slice": fold_slice,
    "Unsqueeze": fold_unsqueeze,
    "Squeeze": fold_squeeze,
    "Add": lambda n, v, at: v[0] + v[1],
    "Sub": lambda n, v, at: v[0] - v[1],
    "Mul": lambda n, v, at: v[0] * v[1],
    "Div": fold_div,
    "Identity": lambda n, v, at: v[0],
    "Reshape": lambda n, v, at: v[0].reshape([d if d != 0 else v[0].shape[i]
                                              for i, d in enumerate(v[1])]),
}


def constant_value(node):
    at = attrs(node)
    if "value" in at:
        return numpy_helper.to_array(at["value"])
    for key, dt in (("value_int", np.int64), ("value_ints", np.int64),
                    ("value_float", np.float32), ("value_floats", np.float32)):
        if key in at:
            return np.array(at[key], dtype=dt)
    return None


def fold_round(graph, shapes):
    """Evaluate shape-subgraph nodes whose inputs are known; returns {name: array}."""
    known = {t.name: numpy_helper.to_array(t) for t in graph.initializer
             if prod(t.dims) <= FOLD_MAX_ELEMENTS}
    folded = {}
    for node in graph.node:
        out = None
        if node.op_type == "Constant":
            value = constant_value(node)
            if value is not None and value.size <= FOLD_MAX_ELEMENTS:
                known[node.output[0]] = value
            continue
        if node.op_type == "Shape" and node.input[0] in shapes:
            at = attrs(node)
            dims = shapes[node.input[0]]
            out = np.array(dims[at.get("start", 0):at.get("end", len(dims))], dtype=np.int64)
        elif node.op_type in FOLDERS and all(not i or i in known for i in node.input):
            vals = [known[i] if i else None for i in node.input]
            try:
                out = np.asarray(FOLDERS[node.op_type](node, vals, attrs(node)))
            except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError):
                out = None
        if out is not None and out.size <= FOLD_MAX_ELEMENTS:
            known[node.output[0]] = out
            folded[node.output[0]] = out
    return folded


def infer_static_shapes(model):
    """Shapes of every value, folding shape subgraphs until inference settles."""
    work = onnx.ModelProto()
    work.CopyFrom(model)
    for _ in range(FOLD_MAX_ROUNDS):
        inferred = shape_inference.infer_shapes(work, strict_mode=True, data_prop=True)
        shapes = static_shapes(inferred)
        folded = fold_round(work.graph, shapes)
        if not folded:
            return shapes
        keep = [n for n in work.graph.node if not (n.output and n.output[0] in folded)]
        del work.graph.node[:]
        work.graph.node.extend(keep)
        for name, value in folded.items():
            work.graph.initializer.append(numpy_helper.from_array(value, name))
        del work.graph.value_info[:]
    return shapes


# Old-opset attributes that ONNX opset >= 11 takes as inputs.  tessel's IR is
# in opset-17 form, so its importer turns these attributes into constant
# inputs, and its `params` counts them (they are also initializers once the
# model is exported at opset 17).  Counted separately so the comparison stays
# exact: tessel params == params + attr_params.
def count_attr_params(graph, opset):
    n = 0
    for node in graph.node:
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Clip" and opset < 11:
            n += ("min" in attrs) + ("max" in attrs)
        elif node.op_type == "Pad" and opset < 11:
            n += len(attrs["pads"].ints) if "pads" in attrs else 0
            n += "value" in attrs
        elif node.op_type == "Slice" and opset < 10:
            for k in ("starts", "ends", "axes"):
                n += len(attrs[k].ints) if k in attrs else 0
        elif node.op_type == "Upsample" and opset < 9:
            n += len(attrs["scales"].floats) if "scales" in attrs else 0
        elif node.op_type == "TopK" and opset < 10:
            n += "k" in attrs
    return n


def count(model, binds):
    fixed = bind_inputs(model, binds)
    shapes = infer_static_shapes(fixed)
    macs = sum(node_macs(n, shapes) for n in fixed.graph.node if n.op_type in MAC_OPS)
    for o in fixed.graph.output:
        if o.name not in shapes:
            raise CountError("output %r: no static shape after shape inference" % o.name)
        tt = o.type.tensor_type
        for v in shapes[o.name]:
            tt.shape.dim.add().dim_value = v
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    result = {
        "params": count_params(g),
        "attr_params": count_attr_params(g, opset),
        "macs": macs,
        "ops": dict(sorted(collections.Counter(n.op_type for n in g.node).items())),
        "nodes": len(g.node),
        "opset": opset,
        "inputs": [describe(i) for i in real_inputs(g)],
        "outputs": [describe(o) for o in g.output],
    }
    return result, fixed


def main(argv):
    ap = argparse.ArgumentParser(description="Count params, MACs and ops of an ONNX model.")
    ap.add_argument("model")
    ap.add_argument("--bind", action="append", metavar="NAME=d0,d1,...",
                    help="static shape for input NAME (repeatable); other symbolic dims are 1")
    ap.add_argument("--write-fixed", metavar="OUT.onnx",
                    help="save a copy with the bound input and inferred output shapes")
    args = ap.parse_args(argv)
    try:
        model = onnx.load(args.model)
        result, fixed = count(model, parse_binds(args.bind))
        if args.write_fixed:
            onnx.save(fixed, args.write_fixed)
    except (CountError, OSError, onnx.onnx_cpp2py_export.shape_inference.InferenceError,
            onnx.onnx_cpp2py_export.checker.ValidationError) as e:
        print("count_onnx.py: error: %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
