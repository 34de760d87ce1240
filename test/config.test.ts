import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';

test('defaults serve models/ on any provider that works, with no configuration', () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 8080);
  assert.equal(c.MODELS_DIR, 'models');
  assert.deepEqual(c.EXECUTION_PROVIDERS, ['cuda', 'webgpu', 'cpu']);
  assert.equal(c.INTRA_OP_THREADS, 0, 'automatic (src/engine/layout.ts)');
  assert.equal(c.ENGINE_WORKERS, 0, 'automatic (src/engine/layout.ts)');
  assert.equal(c.DEFAULT_MODEL, undefined);
});

test('values are coerced and validated', () => {
  const c = loadConfig({ PORT: '9000', EXECUTION_PROVIDERS: ' CPU , cpu ', MAX_BATCH: '32', MAX_WAIT_MS: '0.5', INTRA_OP_THREADS: '1' });
  assert.equal(c.PORT, 9000);
  assert.deepEqual(c.EXECUTION_PROVIDERS, ['cpu']);
  assert.equal(c.MAX_BATCH, 32);
  assert.equal(c.MAX_WAIT_MS, 0.5);
  assert.equal(c.INTRA_OP_THREADS, 1);
});

test('a bad value stops start-up with a message naming the variable', () => {
  const cases: Array<[string, string]> = [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['MAX_BATCH', '0'],
    ['EXECUTION_PROVIDERS', 'cuda,tpu'],
    ['LOG_LEVEL', 'loud'],
    ['QUEUE_LIMIT', '-1'],
    ['REQUEST_DEADLINE_MS', '1.5'],
    ['ENGINE_WORKERS', 'many'],
  ];
  for (const [name, value] of cases) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(name),
      `${name}=${value}`,
    );
  }
});

test('the server exits non-zero naming the bad variable', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, MAX_BATCH: 'lots', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /MAX_BATCH/);
});

test('QUEUE_LIMIT below MAX_IMAGES is refused at boot: such requests could never be admitted', () => {
  assert.throws(
    () => loadConfig({ QUEUE_LIMIT: '8', MAX_IMAGES: '16' }),
    (e: unknown) => e instanceof ConfigError && /QUEUE_LIMIT: must be at least MAX_IMAGES \(16\)/.test(e.message),
  );
  assert.throws(() => loadConfig({ QUEUE_LIMIT: '15' }), (e: unknown) => e instanceof ConfigError && e.message.includes('QUEUE_LIMIT'), 'against the default MAX_IMAGES');
  assert.equal(loadConfig({ QUEUE_LIMIT: '16', MAX_IMAGES: '16' }).QUEUE_LIMIT, 16);
  assert.equal(loadConfig({ QUEUE_LIMIT: '4', MAX_IMAGES: '4' }).MAX_IMAGES, 4);
});
