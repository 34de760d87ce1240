/**
 * schemas/model.schema.json is generated from the zod schema the service loads manifests with
 * (src/models/manifest.ts; `npm run openapi` writes it), and the two agree on what a model.json
 * may hold: the same manifests are accepted and refused by zod and by the JSON Schema (ajv,
 * draft 2020-12, as the training pipeline's jsonschema uses it). Only the cross-field rules
 * (schedules inside [σ_min, σ_max], null_class = K, …) are zod's alone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { generateManifestSchema, MANIFEST_SCHEMA_PATH } from '../../openapi/generate.js';
import { ManifestSchema } from '../../src/models/manifest.js';

const committed = readFileSync(MANIFEST_SCHEMA_PATH, 'utf8');
const validate = new Ajv2020({ strict: false }).compile(JSON.parse(committed));
const base = () => JSON.parse(readFileSync('test/fixtures/models/tiny-rgb8/model.json', 'utf8')) as Record<string, any>;

test('schemas/model.schema.json is what the zod schema generates (run `npm run openapi` after changing it)', () => {
  assert.ok(generateManifestSchema() === committed, 'schemas/model.schema.json is stale');
});

test('zod and the JSON Schema accept and refuse the same manifests', () => {
  const cases: Array<[string, (m: Record<string, any>) => void, boolean]> = [
    ['the fixture as shipped', () => undefined, true],
    ['no schedules (defaulted to none)', (m) => delete m.schedules, true],
    ['no description, clamp, default_sampler (defaulted)', (m) => ['description', 'clamp', 'default_sampler'].forEach((k) => delete m[k]), true],
    ['upper-case SHA-256', (m) => (m.graphs[0].sha256 = m.graphs[0].sha256.toUpperCase()), true],
    ['free-form provenance', (m) => (m.provenance = { anything: [1, { deep: true }] }), true],
    ['an unknown top-level key', (m) => (m.extra = 1), false],
    ['an unknown key in image', (m) => (m.image.depth = 8), false],
    ['an unknown key in a graph', (m) => (m.graphs[0].notes = 'x'), false],
    ['an unknown key in guidance', (m) => (m.graphs[0].guidance.step = 0.1), false],
    ['no graphs', (m) => delete m.graphs, false],
    ['no schedules and no max_steps', (m) => (delete m.schedules, delete m.max_steps), false],
    ['file ".."', (m) => (m.graphs[0].file = '..'), false],
    ['file in a sub-folder', (m) => (m.graphs[0].file = 'a/b.onnx'), false],
    ['a model name with a space', (m) => (m.graphs[0].model = 'a b'), false],
    ['channels 2', (m) => (m.image.channels = 2), false],
    ['sampler "euler"', (m) => (m.default_sampler = 'euler'), false],
    ['schema_version 2', (m) => (m.schema_version = 2), false],
    ['σ_min 0', (m) => (m.sigma.min = 0), false],
  ];
  for (const [what, edit, ok] of cases) {
    const m = base();
    edit(m);
    assert.equal(ManifestSchema.safeParse(m).success, ok, `zod: ${what}`);
    assert.equal(validate(m), ok, `JSON Schema: ${what} ${JSON.stringify(validate.errors)}`);
  }
});

test('cross-field rules are the service’s alone (JSON Schema cannot state them)', () => {
  const m = base();
  m.schedules = { '2': [1, 80] }; // ascending
  assert.equal(ManifestSchema.safeParse(m).success, false);
  assert.equal(validate(m), true);
});

// the external-data and float16 fields (ONNX external data, half-precision weights)
const FOLDERS = ['models/digits16', 'test/fixtures/models/tiny-rgb8', 'test/fixtures/imported/tiny-openai', 'test/fixtures/external/tiny-rgb8-ext', 'test/fixtures/float16/tiny-openai-fp16'];
const read = (dir: string) => JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')) as Record<string, any>;
const validateJson = validate;

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
