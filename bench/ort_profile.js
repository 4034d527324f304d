#!/usr/bin/env node
// ort_profile.js - per-node timings of ONNX Runtime (onnxruntime-node, CPU
// provider) for bench/layer_compare.py: creates one session with node
// profiling on (intraOpNumThreads = N, graphOptimizationLevel 'all'), runs
// the model WARMUP + REPEAT times, ends profiling and prints one JSON line
// {"runs", "model_run_us", "nodes": [{"name", "op", "in_shapes", "out_shapes",
// "us"}]}, where "us" is the node's mean kernel time over the timed runs
// (the warm-up runs are dropped) and the names are the optimized graph's
// (ORT names a node it creates, e.g. a fused NCHWc Conv, after its output
// value plus "_nchwc"; layout nodes are ReorderInput/ReorderOutput).
// --gap-ms MS sleeps before every run (cold caches, as the harness's runs).
// Usage: node bench/ort_profile.js MODEL.onnx INPUT.npy [--threads N] [--repeat R] [--warmup W]
//            [--gap-ms MS]
// Not here: the matching to tessel steps and the table (layer_compare.py).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { readNpy } = require(path.join(__dirname, '..', 'tests', 'ort', 'npy'));
const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));

function die(msg) {
  process.stderr.write(`ort_profile: error: ${msg}\n`);
  process.exit(1);
}

async function main() {
  const argv = process.argv.slice(2);
  const pos = [];
  let threads = 1;
  let repeat = 20;
  let warmup = 3;
  let gapMs = 0;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') threads = Number(argv[++i]);
    else if (argv[i] === '--repeat') repeat = Number(argv[++i]);
    else if (argv[i] === '--warmup') warmup = Number(argv[++i]);
    else if (argv[i] === '--gap-ms') gapMs = Number(argv[++i]);
    else pos.push(argv[i]);
  }
  if (pos.length !== 2 || !(threads >= 1) || !(repeat >= 1) || !(warmup >= 0) || !(gapMs >= 0)) {
    die('usage: node ort_profile.js MODEL.onnx INPUT.npy [--threads N] [--repeat R] [--warmup W] '
        + '[--gap-ms MS]');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_profile-'));
  const x = readNpy(pos[1]);
  const session = await ort.InferenceSession.create(pos[0], {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3,
    enableProfiling: true, profileFilePrefix: path.join(dir, 'prof'),
  });
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor(x.ortType, x.data, x.dims);
  for (let r = 0; r < warmup + repeat; r++) {
    if (gapMs > 0) await new Promise((res) => setTimeout(res, gapMs));
    await session.run(feeds);
  }
  session.endProfiling();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) die(`expected one profile file in ${dir}, found ${files.length}`);
  const trace = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  // Node events are "<node name>_kernel_time" (plus _fence_before/after);
  // model_run events separate the runs.
  const runs = trace.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  if (runs.length < warmup + repeat) die(`trace has ${runs.length} model_run events`);
  const t0 = runs[warmup].ts;
  const byName = new Map();
  for (const e of trace) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < t0) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    let n = byName.get(name);
    if (!n) {
      const a = e.args || {};
      const shapes = (l) => (l || []).map((t) => Object.values(t)[0]);
      n = { name, op: a.op_name || '', in_shapes: shapes(a.input_type_shape),
            out_shapes: shapes(a.output_type_shape), us: 0, order: byName.size };
      byName.set(name, n);
    }
    n.us += e.dur;
  }
  const nodes = [...byName.values()].sort((a, b) => a.order - b.order)
    .map((n) => ({ name: n.name, op: n.op, in_shapes: n.in_shapes, out_shapes: n.out_shapes,
                   us: n.us / repeat }));
  const total = runs.slice(warmup).reduce((s, e) => s + e.dur, 0) / repeat;
  process.stdout.write(JSON.stringify({ runs: repeat, model_run_us: total, nodes }) + '\n');
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
