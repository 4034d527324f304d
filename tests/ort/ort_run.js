#!/usr/bin/env node
// ort_run.js - run an ONNX model through ONNX Runtime (onnxruntime-node from
// the repo's node_modules) and write every output as OUTDIR/<name>.npy, with
// <name> the output name where every character outside [A-Za-z0-9._-] is
// replaced by '_'.  The inputs used are written to OUTDIR/inputs/<name>.npy.
//
// Inputs come from .npy files (--input NAME=FILE.npy) or are generated from
// a seed: uniform [-1, 1) for float inputs, integers in [0, 4) for integer
// inputs, random booleans for bool.  Symbolic dims of generated inputs are
// bound to 1 unless --dim SYMBOL=N or --shape NAME=D0,D1,... says otherwise.
// One thread and a fixed optimization level by default, so runs repeat
// exactly.
//
// Usage: node tests/ort/ort_run.js MODEL.onnx OUTDIR [--input NAME=FILE.npy]...
//          [--seed S] [--dim SYM=N]... [--shape NAME=D0,D1,...]...
//          [--threads N] [--opt disabled|basic|extended|all]
// Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.
'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

const USAGE = 'usage: node ort_run.js MODEL.onnx OUTDIR [--input NAME=FILE.npy]... [--seed S] ' +
  '[--dim SYM=N]... [--shape NAME=D0,D1,...]... [--threads N] [--opt disabled|basic|extended|all]';

function die(msg, code) {
  process.stderr.write(`ort_run: error: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = { inputs: {}, dims: {}, shapes: {}, seed: 0, threads: 1, opt: 'all', pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${s} needs a value\n${USAGE}`, 2);
      return argv[++i];
    };
    const kv = (v) => {
      const k = v.indexOf('=');
      if (k <= 0) die(`expected NAME=VALUE, got '${v}'`, 2);
      return [v.slice(0, k), v.slice(k + 1)];
    };
    if (s === '--input' || s === '-i') {
      const [k, v] = kv(val());
      a.inputs[k] = v;
    } else if (s === '--dim') {
      const [k, v] = kv(val());
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) die(`bad dim value '${v}'`, 2);
      a.dims[k] = n;
    } else if (s === '--shape') {
      const [k, v] = kv(val());
      const d = v.split(/[,x]/).map(Number);
      if (d.some((n) => !Number.isSafeInteger(n) || n < 0)) die(`bad shape '${v}'`, 2);
      a.shapes[k] = d;
    } else if (s === '--seed') {
      a.seed = Number(val());
      if (!Number.isSafeInteger(a.seed)) die('bad --seed', 2);
    } else if (s === '--threads') {
      a.threads = Number(val());
      if (!Number.isSafeInteger(a.threads) || a.threads < 1) die('bad --threads', 2);
    } else if (s === '--opt') {
      a.opt = val();
      if (!['disabled', 'basic', 'extended', 'all'].includes(a.opt)) die('bad --opt', 2);
    } else if (s === '-h' || s === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (s.startsWith('-')) {
      die(`unknown option ${s}\n${USAGE}`, 2);
    } else {
      a.pos.push(s);
    }
  }
  if (a.pos.length !== 2) die(USAGE, 2);
  return a;
}

// mulberry32: small seeded PRNG, uniform in [0, 1)
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

function makeInput(meta, args, index) {
  if (!meta.isTensor) throw new Error(`input ${meta.name} is not a tensor`);
  let dims = args.shapes[meta.name];
  if (dims) {
    if (meta.shape.length && dims.length !== meta.shape.length) {
      throw new Error(`--shape ${meta.name}: rank ${dims.length}, model says ${meta.shape.length}`);
    }
  } else {
    dims = meta.shape.map((d) => {
      if (typeof d === 'string') return d in args.dims ? args.dims[d] : 1;
      return d < 0 ? 1 : d;
    });
  }
  const Arr = ARRAYS[meta.type];
  if (!Arr) throw new Error(`input ${meta.name}: cannot generate type ${meta.type}`);
  const numel = dims.reduce((a, b) => a * b, 1);
  const data = new Arr(numel);
  const r = rng(args.seed * 7919 + index);
  for (let i = 0; i < numel; i++) {
    if (meta.type === 'float32' || meta.type === 'float64') data[i] = r() * 2 - 1;
    else if (meta.type === 'float16') data[i] = f16bits(r() * 2 - 1);
    else if (meta.type === 'int64') data[i] = BigInt(Math.floor(r() * 4));
    else if (meta.type === 'bool') data[i] = r() < 0.5 ? 1 : 0;
    else data[i] = Math.floor(r() * 4);
  }
  return { ortType: meta.type, dims, data };
}

// IEEE half bits of x (|x| < 2, round to nearest even; enough for inputs)
function f16bits(x) {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign; // flush tiny values to zero
  let h = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}

function sanitize(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const [model, outDir] = args.pos;
  const ortPath = path.join(__dirname, '..', '..', 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(ortPath)) die(`${ortPath}: not installed (run scripts/fetch_models.sh)`, 1);
  const ort = require(ortPath);
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'], intraOpNumThreads: args.threads, interOpNumThreads: 1,
      graphOptimizationLevel: args.opt, logSeverityLevel: 3,
    });
  } catch (e) {
    die(`${model}: ${String(e.message || e).split('\n')[0]}`, 1);
  }
  for (const k of Object.keys(args.inputs)) {
    if (!session.inputNames.includes(k)) die(`${model}: no input named '${k}'`, 2);
  }
  const feeds = {};
  const used = {};
  session.inputMetadata.forEach((meta, i) => {
    const file = args.inputs[meta.name];
    const t = file ? readNpy(file) : makeInput(meta, args, i);
    used[meta.name] = t;
    feeds[meta.name] = new ort.Tensor(t.ortType, t.data, t.dims);
  });
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    die(`${model}: ${String(e.message || e).split('\n')[0]}`, 1);
  }
  fs.mkdirSync(path.join(outDir, 'inputs'), { recursive: true });
  for (const [name, t] of Object.entries(used)) {
    writeNpy(path.join(outDir, 'inputs', sanitize(name) + '.npy'), t.ortType, t.dims, t.data);
  }
  for (const name of session.outputNames) {
    const t = results[name];
    writeNpy(path.join(outDir, sanitize(name) + '.npy'), t.type, Array.from(t.dims), t.data);
  }
}

main().catch((e) => die(String(e.message || e).split('\n')[0], 1));
