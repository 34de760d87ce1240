/**
 * Test tooling: ONNX graphs written from TypeScript, so the suite can make graphs the exporter
 * never would — hundreds of MB of weights for the loading test, external data in odd places for
 * the registry's checks — without Python. Hand-written protobuf encoding of the few ONNX messages
 * needed (field numbers from onnx/onnx.proto; proto2, repeated scalars unpacked): no protobuf
 * library is among this project's dependencies, and this is ~100 lines.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const varint = (n: number | bigint): number[] => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 128n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const key = (field: number, wire: number) => varint(field * 8 + wire);
const int = (field: number, v: number | bigint) => Buffer.from([...key(field, 0), ...varint(v)]);
const bytes = (field: number, data: Buffer | string) => {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([Buffer.from([...key(field, 2), ...varint(b.length)]), b]);
};
const float32 = (field: number, v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return Buffer.concat([Buffer.from(key(field, 5)), b]);
};

export const FLOAT = 1;
export const INT64 = 7;

export interface External {
  location: string;
  offset: number;
  length: number;
}

/** TensorProto: inline raw data, or a reference into an external-data file. */
export function tensor(name: string, dataType: number, dims: number[], data: Buffer | External): Buffer {
  const parts = [...dims.map((d) => int(1, d)), int(2, dataType), bytes(8, name)];
  if (Buffer.isBuffer(data)) parts.push(bytes(9, data));
  else {
    const entry = (k: string, v: string) => bytes(13, Buffer.concat([bytes(1, k), bytes(2, v)]));
    parts.push(entry('location', data.location), entry('offset', String(data.offset)), entry('length', String(data.length)), int(14, 1));
  }
  return Buffer.concat(parts);
}

export const int64s = (values: number[]) => Buffer.from(BigInt64Array.from(values, BigInt).buffer);
export const float32s = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);

/** ValueInfoProto of a tensor; a string dim is symbolic. */
export function valueInfo(name: string, elemType: number, dims: Array<number | string>): Buffer {
  const shape = Buffer.concat(dims.map((d) => bytes(1, typeof d === 'number' ? int(1, d) : bytes(2, d))));
  return Buffer.concat([bytes(1, name), bytes(2, bytes(1, Buffer.concat([int(1, elemType), bytes(2, shape)])))]);
}

export type Attr = Buffer;
export const attrInt = (name: string, v: number): Attr => Buffer.concat([bytes(1, name), int(20, 2), int(3, v)]);
export const attrInts = (name: string, vs: number[]): Attr => Buffer.concat([bytes(1, name), int(20, 7), ...vs.map((v) => int(8, v))]);
export const attrFloat = (name: string, v: number): Attr => Buffer.concat([bytes(1, name), int(20, 1), float32(2, v)]);
/** A tensor-valued attribute (e.g. Constant's `value`). */
export const attrTensor = (name: string, t: Buffer): Attr => Buffer.concat([bytes(1, name), int(20, 4), bytes(5, t)]);

export function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Buffer {
  return Buffer.concat([...inputs.map((i) => bytes(1, i)), ...outputs.map((o) => bytes(2, o)), bytes(4, op), ...attrs.map((a) => bytes(5, a))]);
}

/** ModelProto at opset 17 (IR version 8). */
export function model(g: { nodes: Buffer[]; initializers: Buffer[]; inputs: Buffer[]; outputs: Buffer[] }): Buffer {
  const graph = Buffer.concat([...g.nodes.map((n) => bytes(1, n)), bytes(2, 'g'), ...g.initializers.map((t) => bytes(5, t)), ...g.inputs.map((v) => bytes(11, v)), ...g.outputs.map((v) => bytes(12, v))]);
  const opset = Buffer.concat([bytes(1, ''), int(2, 17)]);
  return Buffer.concat([int(1, 8), bytes(2, 'jfdl-serve tests'), bytes(7, graph), bytes(8, opset)]);
}

