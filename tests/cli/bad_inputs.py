#!/usr/bin/python3
"""bad_inputs.py - `tessel` on bad command lines and bad model files.

A table of cases, each: arguments, expected exit status and the expected
stderr line (regex, full match).  Every failing run must print nothing on
stdout and exactly one line on stderr; usage errors (exit 2) print that line
plus the command's usage line.  Runs that must write no file are checked for
that too (no output, no temporary file left).

Besides the fixed table, every case of the malformed-model corpus
tests/onnx_bad/<case>.expected (a line "STATUS|where-substring|message-
substring", see tests/onnx_bad/test_onnx_bad.c) is run as
`tessel inspect <case>.onnx` from inside tests/onnx_bad (the model may be
missing on purpose) and must exit 1 with one line
`tessel: error: <where>: <message>` containing both substrings.

Exit status: 0 all cases pass, 1 otherwise.
"""
import argparse
import glob
import os
import random
import re
import subprocess
import sys
import tempfile

USAGE = "usage: tessel inspect MODEL.onnx [--json] [--dot FILE.dot]"
ERR = r"tessel: error: "


def make_fixtures(d, example):
    """Files the table refers to, created in the scratch directory d."""
    open(os.path.join(d, "empty.onnx"), "wb").close()
    rng = random.Random(1234)
    with open(os.path.join(d, "random.onnx"), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(4096)))
    os.mkdir(os.path.join(d, "adir.onnx"))
    with open(example, "rb") as f:
        data = f.read()
    with open(os.path.join(d, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    os.mkdir(os.path.join(d, "out"))


def cases(d, example):
    """(name, argv after 'tessel', exit code, stderr regex, files that must not exist)."""
    p = lambda *parts: os.path.join(d, *parts)
    q = re.escape
    return [
        ("missing file", ["inspect", p("missing.onnx")], 1,
         ERR + q(p("missing.onnx")) + r": .+", []),
        ("empty file", ["inspect", p("empty.onnx")], 1, ERR + q(p("empty.onnx")) + r": .+", []),
        ("random bytes", ["inspect", p("random.onnx")], 1,
         ERR + q(p("random.onnx")) + r": .+", []),
        ("a directory", ["inspect", p("adir.onnx")], 1, ERR + q(p("adir.onnx")) + r": .+", []),
        ("truncated model", ["inspect", p("truncated.onnx")], 1,
         ERR + q(p("truncated.onnx")) + r": .+", []),
        ("no arguments", ["inspect"], 2, ERR + r"inspect: missing MODEL\.onnx", []),
        ("unknown flag", ["inspect", example, "--frobnicate"], 2,
         ERR + r"inspect: unknown option '--frobnicate'", []),
        ("unknown short flag", ["inspect", example, "-x"], 2,
         ERR + r"inspect: unknown option '-x'", []),
        ("--dot without value", ["inspect", example, "--dot"], 2,
         ERR + r"inspect: option '--dot' needs a value", []),
        ("--json with a value", ["inspect", example, "--json=yes"], 2,
         ERR + r"inspect: option '--json' takes no value", []),
        ("--dot twice", ["inspect", example, "--dot", p("out", "a.dot"), "--dot=" + p("out", "b.dot")],
         2, ERR + r"inspect: option '--dot' given more than once", [p("out", "a.dot"), p("out", "b.dot")]),
        ("two models", ["inspect", example, example], 2,
         ERR + r"inspect: unexpected argument '.*'", []),
        ("--dot into a missing directory", ["inspect", example, "--dot", p("nodir", "g.dot")], 1,
         ERR + q(p("nodir", "g.dot")) + r": .+", [p("nodir")]),
        ("--dot onto a directory", ["inspect", example, "--dot", p("out")], 1,
         ERR + q(p("out")) + r": .+", []),
        ("--dot with a bad model", ["inspect", p("truncated.onnx"), "--dot", p("out", "t.dot")], 1,
         ERR + q(p("truncated.onnx")) + r": .+", [p("out", "t.dot")]),
        ("unknown command", ["frobnicate"], 2, ERR + r"unknown command 'frobnicate'.*", []),
    ]


def check_run(tessel, name, argv, want_code, want_line, absent, cwd=None):
    """Returns a list of problems (empty if the case passes)."""
    r = subprocess.run([tessel] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, cwd=cwd)
    problems = []
    if r.returncode != want_code:
        problems.append("exit %d, want %d" % (r.returncode, want_code))
    if r.stdout:
        problems.append("stdout not empty: %r" % r.stdout[:200])
    lines = r.stderr.splitlines()
    want_lines = 2 if want_code == 2 and argv[:1] == ["inspect"] else 1
    if len(lines) != want_lines or not r.stderr.endswith("\n"):
        problems.append("want %d stderr line(s), got %r" % (want_lines, r.stderr[:2000]))
    if lines and not want_line(lines[0]):
        problems.append("stderr line %r does not match" % lines[0])
    if want_lines == 2 and len(lines) > 1 and lines[1] != USAGE:
        problems.append("second line %r is not the usage line" % lines[1])
    for path in absent:
        if os.path.exists(path):
            problems.append("%s exists" % path)
    return problems


def corpus_line_matches(line, want_where, want_msg):
    """`tessel: error: <where>: <what>` with want_where in <where> and want_msg
    in <what> (the importer's own test checks the status; exit 1 covers it)."""
    if not line.startswith(ERR):
        return False
    rest = line[len(ERR):]
    splits = [m.start() for m in re.finditer(": ", rest)]
    return any(want_where in rest[:i] and want_msg in rest[i + 2:] for i in splits)


def check_no_temp_files(d):
    left = [os.path.relpath(os.path.join(root, f), d)
            for root, _, files in os.walk(d) for f in files if ".tmp" in f]
    return ["temporary files left: %s" % left] if left else []


def check_help(tessel):
    problems = []
    r = subprocess.run([tessel, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if r.returncode != 0 or r.stderr or not re.search(r"^\s+inspect\s", r.stdout, re.M):
        problems.append("tessel --help: exit %d, stdout %r, stderr %r"
                        % (r.returncode, r.stdout[:300], r.stderr[:300]))
    r = subprocess.run([tessel, "inspect", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if (r.returncode != 0 or r.stderr or not r.stdout.startswith(USAGE + "\n")
            or "--json" not in r.stdout or "--dot" not in r.stdout):
        problems.append("tessel inspect --help: exit %d, stdout %r, stderr %r"
                        % (r.returncode, r.stdout[:300], r.stderr[:300]))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessel", required=True)
    ap.add_argument("--example", required=True, help="a valid model (examples/tiny_cnn.onnx)")
    ap.add_argument("--bad-dir", required=True, help="tests/onnx_bad")
    args = ap.parse_args()
    tessel = os.path.abspath(args.tessel)
    failures = 0

    def report(name, problems):
        nonlocal failures
        if problems:
            failures += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            print("ok   %s" % name)

    report("help", check_help(tessel))
    with tempfile.TemporaryDirectory(prefix="tessel_bad_") as d:
        make_fixtures(d, args.example)
        for name, argv, code, regex, absent in cases(d, args.example):
            rx = re.compile(regex)
            problems = check_run(tessel, name, argv, code, lambda line: bool(rx.fullmatch(line)),
                                 absent)
            report(name, problems + check_no_temp_files(d))

    bad = sorted(glob.glob(os.path.join(args.bad_dir, "*.expected")))
    for exp_path in bad:
        case = os.path.basename(exp_path)[: -len(".expected")] + ".onnx"
        with open(exp_path) as f:
            fields = f.readline().rstrip("\n").split("|", 2)
        if len(fields) != 3:
            report("onnx_bad/" + case, ["%s is not STATUS|where|message" % exp_path])
            continue
        problems = check_run(tessel, case, ["inspect", case], 1,
                             lambda line, w=fields[1], m=fields[2]: corpus_line_matches(line, w, m),
                             [], cwd=args.bad_dir)
        report("onnx_bad/" + case, problems)
    print("%d bad-model corpus case(s) run" % len(bad))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
