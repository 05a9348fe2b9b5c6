#!/usr/bin/env node
// The peer our server is measured against: the minimal Open Inference Protocol (v2) JSON handler a user
// would otherwise write on Node.js with onnxruntime-node 1.30.0 (the same native ONNX Runtime our C#
// binding loads). Plain `http` module, the session created lazily on a model's first request (version 1
// from the store, or the one named by /v2/models/{model}/versions/{version}/infer), the request
// parsed with JSON.parse into a Float32Array, the response built with JSON.stringify. JSON only: binary
// tensor data is what users of the protocol's JSON form would not write by hand. GET /v2/health/ready
// answers {"ready":true}, the readiness route any deployed server has (the bench times it as the HTTP floor).
//
//   node bench/node-peer/server.js --port N [--store DIR] [--threads N]
//
// --store is the folder holding <model>/1/model.onnx (default: .cache/store under the repository).
// --threads is ORT's intra-op thread count (default: os.availableParallelism(), as our server uses
// Environment.ProcessorCount). Idle spinning is off, as in our server's default SessionSettings, so the
// two runtimes run the graph with the same settings and only the code around Run differs.
'use strict';
const http = require('http');
const os = require('os');
const path = require('path');
const ort = require(path.join(__dirname, '../../node_modules/onnxruntime-node'));

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(option('--port', '8090'));
const store = path.resolve(option('--store', path.join(__dirname, '../../.cache/store')));
const threads = Number(option('--threads', String(os.availableParallelism())));
const sessionOptions = {
  intraOpNumThreads: threads,
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } },
};

// One promise per model version so concurrent first requests share one session load.
const sessions = new Map();
function session(model, version) {
  if (!/^[a-z0-9-]+$/.test(model) || !/^[0-9]+$/.test(version)) throw new HttpError(404, `unknown model '${model}' version '${version}'`);
  const key = `${model}/${version}`;
  let pending = sessions.get(key);
  if (!pending) {
    pending = ort.InferenceSession.create(path.join(store, model, version, 'model.onnx'), sessionOptions);
    pending.catch(() => sessions.delete(key));
    sessions.set(key, pending);
  }
  return pending;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function infer(model, version, body) {
  const request = JSON.parse(body);
  if (!request || !Array.isArray(request.inputs)) throw new HttpError(400, "the request needs an 'inputs' array");
  const feeds = {};
  for (const input of request.inputs) {
    if (input.datatype !== 'FP32') throw new HttpError(400, `input '${input.name}': only FP32 is handled here`);
    const data = Array.isArray(input.data) ? input.data.flat(Infinity) : [];
    feeds[input.name] = new ort.Tensor('float32', Float32Array.from(data), input.shape);
  }
  const results = await (await session(model, version)).run(feeds);
  const outputs = Object.entries(results).map(([name, tensor]) => ({
    name,
    datatype: 'FP32',
    shape: tensor.dims,
    data: Array.from(tensor.data),
  }));
  return JSON.stringify({ model_name: model, model_version: version, id: request.id, outputs });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    let status = 200;
    let text;
    try {
      const match = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/.exec(req.url);
      if (req.method === 'GET' && req.url === '/v2/health/ready') {
        text = JSON.stringify({ ready: true });
      } else if (req.method !== 'POST' || !match) {
        throw new HttpError(404, `no endpoint ${req.method} ${req.url}`);
      } else {
        text = await infer(match[1], match[2] || '1', Buffer.concat(chunks).toString('utf8'));
      }
    } catch (error) {
      status = error.status || (error instanceof SyntaxError ? 400 : 500);
      text = JSON.stringify({ error: error.message });
    }
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  });
});

server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`node peer listening on http://127.0.0.1:${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
