#!/usr/bin/python3
"""summarize.py - turns run.sh's results.jsonl into results.json, a Markdown
table (results.md, also printed) and curves.png (metric vs achieved
compression rate, one panel per task, one line per method).  No
compression or evaluation here."""
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRIC = {"digits": "accuracy", "cls": "accuracy", "rec": "cer"}


def main(res, out):
    rows = [json.loads(l) for l in open(res) if l.strip()]
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = ["| task | method | target | achieved rate | metric |", "|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['task']} | {r['method']} | {r['target']} | - | {r['error']} |")
            continue
        m = r["metrics"]
        if r["task"] == "rec":
            val = f"CER {m['cer']:.2f}%, line acc {m['line_accuracy']:.1f}%"
        else:
            val = f"accuracy {m['accuracy']:.2f}%"
        lines.append(f"| {r['task']} | {r['method']} | {r['target']} | "
                     f"{r['compression_rate']:.2f}x | {val} |")
    md = "\n".join(lines) + "\n"
    open(os.path.join(out, "results.md"), "w").write(md)
    print(md)
    tasks = sorted({r["task"] for r in rows})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, t in zip(axes[0], tasks):
        key = METRIC[t]
        base = [r for r in rows if r["task"] == t and r["method"] == "fp32"]
        meths = ["opq", "opq+calib", "opq+packed", "opq+calib+packed", "codebook", "prune"]
        meths += sorted({r["method"] for r in rows if r["task"] == t} - set(meths) - {"fp32"})
        for meth in meths:
            pts = sorted((r["compression_rate"], r["metrics"][key]) for r in rows
                         if r["task"] == t and r["method"] == meth and "error" not in r)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=meth)
        if base:
            ax.axhline(base[0]["metrics"][key], color="k", ls="--", label="fp32")
        ax.set_xlabel("compression rate vs fp32 (all stored bits)")
        ax.set_ylabel(key + " (%)")
        ax.set_title(t)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
