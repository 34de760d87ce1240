/**
 * CI size of the contract run (`npm run contract` sends 2,500 and more of each): schema-driven
 * requests from openapi/openapi.json straight to a live server (valid and broken ones), and
 * schema-valid ones through Prism as a validating proxy (--errors). No answer may have an
 * undocumented status, media type, body or header. FUZZ_SEED picks another seed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type LiveServer } from '../api/live.js';
import { tinyManifest } from '../helpers.js';
import { fuzz, loadSpec, operations, problemsOf, SPEC_PATH, type Known } from './fuzz.js';
import { prismVerdict, startPrism, type Prism } from './prism.js';

const seed = Number(process.env.FUZZ_SEED ?? 7);
const doc = loadSpec();
const m = tinyManifest();
const known: Known = { models: m.graphs.map((g) => g.model), classes: m.classes };

describe('contract: every answer as the OpenAPI document says', { timeout: 300_000 }, () => {
  let server: LiveServer;
  let prism: Prism;
  before(async () => {
    // the rate limit on (never reached) so its headers are on /v1 answers and checked too
    server = await startServer({ RATE_LIMIT_MAX: '1000000', MAX_IMAGES: '4', QUEUE_LIMIT: '64' });
    prism = await startPrism(SPEC_PATH, server.url);
  });
  after(async () => {
    await prism?.stop();
    await server?.close();
  });

  test('600 schema-driven requests, valid and broken, straight to the server', async () => {
    const r = await fuzz(server.url, doc, known, { n: 600, seed });
    assert.deepEqual(r.examples, [], `${r.problems} answers broke the document (seed ${seed})`);
    assert.equal(r.requests, 600);
    assert.deepEqual(
      Object.keys(r.byOperation).sort(),
      Object.entries(doc.paths)
        .flatMap(([p, item]) => Object.keys(item as object).map((x) => `${x.toUpperCase()} ${p}`))
        .sort(),
      'every operation was exercised',
    );
    for (const s of ['200', '400', '404', '406']) assert.ok(r.byStatus[s] > 0, `some ${s} answers: ${JSON.stringify(r.byStatus)}`);
  });

  test('300 schema-valid requests through Prism (--errors): no violation', async () => {
    const r = await fuzz(prism.url, doc, known, { n: 300, seed: seed + 1, validOnly: true, inspect: prismVerdict });
    assert.deepEqual(r.examples, [], `${r.problems} answers Prism or the checker refused (seed ${seed + 1})`);
    assert.ok(r.byStatus['200'] > 0, JSON.stringify(r.byStatus));
  });

  test('200 requests to a server with API keys and a rate limit of 20: 401 and 429 answers as documented', async () => {
    const key = 'contract-test-key-0123456789';
    const keyed = await startServer({ API_KEYS: key, RATE_LIMIT_MAX: '20', RATE_LIMIT_WINDOW_MS: '60000' });
    try {
      const r = await fuzz(keyed.url, doc, known, { n: 200, seed: seed + 2, apiKey: key });
      assert.deepEqual(r.examples, [], `${r.problems} answers broke the document (seed ${seed + 2})`);
      for (const s of ['401', '429']) assert.ok(r.byStatus[s] > 0, `some ${s} answers: ${JSON.stringify(r.byStatus)}`);
    } finally {
      await keyed.close();
    }
  });

  test('the checker is live: it refuses an undocumented status, header, media type or body', () => {
    const op = operations(doc).find((o) => o.key === 'GET /v1/models/{name}')!;
    const c = { op, url: '/v1/models/x', headers: {}, valid: true, what: 'self-test' };
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'a', ...headers },
      body: Buffer.from(JSON.stringify(body)),
    });
    assert.deepEqual(problemsOf(doc, c, json(404, { error: 'unknown_model', message: 'm', field: 'model' })), []);
    assert.match(problemsOf(doc, c, json(418, { error: 'x', message: 'm' }))[0], /undocumented status 418/);
    assert.match(problemsOf(doc, c, json(404, { error: 'unknown_model', message: 'm' }, { 'x-debug': '1' }))[0], /undocumented header x-debug/);
    assert.match(problemsOf(doc, c, json(404, { error: 'no_such_kind', message: 'm' }))[0], /does not match its schema/);
    assert.match(problemsOf(doc, c, json(404, { message: 'm' }))[0], /does not match its schema/);
    assert.match(problemsOf(doc, c, { ...json(404, {}), headers: { 'content-type': 'text/html' } })[0], /undocumented media type/);
    assert.match(problemsOf(doc, c, json(503, { error: 'shutting_down', message: 'm' }, { 'retry-after': 'soon' }))[0], /retry-after/);
  });
});
