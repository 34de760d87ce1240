import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ApiKeys } from '../../src/plugins/security.js';
import { makeApp, tinyGuided } from '../helpers.js';

const KEY_A = 'test-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'test-key-bbbbbbbbbbbbbbbb';

describe('security', () => {
  const g = tinyGuided();
  const apps: FastifyInstance[] = [];
  const app = async (o: Parameters<typeof makeApp>[0] = {}) => {
    const a = await makeApp(o);
    apps.push(a);
    return a;
  };
  after(async () => {
    for (const a of apps) await a.close();
  });

  test('ApiKeys: the right key is found, anything else is null', () => {
    const k = new ApiKeys([KEY_A, KEY_B]);
    assert.equal(k.enabled, true);
    const a = k.identify(`Bearer ${KEY_A}`);
    assert.match(a ?? '', /^key:[0-9a-f]{12}$/);
    assert.notEqual(a, k.identify(`bearer ${KEY_B}`));
    assert.ok(!a!.includes(KEY_A.slice(0, 8)), 'the id is a fingerprint, not the key');
    for (const bad of [undefined, '', KEY_A, `Basic ${KEY_A}`, `Bearer ${KEY_A}x`, `Bearer ${KEY_A.slice(0, -1)}`, 'Bearer ', `Bearer ${KEY_A} ${KEY_B}`])
      assert.equal(k.identify(bad), null, String(bad));
    assert.equal(new ApiKeys([]).enabled, false);
  });

  test('security headers and request ids on every response; no X-Powered-By', async () => {
    const a = await app();
    const res = await a.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['x-powered-by'], undefined);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const kept = await a.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123.X' } });
    assert.equal(kept.headers['x-request-id'], 'abc-123.X');
    const unsafe = await a.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\nforged log line' } });
    assert.match(String(unsafe.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'an id unsafe to log is replaced');
    const err = await a.inject({ method: 'GET', url: '/nope' });
    assert.equal(err.statusCode, 404);
    assert.ok(err.headers['x-request-id'], 'errors carry the id too');
  });

  test('no keys configured: /v1 is open', async () => {
    const a = await app();
    assert.equal((await a.inject({ method: 'GET', url: '/v1/models' })).statusCode, 200);
  });

  test('with keys: /v1 needs a valid bearer key; every failure is the same 401; probes stay open', async () => {
    const a = await app({ API_KEYS: `${KEY_A}, ${KEY_B}` });
    const bodies = new Set<string>();
    for (const authorization of [undefined, `Bearer wrong-key-cccccccccccccc`, `Basic ${KEY_A}`, `Bearer ${KEY_A.slice(0, 20)}`, 'Bearer']) {
      const res = await a.inject({ method: 'GET', url: '/v1/models', headers: authorization ? { authorization } : {} });
      assert.equal(res.statusCode, 401, String(authorization));
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="jfdl-serve"');
      assert.equal(res.json().error, 'unauthorized');
      bodies.add(res.body);
    }
    assert.equal(bodies.size, 1, 'the 401 does not say which part failed');
    const gen = await a.inject({ method: 'POST', url: '/v1/generate', payload: { model: g.model, class: 0 } });
    assert.equal(gen.statusCode, 401, 'unauthenticated generate never reaches the scheduler');
    assert.equal(a.registry.get(g.model)!.scheduler!.stats.images, 0);
    for (const key of [KEY_A, KEY_B]) assert.equal((await a.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${key}` } })).statusCode, 200);
    const ok = await a.inject({ method: 'POST', url: '/v1/generate', headers: { authorization: `Bearer ${KEY_A}` }, payload: { model: g.model, class: 0 } });
    assert.equal(ok.statusCode, 200);
    assert.equal((await a.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await a.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });

  test('keys from a file (comments and blank lines skipped); config errors never print a key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jfdl-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `# operators\n${KEY_A}\n\n  ${KEY_B}  \n`);
    assert.deepEqual(loadConfig({ API_KEYS_FILE: file }).apiKeys, [KEY_A, KEY_B]);
    assert.deepEqual(loadConfig({ API_KEYS_FILE: file, API_KEYS: KEY_A }).apiKeys, [KEY_A, KEY_B]);
    assert.throws(() => loadConfig({ API_KEYS_FILE: join(dir, 'missing') }), (e: unknown) => e instanceof ConfigError && e.message.includes('API_KEYS_FILE'));
    assert.throws(
      () => loadConfig({ API_KEYS: 'short-secret' }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('API_KEYS') && !e.message.includes('short-secret'),
    );
  });

  test('rate limit per key: 429 + Retry-After past the limit; another key and the probes are unaffected', async () => {
    const a = await app({ API_KEYS: `${KEY_A},${KEY_B}`, RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    const get = (key: string) => a.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${key}` } });
    assert.equal((await get(KEY_A)).statusCode, 200);
    assert.equal((await get(KEY_A)).statusCode, 200);
    const limited = await get(KEY_A);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error, 'rate_limited');
    const ra = Number(limited.headers['retry-after']);
    assert.ok(ra >= 1 && ra <= 60, `retry-after ${limited.headers['retry-after']}`);
    assert.equal((await get(KEY_B)).statusCode, 200, 'limits are per key');
    for (let i = 0; i < 4; i++) assert.equal((await a.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  test('rate limit per client address without keys', async () => {
    const a = await app({ RATE_LIMIT_MAX: '1' });
    const from = (ip: string) => a.inject({ method: 'GET', url: '/v1/models', remoteAddress: ip });
    assert.equal((await from('10.0.0.1')).statusCode, 200);
    assert.equal((await from('10.0.0.1')).statusCode, 429);
    assert.equal((await from('10.0.0.2')).statusCode, 200);
  });

  test('CORS is off by default and allows only the configured origins', async () => {
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };
    const off = await app();
    const r0 = await off.inject({ method: 'OPTIONS', url: '/v1/generate', headers: { origin: 'https://a.example', ...preflight } });
    assert.equal(r0.headers['access-control-allow-origin'], undefined);
    const r1 = await off.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'https://a.example' } });
    assert.equal(r1.headers['access-control-allow-origin'], undefined);

    const on = await app({ CORS_ORIGINS: 'https://a.example' });
    const ok = await on.inject({ method: 'OPTIONS', url: '/v1/generate', headers: { origin: 'https://a.example', ...preflight } });
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://a.example');
    const other = await on.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'https://evil.example' } });
    assert.notEqual(other.headers['access-control-allow-origin'], 'https://evil.example');
  });

  test('strict body limit: an oversize body is 413 before it is parsed', async () => {
    const a = await app({ BODY_LIMIT_BYTES: '1024' });
    const res = await a.inject({ method: 'POST', url: '/v1/generate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ class: 0, pad: 'x'.repeat(2000) }) });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'body_too_large');
  });
});
