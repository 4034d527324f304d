#!/usr/bin/python3
"""gen_onnx_node_tests.py - generate ONNX's backend node tests for the
conformance harness (tests/conformance).

Usage: /usr/bin/python3 scripts/gen_onnx_node_tests.py OUTDIR

Does the equivalent of `python3 -m onnx.backend.test.cmd_tools generate-data
-o OUTDIR` with the onnx package Debian ships (python3-onnx 1.12).  That onnx
still uses numpy aliases (np.float, np.int, np.bool, np.object, np.complex,
np.str) that numpy 1.24 removed, so they are restored in this process before
onnx is imported.  Nothing on disk is patched.

Output: OUTDIR/node/<test_name>/{model.onnx, test_data_set_N/{input_i.pb,
output_i.pb}} (plus OUTDIR/real/*/data.json, which onnx writes for its
downloadable model tests; the harness ignores them) and OUTDIR/VERSION with
the onnx version.  Generation happens in a temporary sibling folder that is
renamed into place, so an interrupted run never leaves a half-written OUTDIR.
Idempotent: if OUTDIR/VERSION already names the installed onnx version, the
script does nothing.

It does not run any test, and the generated data is never committed.

Exit status: 0 on success (or nothing to do), 77 if this Python has no usable
onnx (ctest treats 77 as "skipped"), 1 on any other failure, 2 on bad usage.
"""

import argparse
import os
import shutil
import sys
import tempfile

SKIP = 77


def restore_numpy_aliases():
    """Put back the numpy aliases onnx 1.12 still uses (removed in numpy 1.24)."""
    import numpy as np

    aliases = {
        "float": float,
        "int": int,
        "bool": bool,
        "object": object,
        "complex": complex,
        "str": str,
    }
    for name, value in aliases.items():
        # Look in the module dict, not getattr: numpy's module __getattr__
        # warns or raises for these names.  Older numpy still has them.
        if name not in vars(np):
            setattr(np, name, value)


def main():
    parser = argparse.ArgumentParser(
        description="Generate ONNX backend node tests into OUTDIR.")
    parser.add_argument("outdir", help="output folder (created; e.g. build/onnx-node-tests)")
    args = parser.parse_args()

    try:
        restore_numpy_aliases()
        import onnx
        from onnx.backend.test import cmd_tools
    except ImportError as e:
        print(f"gen_onnx_node_tests: skipped: {sys.executable} cannot import onnx: {e}",
              file=sys.stderr)
        return SKIP

    version = onnx.__version__
    outdir = os.path.abspath(args.outdir)
    stamp = os.path.join(outdir, "VERSION")
    try:
        with open(stamp, encoding="utf-8") as f:
            if f.read().strip() == version and os.path.isdir(os.path.join(outdir, "node")):
                print(f"gen_onnx_node_tests: {outdir} is up to date (onnx {version})")
                return 0
    except OSError:
        pass

    parent = os.path.dirname(outdir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(outdir) + ".tmp-", dir=parent)
    try:
        cmd_tools.generate_data(argparse.Namespace(output=tmp, op_type=None))
        n = len(os.listdir(os.path.join(tmp, "node")))
        if n == 0:
            raise RuntimeError("onnx generated no node tests")
        with open(os.path.join(tmp, "VERSION"), "w", encoding="utf-8") as f:
            f.write(version + "\n")
        if os.path.lexists(outdir):
            shutil.rmtree(outdir)
        os.rename(tmp, outdir)
    except Exception as e:  # report any generator failure as one line, exit 1
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"gen_onnx_node_tests: error: {outdir}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"gen_onnx_node_tests: wrote {n} node tests to {outdir} (onnx {version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