/**
 * A graph that honours the model contract (x [B,C,H,W], sigma [B], class_labels [B] →
 * denoised [B,C,H,W]) around one big weight W [C·H·W, width]: denoised = x + 1e-9·(mean(x·W) + σ
 * + class), so a row costs C·H·W·width multiply-adds and W is `C·H·W·width·4` bytes. With
 * `external`, W lives in that file beside the graph (written without holding it in memory).
 */
export function contractGraph(dir: string, file: string, chw: [number, number, number], width: number, external?: string): { bytes: number } {
  const n = chw[0] * chw[1] * chw[2];
  const wBytes = n * width * 4;
  let W: Buffer | External;
  if (external) {
    // W's values are irrelevant to the tests; a repeating ramp, written 1 MiB at a time
    const fd = openSync(join(dir, external), 'w');
    const chunk = Buffer.from(Float32Array.from({ length: 1 << 18 }, (_, i) => ((i % 977) - 488) / 4096).buffer);
    for (let at = 0; at < wBytes; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, wBytes - at));
    closeSync(fd);
    W = { location: external, offset: 0, length: wBytes };
  } else W = Buffer.from(Float32Array.from({ length: n * width }, (_, i) => ((i % 977) - 488) / 4096).buffer);
  const proto = model({
    nodes: [
      node('Reshape', ['x', 'flat_shape'], ['flat']),
      node('MatMul', ['flat', 'W'], ['h']),
      node('ReduceMean', ['h'], ['m'], [attrInts('axes', [1]), attrInt('keepdims', 1)]),
      node('Unsqueeze', ['m', 'axes23'], ['m4']),
      node('Unsqueeze', ['sigma', 'axes123'], ['s4']),
      node('Cast', ['class_labels'], ['cf'], [attrInt('to', FLOAT)]),
      node('Unsqueeze', ['cf', 'axes123'], ['c4']),
      node('Add', ['m4', 's4'], ['t1']),
      node('Add', ['t1', 'c4'], ['t2']),
      node('Mul', ['t2', 'eps'], ['t3']),
      node('Add', ['x', 't3'], ['denoised']),
    ],
    initializers: [
      tensor('flat_shape', INT64, [2], int64s([-1, n])),
      tensor('W', FLOAT, [n, width], W),
      tensor('axes23', INT64, [2], int64s([2, 3])),
      tensor('axes123', INT64, [3], int64s([1, 2, 3])),
      tensor('eps', FLOAT, [], float32s([1e-9])),
    ],
    inputs: [valueInfo('x', FLOAT, ['B', ...chw]), valueInfo('sigma', FLOAT, ['B']), valueInfo('class_labels', INT64, ['B'])],
    outputs: [valueInfo('denoised', FLOAT, ['B', ...chw])],
  });
  writeFileSync(join(dir, file), proto);
  return { bytes: proto.length + (external ? wBytes : 0) };
}

export async function sha256Of(path: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * A model folder `dir/name` around contractGraph (cm.onnx, weights in cm.onnx.data when
 * `external`), with a model.json listing the graph and its external data with their SHA-256.
 */
export async function contractModelFolder(root: string, name: string, o: { chw?: [number, number, number]; width: number; external: boolean }): Promise<{ dir: string; bytes: number }> {
  const chw = o.chw ?? [3, 8, 8];
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const { bytes: size } = contractGraph(dir, 'cm.onnx', chw, o.width, o.external ? 'cm.onnx.data' : undefined);
  const manifest = {
    schema_version: 1,
    name,
    description: 'test graph written by test/tools/onnx-writer.ts',
    image: { channels: chw[0], height: chw[1], width: chw[2] },
    classes: ['a', 'b'],
    sigma: { min: 0.002, max: 80, data: 0.5 },
    default_steps: 1,
    max_steps: 2,
    schedules: { '1': [80] },
    graphs: [
      {
        model: name,
        kind: 'cm',
        file: 'cm.onnx',
        sha256: await sha256Of(join(dir, 'cm.onnx')),
        null_class: null,
        guidance: { default: 1, min: 1, max: 1 },
        ...(o.external ? { external_data: [{ file: 'cm.onnx.data', sha256: await sha256Of(join(dir, 'cm.onnx.data')) }] } : {}),
      },
    ],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
  return { dir, bytes: size };
}
