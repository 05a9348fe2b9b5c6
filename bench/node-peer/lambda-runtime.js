#!/usr/bin/env node
// The Node.js peer of the Lambda bootstrap for the bench's Lambda lane: the custom runtime a user would write on
// onnxruntime-node 1.30.0 (provided.al2023 with a Node binary, or the same loop inside a nodejs handler). It polls the
// Runtime API named by AWS_LAMBDA_RUNTIME_API, answers API Gateway HTTP API 2.0 events for
// POST /v2/models/{model}[/versions/{v}]/infer with the protocol's JSON response, and loads each model lazily on its
// first request from MODEL_STORE (file://...). Handler errors go to /invocation/{id}/error and the loop goes on.
// Same ORT settings as ours: graph optimization all, intra-op threads = os.availableParallelism(), no spinning.
'use strict';
const http = require('http');
const os = require('os');
const path = require('path');
const ort = require(path.join(__dirname, '../../node_modules/onnxruntime-node'));

const [apiHost, apiPort] = (process.env.AWS_LAMBDA_RUNTIME_API || '').split(':');
if (!apiHost) {
  process.stderr.write('AWS_LAMBDA_RUNTIME_API is not set\n');
  process.exit(1);
}
const store = (process.env.MODEL_STORE || '').replace(/^file:\/\//, '');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const sessionOptions = {
  intraOpNumThreads: os.availableParallelism(),
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } },
};
const sessions = new Map();

function api(method, route, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: apiHost, port: Number(apiPort), method, path: `/2018-06-01/runtime${route}`, agent,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function session(model, version) {
  if (!/^[a-z0-9-]+$/.test(model) || !/^[0-9]+$/.test(version)) throw Object.assign(new Error(`unknown model '${model}'`), { status: 404 });
  const key = `${model}/${version}`;
  if (!sessions.has(key)) sessions.set(key, ort.InferenceSession.create(path.join(store, model, version, 'model.onnx'), sessionOptions));
  return sessions.get(key);
}

async function handle(event) {
  const match = /\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/.exec(event.rawPath || '');
  if (!match) return { statusCode: 404, body: JSON.stringify({ error: `no endpoint ${event.rawPath}` }) };
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const request = JSON.parse(text);
  const feeds = {};
  for (const input of request.inputs) {
    feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data.flat(Infinity)), input.shape);
  }
  const results = await (await session(match[1], match[2] || '1')).run(feeds);
  const outputs = Object.entries(results).map(([name, t]) => ({ name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data) }));
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model_name: match[1], model_version: match[2] || '1', id: request.id, outputs }),
  };
}

async function loop() {
  for (;;) {
    const next = await api('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    try {
      const response = await handle(JSON.parse(next.body.toString('utf8')));
      await api('POST', `/invocation/${id}/response`, JSON.stringify(response));
    } catch (error) {
      await api('POST', `/invocation/${id}/error`, JSON.stringify({ errorType: error.name, errorMessage: error.message }));
    }
  }
}

loop().catch((error) => {
  process.stderr.write(`runtime API failed: ${error.message}\n`);
  process.exit(2);
});
