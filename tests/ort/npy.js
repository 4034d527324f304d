// npy.js - a small reader/writer for numpy .npy files (format versions 1, 2
// and 3; little-endian or byte-free dtypes f4, f8, f2, i8, i4, i1, u1, b1), for
// the ONNX Runtime test drivers.  Not a general numpy parser: Fortran order,
// big-endian data and structured dtypes are rejected with an Error.
'use strict';

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// descr (without byte-order char) -> ORT tensor type and typed array
const DTYPES = {
  f4: { ort: 'float32', array: Float32Array, size: 4 },
  f8: { ort: 'float64', array: Float64Array, size: 8 },
  f2: { ort: 'float16', array: Uint16Array, size: 2 }, // raw IEEE half bits
  i8: { ort: 'int64', array: BigInt64Array, size: 8 },
  i4: { ort: 'int32', array: Int32Array, size: 4 },
  i1: { ort: 'int8', array: Int8Array, size: 1 },
  u1: { ort: 'uint8', array: Uint8Array, size: 1 },
  b1: { ort: 'bool', array: Uint8Array, size: 1 },
};
const BY_ORT = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v.ort, k]));

function parseHeader(text, file) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order .npy not supported`);
  let d = descr[1];
  const order = d[0];
  if (order === '>') throw new Error(`${file}: big-endian .npy not supported`);
  if (order === '<' || order === '|' || order === '=') d = d.slice(1);
  if (d === '?') d = 'b1';
  if (d === 'b') d = 'i1';
  if (d === 'B') d = 'u1';
  if (!DTYPES[d]) throw new Error(`${file}: unsupported .npy dtype '${descr[1]}'`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${file}: bad dim '${s}'`);
      return n;
    });
  return { dtype: d, dims };
}

// Read a .npy file -> { ortType, dims, data (typed array) }.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  let hlen;
  let off;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    off = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${file}: truncated .npy header`);
    hlen = buf.readUInt32LE(8);
    off = 12;
  } else {
    throw new Error(`${file}: unsupported .npy version ${major}`);
  }
  if (off + hlen > buf.length) throw new Error(`${file}: truncated .npy header`);
  const { dtype, dims } = parseHeader(buf.toString('latin1', off, off + hlen), file);
  const info = DTYPES[dtype];
  const numel = dims.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  if (buf.length - start !== numel * info.size) {
    throw new Error(`${file}: payload is ${buf.length - start} bytes, expected ${numel * info.size}`);
  }
  const bytes = new Uint8Array(numel * info.size);
  bytes.set(buf.subarray(start)); // copy: aligned for the typed array
  const data = new info.array(bytes.buffer, 0, numel);
  return { ortType: info.ort, dims, data };
}

// Write `data` (typed array) of ORT type `ortType` and shape `dims` as .npy
// (version 1, or 2 if the header does not fit).
function writeNpy(file, ortType, dims, data) {
  const d = BY_ORT[ortType];
  if (!d) throw new Error(`${file}: cannot write tensor type '${ortType}' as .npy`);
  const descr = d === 'b1' ? '|b1' : (DTYPES[d].size === 1 ? '|' : '<') + d;
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let major = 1;
  let pre = 10;
  if (header.length + 1 + pre > 65535) {
    major = 2;
    pre = 12;
  }
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  MAGIC.copy(head, 0);
  head[6] = major;
  head[7] = 0;
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

module.exports = { readNpy, writeNpy, DTYPES };
