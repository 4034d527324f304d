#!/usr/bin/python3
"""layer_compare.py - where tessel's CPU backend loses time to ONNX Runtime, layer by layer.

For each model: runs `tessel run MODEL --backend cpu --profile --profile-all
--repeat R` (per-step times from the generated code's cycle counters) and
bench/ort_profile.js (ORT's node profiler, CPU provider, intraOpNumThreads
= threads, graphOptimizationLevel all), then matches the two on the ONNX
graph: a tessel step covers its node plus the fused chain after it (the ops
column, e.g. Conv+Add+Relu, followed through the unique consumer of each
output), and an ORT node names either an ONNX node or, for the nodes its
optimizer creates, the value it produces (the "_nchwc" suffix dropped).  An
ORT node is charged to the tessel step whose chain holds the ONNX node it
names; ORT nodes that map to no step (ReorderInput/ReorderOutput layout
conversions) and steps with no ORT node get rows of their own.  Prints one
Markdown table per model, sorted by absolute gap (tessel ms - ORT ms), with
both totals.

The engines alternate (--rounds, each layer's fastest round kept) but do not
interleave run by run, and each profiler adds its own overhead (both leave
their warm-up runs out): read the
per-layer ratios as where to look, and use bench/run_cpu_vs_ort.py for the
end-to-end ratio.  --gap-ms 200 sleeps before every run of both engines,
the harness's regime (each run starts with whatever the other processes
left in the caches); 0 (default) times them back to back.  Not part of ctest.

Usage: /usr/bin/python3 bench/layer_compare.py [--build DIR] [--models resnet18,squeezenet1_1]
           [--repeat 20] [--rounds 2] [--gap-ms 0] [--threads 1] [--top N] [--json FILE]
Not here: the engines (tools/tessel, bench/ort_profile.js).
"""
import argparse
import json
import os
import re
import subprocess
import sys

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW = re.compile(r'^\s*([0-9.]+)\s+[0-9.]+\s+[0-9.]+\s+(\S+)\s+(\S+)\s+(.*) \((\S+)\)$')


def tessel_steps(build, model, inp, repeat, threads, gap_ms):
    """[(ms, gflops or None, ops, node name, kernel)] of every step."""
    tessel = os.path.join(build, 'tessel')
    r = subprocess.run([tessel, 'run', model, '-i', inp, '--backend', 'cpu', '--threads',
                        str(threads), '--repeat', str(repeat), '--profile', '--profile-all',
                        *(['--gap-ms', str(gap_ms)] if gap_ms > 0 else []),
                        '-o', os.path.join(build, 'layer_compare_out')],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f'layer_compare: error: {model}: tessel failed: {r.stderr.strip()}')
    steps = []
    for line in r.stderr.splitlines():
        if 'by ops' in line:
            break
        m = ROW.match(line)
        if m:
            gf = None if m.group(2) == '-' else float(m.group(2))
            steps.append((float(m.group(1)), gf, m.group(3), m.group(4).strip(), m.group(5)))
    return steps


