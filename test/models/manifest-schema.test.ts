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
