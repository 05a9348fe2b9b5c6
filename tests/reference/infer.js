#!/usr/bin/env node
// Independent reference for end-to-end tests: runs one Open Inference Protocol (v2) JSON request through
// onnxruntime-node (the same ONNX Runtime 1.30.0 native library the C# binding loads, reached through a
// different binding) and writes the protocol JSON response. Numbers are written at full precision: a
// float32 widened to a JS double prints its exact shortest round-trip form, so a reader that parses the
// text back to float32 gets the identical bits.
//
//   node tests/reference/infer.js MODEL.onnx REQUEST.json [RESPONSE.json]
//
// Without RESPONSE.json the response goes to stdout. Exit code 1 with a message on stderr on failure.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '../../node_modules/onnxruntime-node'));

const TYPES = {
  FP32: { ort: 'float32', array: Float32Array },
  FP64: { ort: 'float64', array: Float64Array },
  INT8: { ort: 'int8', array: Int8Array },
  INT16: { ort: 'int16', array: Int16Array },
  INT32: { ort: 'int32', array: Int32Array },
  INT64: { ort: 'int64', array: BigInt64Array },
  UINT8: { ort: 'uint8', array: Uint8Array },
  UINT16: { ort: 'uint16', array: Uint16Array },
  UINT32: { ort: 'uint32', array: Uint32Array },
  UINT64: { ort: 'uint64', array: BigUint64Array },
  BOOL: { ort: 'bool', array: Uint8Array },
  BYTES: { ort: 'string', array: null },
};

const ORT_TO_PROTOCOL = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v.ort, k]));

function fail(message) {
  process.stderr.write(`reference: ${message}\n`);
  process.exit(1);
}

function flatten(data) {
  // The protocol allows nested (row-major) or flat data; flatten either way.
  return Array.isArray(data) ? data.flat(Infinity) : [data];
}

function toTensor(input) {
  const type = TYPES[input.datatype];
  if (!type) fail(`input '${input.name}': datatype '${input.datatype}' is not supported`);
  const shape = input.shape.map(Number);
  const values = flatten(input.data);
  const expected = shape.reduce((a, b) => a * b, 1);
  if (values.length !== expected) {
    fail(`input '${input.name}': shape [${shape}] needs ${expected} elements, data has ${values.length}`);
  }
  if (type.array === null) return new ort.Tensor('string', values.map(String), shape);
  const typed = type.array === BigInt64Array || type.array === BigUint64Array
    ? type.array.from(values, (v) => BigInt(v))
    : type.array.from(values, (v) => (typeof v === 'boolean' ? Number(v) : v));
  return new ort.Tensor(type.ort, typed, shape);
}

function fromTensor(name, tensor) {
  const datatype = ORT_TO_PROTOCOL[tensor.type];
  if (!datatype) fail(`output '${name}': ORT type '${tensor.type}' has no protocol datatype`);
  let data;
  if (tensor.type === 'int64' || tensor.type === 'uint64') {
    data = Array.from(tensor.data, (v) => Number(v));
  } else if (tensor.type === 'bool') {
    data = Array.from(tensor.data, (v) => v !== 0);
  } else {
    data = Array.from(tensor.data);
  }
  return { name, datatype, shape: tensor.dims.map(Number), data };
}

async function main() {
  const [modelPath, requestPath, responsePath] = process.argv.slice(2);
  if (!modelPath || !requestPath) fail('usage: infer.js MODEL.onnx REQUEST.json [RESPONSE.json]');
  if (!fs.existsSync(modelPath)) fail(`model file '${modelPath}' does not exist`);
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  if (!Array.isArray(request.inputs)) fail("request has no 'inputs' array");

  // Same defaults as the C# binding's SessionSettings: all graph optimizations, CPU.
  const session = await ort.InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const feeds = {};
  for (const input of request.inputs) feeds[input.name] = toTensor(input);

  const wanted = Array.isArray(request.outputs) && request.outputs.length > 0
    ? request.outputs.map((o) => o.name)
    : session.outputNames;
  const results = await session.run(feeds, wanted);
  const response = {
    model_name: path.basename(path.dirname(path.dirname(modelPath))),
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: wanted.map((name) => fromTensor(name, results[name])),
  };
  const text = JSON.stringify(response);
  if (responsePath) fs.writeFileSync(responsePath, text);
  else process.stdout.write(text + '\n');
}

main().catch((err) => fail(err && err.message ? err.message : String(err)));
