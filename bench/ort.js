#!/usr/bin/env node
// ort.js times an ONNX model on ONNX Runtime's CPU execution provider (onnxruntime-node, pinned in
// package.json) the way `inception bench` times inception, and checks parity of the logits.
//
//   node bench/ort.js --model v3.onnx --batch 1 --threads 2 --iters 10 [--warmup 1]
//                     [--input in.bin] [--size 299] [--check logits.bin] [--tol 1e-3] [--spin 1]
//                     [--profile nodes.tsv]
//
// The session uses intraOpNumThreads = --threads, interOpNumThreads = 1, graphOptimizationLevel 'all'
// and the sequential execution mode; --spin 0 sets session.intra_op.allow_spinning to 0. The input is the first --batch images of --input (raw little-endian
// float32, NCHW [n,3,size,size]; size is inferred from the model or the file) or, without --input, a
// deterministic pattern in [-1,1). After --warmup untimed runs it times --iters runs of session.run and
// prints one JSON object: {ms_per_batch (median), ms_per_image, runs (ms), batch, threads, size, ort}.
//
// --check FILE compares the "logits" output of the first run with FILE (raw float32 [n,classes], the
// first --batch rows are used) and adds max_abs_diff, parity_tol and parity_ok; a mismatch above --tol
// exits 1. When FILE does not exist, the logits are written to it instead.
//
// --profile FILE turns on ONNX Runtime's profiler for the timed runs and writes, per graph node in
// execution order, its name, op type and median kernel time in ms (tab-separated): where ORT spends its
// time, layer by layer (`go run ./bench/cmd/layerprof -ort FILE` puts it beside inception's layers).
// The profiler adds about 5 % to ms_per_batch.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const o = { batch: 1, threads: 1, iters: 10, warmup: 1, tol: 1e-3, size: 0, spin: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) throw new Error(`bad argument ${k}`);
    const key = k.slice(2);
    if (['model', 'input', 'check', 'profile'].includes(key)) o[key] = v;
    else if (['batch', 'threads', 'iters', 'warmup', 'size', 'tol', 'spin'].includes(key)) o[key] = Number(v);
    else throw new Error(`unknown flag ${k}`);
    i++;
  }
  if (!o.model) throw new Error('--model is required');
  if (!(o.batch >= 1 && o.threads >= 1 && o.iters >= 0 && o.warmup >= 0)) {
    throw new Error('--batch and --threads must be at least 1, --iters and --warmup not negative');
  }
  return o;
}

function readFloats(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length - (b.length % 4)));
}

// modelSize returns the fixed spatial size of the model's input, or 0 when this onnxruntime-node does not
// expose input metadata.
function modelSize(session) {
  const md = session.inputMetadata && session.inputMetadata[0];
  const shape = md && md.shape;
  return shape && typeof shape[3] === 'number' ? shape[3] : 0;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // ORT's worker threads spin while waiting for work (its default, --spin 1); on a machine busy with
    // other processes that costs more than it saves, and --spin 0 turns it off.
    extra: { session: { intra_op: { allow_spinning: String(o.spin) } } },
    enableProfiling: Boolean(o.profile),
    ...(o.profile ? { profileFilePrefix: require('path').join(require('os').tmpdir(), `ort-profile-${process.pid}`) } : {}),
  });
  let size = o.size || modelSize(session);
  let data;
  if (o.input) {
    const all = readFloats(o.input);
    if (!size) size = Math.round(Math.sqrt(all.length / (3 * o.batch)));
    const n = o.batch * 3 * size * size;
    if (all.length < n) throw new Error(`${o.input}: ${all.length} floats, need ${n} for ${o.batch}x3x${size}x${size}`);
    data = all.slice(0, n);
  } else {
    if (!size) throw new Error('--size is required without --input');
    data = new Float32Array(o.batch * 3 * size * size);
    let s = 12345;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      data[i] = (s >>> 8) / (1 << 24) * 2 - 1;
    }
  }
  const feeds = { input: new ort.Tensor('float32', data, [o.batch, 3, size, size]) };

  const result = { batch: o.batch, threads: o.threads, size, ort: ort.env.versions.node || ort.env.versions.common };
  let ok = true;
  for (let i = 0; i < Math.max(o.warmup, o.check ? 1 : 0); i++) {
    const out = await session.run(feeds);
    if (i === 0 && o.check) ok = check(o, out.logits.data, result);
  }
  const runs = [];
  for (let i = 0; i < o.iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  result.ms_per_batch = median(runs);
  result.ms_per_image = result.ms_per_batch / o.batch;
  result.runs = runs;
  if (o.profile) {
    session.endProfiling(); // returns nothing in onnxruntime-node: find the file by its prefix
    const dir = require('os').tmpdir();
    const trace = fs.readdirSync(dir).find((f) => f.startsWith(`ort-profile-${process.pid}_`));
    if (!trace) throw new Error(`no ONNX Runtime profile in ${dir}`);
    writeProfile(require('path').join(dir, trace), o.profile, o.iters);
    result.profile = o.profile;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  if (!ok) process.exitCode = 1;
}

// writeProfile reads ORT's profile (a JSON array of trace events) and writes each node's median kernel
// time over the last iters runs to file: name, op, ms, tab-separated, in execution order.
function writeProfile(trace, file, iters) {
  const events = JSON.parse(fs.readFileSync(trace, 'utf8'));
  fs.unlinkSync(trace);
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, { op: (e.args && e.args.op_name) || '', us: [] });
    nodes.get(name).us.push(e.dur);
  }
  const lines = [];
  for (const [name, n] of nodes) {
    lines.push(`${name}\t${n.op}\t${(median(n.us.slice(-iters)) / 1000).toFixed(4)}`);
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

// check compares logits with the --check file (or writes it) and records the result.
function check(o, logits, result) {
  if (!fs.existsSync(o.check)) {
    fs.writeFileSync(o.check, Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
    result.wrote = o.check;
    return true;
  }
  const want = readFloats(o.check);
  if (want.length < logits.length) {
    throw new Error(`${o.check}: ${want.length} floats, need ${logits.length}`);
  }
  let worst = 0;
  let at = 0;
  for (let i = 0; i < logits.length; i++) {
    const d = Math.abs(logits[i] - want[i]);
    if (Number.isNaN(d)) {
      worst = Infinity;
      at = i;
      break;
    }
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  result.max_abs_diff = worst;
  result.max_abs_diff_at = at;
  result.parity_tol = o.tol;
  result.parity_ok = worst <= o.tol;
  return result.parity_ok;
}

main().catch((e) => {
  process.stderr.write(`ort.js: ${e.message}\n`);
  process.exit(2);
});
