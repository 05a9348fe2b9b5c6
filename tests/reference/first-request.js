#!/usr/bin/env node
// Measures what a person waits for after `serverless serve` starts: time until it listens, time until the
// first text-direction response (model loaded lazily on that request), and the process's peak RSS
// (VmHWM from /proc/<pid>/status) after it. Prints one line per run and the medians. Linux only.
//
//   node tests/reference/first-request.js [path/to/serverless] [runs]
//
// Default binary: functions/Serverless.Cli/bin/Release/net10.0/serverless (what ./build.sh serve runs).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');

const root = path.join(__dirname, '../..');
const binary = process.argv[2] || path.join(root, 'functions/Serverless.Cli/bin/Release/net10.0/serverless');
const runs = Number(process.argv[3] || 5);

// Seeded like the C# tests' xorshift32 inputs; values in [-1, 1).
function request() {
  let state = 11;
  const data = new Array(3 * 48 * 192);
  for (let i = 0; i < data.length; i++) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    data[i] = -1 + ((state >>> 8) / 16777216) * 2;
  }
  return JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data }] });
}

function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v2/models/text-direction/infer',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function peakRssMiB(pid) {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function once(body) {
  const env = {
    ...process.env,
    MODEL_STORE: process.env.MODEL_STORE || `file://${root}/.cache/store`,
    SERVERLESS_MODELS_DIR: process.env.SERVERLESS_MODELS_DIR || path.join(root, 'models'),
  };
  const started = process.hrtime.bigint();
  const child = spawn(binary, ['serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${text}`)));
  });
  const listening = Number(process.hrtime.bigint() - started) / 1e6;
  const response = await post(port, body);
  const first = Number(process.hrtime.bigint() - started) / 1e6;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.body}`);
  const rss = peakRssMiB(child.pid);
  child.stdout.resume();
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return { listening, first, rss };
}

(async () => {
  const body = request();
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(body);
    results.push(r);
    console.log(`run ${i + 1}: listening ${r.listening.toFixed(0)} ms, first response ${r.first.toFixed(0)} ms, peak RSS ${r.rss.toFixed(1)} MiB`);
  }
  const median = (key) => { const s = results.map((r) => r[key]).sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  console.log(`median of ${runs}: listening ${median('listening').toFixed(0)} ms, first text-direction response ${median('first').toFixed(0)} ms, peak RSS ${median('rss').toFixed(1)} MiB`);
})().catch((e) => { console.error(e.message); process.exit(1); });
