/**
 * The manifest's two schemas agree: the service's zod schema (src/models/manifest.ts) and the
 * JSON Schema the Python pipeline validates with (schemas/model.schema.json) accept every
 * committed model folder's model.json and refuse the same broken graph entries — the
 * external-data and float16 fields included. Rules a JSON Schema cannot state (an external-data
 * file that is also a graph file, or listed twice) are zod's and training/manifest.py's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ManifestSchema } from '../../src/models/manifest.js';

const validateJson = new Ajv2020({ allErrors: true }).compile(JSON.parse(readFileSync('schemas/model.schema.json', 'utf8')));
const FOLDERS = ['models/digits16', 'test/fixtures/models/tiny-rgb8', 'test/fixtures/imported/tiny-openai', 'test/fixtures/external/tiny-rgb8-ext', 'test/fixtures/float16/tiny-openai-fp16'];
const read = (dir: string) => JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')) as Record<string, any>;

test('every committed manifest is valid for both schemas', () => {
  for (const dir of FOLDERS) {
    const m = read(dir);
    assert.ok(validateJson(m), `${dir}: ${JSON.stringify(validateJson.errors)}`);
    assert.ok(ManifestSchema.safeParse(m).success, dir);
  }
});

test('both schemas refuse the same broken external-data and float16 fields', () => {
  const base = read('test/fixtures/external/tiny-rgb8-ext');
  const breakages: Record<string, (g: Record<string, any>) => void> = {
    'a path outside the folder': (g) => (g.external_data[0].file = '../cm.onnx.data'),
    'a sub-folder': (g) => (g.external_data[0].file = 'data/cm.onnx.data'),
    'the manifest itself': (g) => (g.external_data[0].file = 'model.json'),
    'no file': (g) => delete g.external_data[0].file,
    'a short SHA-256': (g) => (g.external_data[0].sha256 = 'abc'),
    'an unknown key': (g) => (g.external_data[0].size = 3),
    'not a list': (g) => (g.external_data = { file: 'cm.onnx.data' }),
    'an unknown precision': (g) => (g.weights_dtype = 'int8'),
  };
  for (const [what, edit] of Object.entries(breakages)) {
    const m = structuredClone(base);
    edit(m.graphs[1]);
    assert.equal(validateJson(m), false, `JSON Schema accepts ${what}`);
    assert.equal(ManifestSchema.safeParse(m).success, false, `zod accepts ${what}`);
  }
});

test('zod also refuses an external-data file that is a graph file or listed twice', () => {
  const base = read('test/fixtures/external/tiny-rgb8-ext');
  const clash = structuredClone(base);
  clash.graphs[1].external_data[0].file = 'jfdl.onnx';
  const r = ManifestSchema.safeParse(clash);
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /jfdl\.onnx is a graph file/);
  const twice = structuredClone(base);
  twice.graphs[1].external_data.push({ ...twice.graphs[1].external_data[0] });
  assert.match(JSON.stringify(ManifestSchema.safeParse(twice).error?.issues), /listed twice/);
  // absent fields mean a self-contained float32 graph
  const plain = ManifestSchema.parse(read('test/fixtures/models/tiny-rgb8'));
  assert.deepEqual(plain.graphs.map((g) => [g.external_data, g.weights_dtype]), [[[], 'float32'], [[], 'float32']]);
});
