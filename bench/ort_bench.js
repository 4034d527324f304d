#!/usr/bin/env node
// ort_bench.js - ONNX Runtime (onnxruntime-node, CPU provider) side of the
// benchmark in bench/run_cpu_vs_ort.py; speaks the same line protocol as
// bench/tessel_bench.c so the harness can interleave the two engines:
//
//     ready                      printed once the session is created
//     run N     -> "ms t1 ... tN" wall time of each session.run
//     quit      -> one JSON line (session_s, peak_rss_kb), then exit
//
// Usage: node bench/ort_bench.js MODEL.onnx INPUT.npy [--threads N] [--out OUT.npy]
// intraOpNumThreads = N, interOpNumThreads = 1, graphOptimizationLevel 'all',
// sequential execution.  Not here: tessel (bench/tessel_bench.c).
'use strict';

const path = require('path');
const readline = require('readline');
const { readNpy, writeNpy } = require(path.join(__dirname, '..', 'tests', 'ort', 'npy'));
const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));

function die(msg) {
  process.stderr.write(`ort_bench: error: ${msg}\n`);
  process.exit(1);
}

async function main() {
  const argv = process.argv.slice(2);
  const pos = [];
  let threads = 1;
  let out = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') threads = Number(argv[++i]);
    else if (argv[i] === '--out') out = argv[++i];
    else pos.push(argv[i]);
  }
  if (pos.length !== 2 || !Number.isSafeInteger(threads) || threads < 1) {
    die('usage: node ort_bench.js MODEL.onnx INPUT.npy [--threads N] [--out OUT.npy]');
  }
  const x = readNpy(pos[1]);
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(pos[0], {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3,
  });
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor(x.ortType, x.data, x.dims);
  const first = await session.run(feeds);
  const sessionS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (out) {
    const o = first[session.outputNames[0]];
    writeNpy(out, o.type, o.dims, o.data);
  }
  process.stdout.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const m = /^run (\d+)/.exec(line);
    if (m) {
      const times = [];
      for (let r = 0; r < Number(m[1]); r++) {
        const ts = process.hrtime.bigint();
        await session.run(feeds);
        times.push((Number(process.hrtime.bigint() - ts) / 1e6).toFixed(4));
      }
      process.stdout.write(`ms ${times.join(' ')}\n`);
    } else if (line.startsWith('quit')) {
      break;
    }
  }
  const rss = process.resourceUsage().maxRSS; // kilobytes
  process.stdout.write(JSON.stringify({ session_s: sessionS, peak_rss_kb: rss }) + '\n');
  process.exit(0);
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