def ort_nodes(model, inp, repeat, threads, gap_ms):
    r = subprocess.run(['node', os.path.join(ROOT, 'bench', 'ort_profile.js'), model, inp,
                        '--threads', str(threads), '--repeat', str(repeat),
                        '--gap-ms', str(gap_ms)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f'layer_compare: error: {model}: ort_profile failed: {r.stderr.strip()}')
    return json.loads(r.stdout.strip().splitlines()[-1])


class Graph:
    def __init__(self, path):
        g = onnx.load(path, load_external_data=False).graph
        self.by_name = {}
        self.producer = {}
        self.consumers = {}
        for i, n in enumerate(g.node):
            key = n.name or f'{n.op_type}#{i}'
            self.by_name[key] = n
            for o in n.output:
                self.producer[o] = key
            for x in n.input:
                self.consumers.setdefault(x, []).append(key)

    def chain(self, name, ops):
        """ONNX node names covered by a step starting at `name` with fused ops."""
        if name not in self.by_name:
            return [name]
        covered = [name]
        cur = self.by_name[name]
        for op in ops.split('+')[1:]:
            nxt = [c for o in cur.output for c in self.consumers.get(o, [])
                   if self.by_name[c].op_type == op and c not in covered]
            if len(nxt) != 1:
                break
            covered.append(nxt[0])
            cur = self.by_name[nxt[0]]
        return covered

    def anchor(self, ort_name):
        """The ONNX node an ORT node name refers to, or None."""
        if ort_name in self.by_name:
            return ort_name
        base = ort_name[:-len('_nchwc')] if ort_name.endswith('_nchwc') else ort_name
        if base in self.producer:
            return self.producer[base]
        if base in self.by_name:
            return base
        return None


def shape_str(node):
    outs = node.get('out_shapes') or []
    ins = node.get('in_shapes') or []
    s = 'x'.join(str(d) for d in outs[0][1:]) if outs and outs[0] else ''
    if node.get('op') == 'Conv' and len(ins) > 1 and len(ins[1]) == 4:
        w = ins[1]
        s = f'{w[2]}x{w[3]} {ins[0][1]}->{w[0]} @{s}'
    return s


def compare(args, name):
    model = os.path.join(ROOT, 'models', f'{name}.onnx')
    inp = os.path.join(ROOT, 'models', f'{name}.input.npy')
    graph = Graph(model)
    # --rounds: the engines alternate, and each step / node keeps its fastest
    # round (a shared machine slows whole windows down)
    steps, ort = None, None
    for _ in range(args.rounds):
        s = tessel_steps(args.build, model, inp, args.repeat, args.threads, args.gap_ms)
        o = ort_nodes(model, inp, args.repeat, args.threads, args.gap_ms)
        if steps is None:
            steps, ort = s, o
            continue
        best = {(x[3], x[4]): x for x in steps}
        steps = [min(x, best.get((x[3], x[4]), x), key=lambda y: y[0]) for x in s]
        prev = {n['name']: n for n in ort['nodes']}
        for n in o['nodes']:
            if n['name'] in prev:
                n['us'] = min(n['us'], prev[n['name']]['us'])
        o['model_run_us'] = min(o['model_run_us'], ort['model_run_us'])
        ort = o
    rows = []
    owner = {}
    for i, (ms, gf, ops, node, kernel) in enumerate(steps):
        rows.append({'tessel': node, 'ops': ops, 'ms': ms, 'gflops': gf, 'ort': [],
                     'ort_ms': 0.0, 'shape': ''})
        for c in graph.chain(node, ops):
            owner[c] = i
    extra = {}
    for n in ort['nodes']:
        a = graph.anchor(n['name'])
        if a is not None and a in owner:
            r = rows[owner[a]]
            r['ort'].append(n['op'])
            r['ort_ms'] += n['us'] / 1e3
            if not r['shape']:
                r['shape'] = shape_str(n)
        else:
            key = re.sub(r'_\d+$', '', n['name']) if a is None else n['name']
            e = extra.setdefault(key, {'tessel': '-', 'ops': '-', 'ms': 0.0, 'gflops': None,
                                       'ort': [], 'ort_ms': 0.0, 'shape': '', 'count': 0})
            e['ort'].append(n['op'])
            e['ort_ms'] += n['us'] / 1e3
            e['count'] += 1
    for k, e in extra.items():
        e['tessel'] = f'(ORT only) {k}' + (f' x{e["count"]}' if e['count'] > 1 else '')
        rows.append(e)
    rows.sort(key=lambda r: r['ms'] - r['ort_ms'], reverse=True)
    t_sum = sum(r['ms'] for r in rows)
    o_sum = sum(r['ort_ms'] for r in rows)
    print(f'\n### {name} ({args.threads} thread(s), {args.repeat} runs each, '
          f'best of {args.rounds} alternating rounds, gap {args.gap_ms} ms)\n')
    print(f'tessel steps {t_sum:.3f} ms, ORT nodes {o_sum:.3f} ms '
          f'(ORT model_run {ort["model_run_us"] / 1e3:.3f} ms), ratio {t_sum / o_sum:.2f}\n')
    print('| tessel step | ops | shape (k, in->out @ out) | tessel ms | ORT ms | ratio | gap ms '
          '| GFLOP/s | ORT ops |')
    print('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |')
    for r in rows[:args.top] if args.top else rows:
        ratio = f'{r["ms"] / r["ort_ms"]:.2f}' if r['ort_ms'] > 0 else '-'
        gf = f'{r["gflops"]:.1f}' if r['gflops'] else '-'
        print(f'| {r["tessel"]} | {r["ops"]} | {r["shape"]} | {r["ms"]:.3f} | '
              f'{r["ort_ms"]:.3f} | {ratio} | {r["ms"] - r["ort_ms"]:+.3f} | {gf} | '
              f'{"+".join(r["ort"]) or "-"} |')
    return {'model': name, 'tessel_ms': t_sum, 'ort_ms': o_sum, 'rows': rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-release'))
    ap.add_argument('--models', default='resnet18,squeezenet1_1')
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=2,
                    help='alternate the engines this many times; fastest round per layer')
    ap.add_argument('--gap-ms', type=int, default=0,
                    help='sleep before every run of both engines (cold caches, as '
                         'run_cpu_vs_ort.py); 0: back to back')
    ap.add_argument('--top', type=int, default=0, help='rows per model (0: all)')
    ap.add_argument('--json', default=None)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.build, 'tessel')):
        sys.exit(f'layer_compare: error: {args.build}: no tessel binary (build it first)')
    out = [compare(args, m) for m in args.models.split(',') if m]
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
