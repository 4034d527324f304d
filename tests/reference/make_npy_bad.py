#!/usr/bin/python3
"""make_npy_bad.py - regenerates the malformed .npy corpus in npy_bad/ and
its expected.txt (one line per file: "<file>|<substring of the one-line
error>").  Run with /usr/bin/python3 from this folder; plain Python, no numpy."""
import os
import struct

def npy(header, data=b"", version=(1, 0), magic=b"\x93NUMPY", pad=True):
    h = header.encode()
    if pad:
        pre = 10 if version[0] == 1 else 12
        total = (pre + len(h) + 1 + 63) // 64 * 64
        h = h + b" " * (total - pre - len(h) - 1) + b"\n"
    if version[0] == 1:
        ln = struct.pack("<H", len(h))
    else:
        ln = struct.pack("<I", len(h))
    return magic + bytes(version) + ln + h + data

F4_10 = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }"
cases = {
    "bad_magic.npy": (npy(F4_10, b"\0" * 40, magic=b"\x93NUMPX"), "bad magic"),
    "empty.npy": (b"", "bad magic"),
    "fortran.npy": (npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", b"\0" * 16),
                    "fortran_order True is not supported"),
    "truncated_data.npy": (npy(F4_10, b"\0" * 20), "truncated data: shape needs 40 bytes, file has 20"),
    "truncated_header.npy": (npy(F4_10)[:40], "truncated header"),
    "big_endian.npy": (npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4),
                       "big-endian dtype '>f4' is not supported"),
    "unknown_dtype.npy": (npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8),
                          "unsupported dtype '<c8'"),
    "negative_dim.npy": (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"),
                         "shape entries must be non-negative integers"),
    "missing_shape.npy": (npy("{'descr': '<f4', 'fortran_order': False, }"), "missing"),
    "unknown_key.npy": (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'foo': 1, }", b"\0" * 4),
                        "unknown key 'foo'"),
    "duplicate_key.npy": (npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (), }"),
                          "duplicate 'descr'"),
    "bad_version.npy": (npy(F4_10, b"\0" * 40, version=(4, 0)), "unsupported .npy version 4.0"),
    "trailing_bytes.npy": (npy(F4_10, b"\0" * 44), "4 trailing bytes after the data"),
    "huge_shape.npy": (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
                       "shape is too large"),
    "no_newline.npy": (npy(F4_10 + "  ", b"\0" * 40, pad=False), "header must end with a newline"),
    "bad_bool.npy": (npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", b"\x02\x00"),
                     "bool element 0 is 2"),
    "one_tuple.npy": (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", b"\0" * 12),
                      "1-tuple shape needs a trailing ','"),
    "not_a_dict.npy": (npy("['descr', '<f4']", b""), "expected '{'"),
}
os.makedirs("npy_bad", exist_ok=True)
with open("npy_bad/expected.txt", "w") as f:
    for name, (data, msg) in sorted(cases.items()):
        with open(os.path.join("npy_bad", name), "wb") as g:
            g.write(data)
        f.write(f"{name}|{msg}\n")
