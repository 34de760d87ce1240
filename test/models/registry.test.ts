import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { makeApp, tempModels, tinyGuided, tinyManifest } from '../helpers.js';

describe('registry: bad models are listed with their error and skipped', () => {
  let app: FastifyInstance;
  let dir: string;
  before(async () => {
    dir = tempModels({
      good: () => undefined,
      badsha: (m) => (m.graphs[0].sha256 = '0'.repeat(64)),
      badjson: (m) => delete m.sigma,
      nofile: (m) => (m.graphs[0].file = 'missing.onnx'),
      // the graph takes 3×8×8; a manifest claiming 1 channel breaks the contract check
      contract: (m) => (m.image = { ...m.image, channels: 1 }),
    });
    mkdirSync(join(dir, 'notjson'));
    writeFileSync(join(dir, 'notjson', 'model.json'), '{ nope');
    mkdirSync(join(dir, 'empty-folder'));
    app = await makeApp({ MODELS_DIR: dir });
  });
  after(async () => app.close());

  test('GET /v1/models lists the good one ready and the others with errors', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/models' });
    assert.equal(res.statusCode, 200);
    const byName = new Map(res.json().models.map((m: { name: string }) => [m.name, m]));
    const good = byName.get('good') as Record<string, any>;
    assert.equal(good.status, 'ready');
    assert.equal(good.execution_provider, 'cpu');
    assert.deepEqual(good.classes, tinyManifest().classes);
    const err = (n: string) => (byName.get(n) as { status: string; error: string }) ?? assert.fail(`${n} not listed`);
    assert.equal(err('badsha').status, 'error');
    assert.match(err('badsha').error, /SHA-256 mismatch/);
    assert.match(err('badjson').error, /sigma/);
    assert.match(err('notjson').error, /not valid JSON/);
    assert.match(err('nofile').error, /not found/);
    assert.match(err('contract').error, /contract.*dim 1/);
    assert.equal(byName.has('empty-folder'), false);
  });

  test('the good model is served, a broken one answers 503 model_unavailable', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'good', class: 0 } })).statusCode, 200);
    const bad = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'badsha', class: 0 } });
    assert.equal(bad.statusCode, 503);
    assert.equal(bad.json().error, 'model_unavailable');
    assert.equal(bad.json().field, 'model');
  });

  test('readyz is 200 once every enabled model is loaded; healthz always', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });
});

describe('models routes and readiness on the fixtures', () => {
  test('GET /v1/models/:name, 404 for unknown, readyz 503 before loading', async () => {
    const { buildApp } = await import('../../src/app.js');
    const { testConfig } = await import('../test-config.js');
    const app = await buildApp(testConfig({ MODELS_DIR: 'test/fixtures/models', INTRA_OP_THREADS: '1', EXECUTION_PROVIDERS: 'cpu' }));
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
      await app.registry.loadAll();
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      const g = tinyGuided();
      const one = await app.inject({ method: 'GET', url: `/v1/models/${g.model}` });
      assert.equal(one.statusCode, 200);
      const info = one.json();
      assert.equal(info.status, 'ready');
      assert.equal(info.null_class, g.null_class);
      assert.deepEqual(info.guidance, g.guidance);
      assert.equal(info.execution_provider, 'cpu');
      const nf = await app.inject({ method: 'GET', url: '/v1/models/nope' });
      assert.equal(nf.statusCode, 404);
      assert.equal(nf.json().error, 'unknown_model');
    } finally {
      await app.close();
    }
  });

  test('execution-provider fallback: cuda and webgpu fail here, cpu is used and reported', async () => {
    const app = await makeApp({ EXECUTION_PROVIDERS: 'cuda,webgpu,cpu' });
    try {
      const info = (await app.inject({ method: 'GET', url: `/v1/models/${tinyGuided().model}` })).json();
      assert.equal(info.status, 'ready');
      // on a machine with a GPU this may legitimately be cuda/webgpu
      assert.ok(['cpu', 'cuda', 'webgpu'].includes(info.execution_provider));
      if (info.execution_provider === 'cpu') assert.deepEqual(info.provider_attempts.map((a: { provider: string }) => a.provider), ['cuda', 'webgpu']);
    } finally {
      await app.close();
    }
  });
});
