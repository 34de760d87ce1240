/**
 * The generated typed client (src/client/, openapi-fetch over the openapi-typescript types)
 * against a real server on a loopback port — every route, and the error answers each documents.
 */
import { availableParallelism } from 'node:os';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createJfdlClient, generate, generateImage, JfdlApiError, type JfdlClient } from '../../src/client/index.js';
import { tinyManifest, waitFor } from '../helpers.js';
import { startServer, type LiveServer } from './live.js';

const m = tinyManifest();
const GUIDED = m.graphs.find((g) => g.null_class !== null)!.model;
const PLAIN = m.graphs.find((g) => g.null_class === null)!.model;

describe('typed client against a live server', () => {
  let server: LiveServer;
  let api: JfdlClient;
  before(async () => {
    server = await startServer();
    api = createJfdlClient(server.url + '/');
  });
  after(() => server.close());

  test('GET /healthz and /readyz', async () => {
    const h = await api.GET('/healthz');
    assert.equal(h.response.status, 200);
    assert.deepEqual(h.data, { status: 'ok' });
    const r = await api.GET('/readyz');
    assert.deepEqual(r.data, { status: 'ready' });
  });

  test('GET /v1/models lists both graphs with their limits', async () => {
    const { data, response } = await api.GET('/v1/models');
    assert.equal(response.status, 200);
    const byName = new Map(data!.models.map((x) => [x.name, x]));
    const g = byName.get(GUIDED)!;
    assert.equal(g.status, 'ready');
    assert.equal(g.kind, 'jfdl');
    assert.equal(g.guided, true);
    assert.deepEqual(g.classes, m.classes);
    assert.deepEqual(g.image, m.image);
    assert.equal(g.execution_provider, 'cpu');
    // the suite's server sets INTRA_OP_THREADS=1 and leaves ENGINE_WORKERS automatic: a session per core
    assert.equal(g.engine?.workers, availableParallelism());
    assert.equal(g.engine?.intra_op_threads, 1);
    // the warm-up measured batch sizes from 1 row up, and the target is one of them
    const profile = g.engine?.batch_profile ?? [];
    assert.equal(profile[0]?.rows, 1);
    assert.ok(profile.every((p) => p.rows_per_s > 0));
    assert.ok(Number.isInteger(g.engine?.target_rows) && g.engine!.target_rows! >= 2);
    assert.equal(typeof g.stats?.calls, 'number');
    assert.equal(byName.get(PLAIN)!.guided, false);
  });

  test('GET /v1/models/{name}, and 404 unknown_model', async () => {
    const ok = await api.GET('/v1/models/{name}', { params: { path: { name: PLAIN } } });
    assert.equal(ok.data?.name, PLAIN);
    assert.equal(ok.data?.null_class, null);
    const nf = await api.GET('/v1/models/{name}', { params: { path: { name: 'nope' } } });
    assert.equal(nf.response.status, 404);
    assert.equal(nf.error?.error, 'unknown_model');
    assert.equal(nf.error?.field, 'model');
  });

  test('POST /v1/generate → JSON with base64 images of the expected size', async () => {
    const { data, response } = await api.POST('/v1/generate', { body: { model: GUIDED, class: m.classes[1], guidance: 1.5, seed: 9, num_images: 2, scale: 3 } });
    assert.equal(response.status, 200);
    // typed as the JSON answer: no cast (the raw image has its own operation)
    const r = data!;
    assert.equal(r.seed, 9);
    assert.equal(r.params.class, 1);
    assert.equal(r.params.guidance, 1.5);
    assert.equal(r.images.length, 2);
    for (const img of r.images) {
      const meta = await sharp(Buffer.from(img.b64, 'base64')).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, m.image.width * 3);
    }
    assert.ok(r.timings_ms.total >= r.timings_ms.compute);
    // the helper gives the same images for the same seed
    const again = await generate(api, { model: GUIDED, class: 1, guidance: 1.5, seed: 9, num_images: 2, scale: 3 });
    assert.deepEqual(again.images, r.images);
  });

  test('POST /v1/generate/image with format webp → the raw image, seed in X-Seed', async () => {
    const img = await generateImage(api, { model: PLAIN, class: 0, seed: 77, format: 'webp' });
    assert.equal(img.mime, 'image/webp');
    assert.equal(img.seed, 77);
    assert.equal(img.model, PLAIN);
    assert.equal((await sharp(Buffer.from(img.bytes)).metadata()).format, 'webp');
  });

  test('400 errors name the field: range, unknown class, guidance on a plain CM, sigmas, unknown field, bad JSON', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ model: GUIDED, class: 0, guidance: 99 }, 'invalid_request', 'guidance'],
      [{ model: GUIDED, class: 'no-such-class' }, 'unknown_class', 'class'],
      [{ model: PLAIN, class: 0, guidance: 1.5 }, 'guidance_unsupported', 'guidance'],
      [{ model: GUIDED, class: 0, sigmas: [2, 80] }, 'invalid_request', 'sigmas'],
      [{ model: GUIDED, class: 0, colour: 'red' }, 'invalid_request', 'colour'],
    ];
    for (const [body, code, field] of cases) {
      const r = await api.POST('/v1/generate', { body: body as never });
      assert.equal(r.response.status, 400, JSON.stringify(body));
      assert.equal(r.error?.error, code, JSON.stringify(r.error));
      assert.equal(r.error?.field, field);
      assert.ok(r.error!.message.length > 10);
    }
    const bad = await api.POST('/v1/generate', { body: '{"class": ' as never, bodySerializer: (b) => b as unknown as string });
    assert.equal(bad.response.status, 400);
    assert.equal(bad.error?.error, 'invalid_json');
    await assert.rejects(generate(api, { class: 'nope' }), (e: unknown) => e instanceof JfdlApiError && e.status === 400 && e.body.error === 'unknown_class');
  });

  test('404 unknown model, 406 an image asked of the JSON operation, 413 oversize body, 415 not JSON', async () => {
    const nf = await api.POST('/v1/generate', { body: { model: 'nope', class: 0 } });
    assert.equal(nf.response.status, 404);
    assert.equal(nf.error?.error, 'unknown_model');
    const na = await api.POST('/v1/generate', { body: { class: 0, num_images: 2 }, headers: { accept: 'image/png' } });
    assert.equal(na.response.status, 406);
    assert.equal(na.error?.error, 'not_acceptable');
    assert.match(na.error!.message, /POST \/v1\/generate\/image/);
    const big = await api.POST('/v1/generate', { body: { class: 0, sigmas: Array.from({ length: 20000 }, (_, i) => 80 - i * 0.001) } });
    assert.equal(big.response.status, 413);
    assert.equal(big.error?.error, 'body_too_large');
    const text = await api.POST('/v1/generate', { body: 'class=0' as never, bodySerializer: (b) => b as unknown as string, headers: { 'content-type': 'text/plain' } });
    assert.equal(text.response.status, 415);
    assert.equal(text.error?.error, 'unsupported_media_type');
    assert.match(text.error!.message, /"text\/plain"/);
  });

  test('GET /metrics and GET / (the playground page) as text', async () => {
    const metrics = await api.GET('/metrics', { parseAs: 'text' });
    assert.equal(metrics.response.status, 200);
    assert.match(metrics.data as string, /# TYPE jfdl_network_calls_total counter/);
    const page = await api.GET('/', { parseAs: 'text' });
    assert.match(page.response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.data as string, /guidance/i);
  });
});

describe('typed client: 503 queue_full, 504 deadline', () => {
  test('a full queue answers 503 with Retry-After; a request past its deadline answers 504', async () => {
    // the first request's lanes wait for a fuller batch (MAX_WAIT_MS) longer than the deadline
    const s = await startServer({ QUEUE_LIMIT: '2', MAX_IMAGES: '2', MAX_WAIT_MS: '300', BATCH_WAIT: 'fixed', REQUEST_DEADLINE_MS: '150' });
    try {
      const api = createJfdlClient(s.url);
      const first = api.POST('/v1/generate', { body: { class: 0, num_images: 2 } });
      await waitFor(() => s.app.registry.get(GUIDED)!.scheduler!.queueDepth === 2);
      const full = await api.POST('/v1/generate', { body: { class: 0 } });
      assert.equal(full.response.status, 503);
      assert.equal(full.error?.error, 'queue_full');
      assert.match(full.response.headers.get('retry-after') ?? '', /^\d+$/);
      const late = await first;
      assert.equal(late.response.status, 504);
      assert.equal(late.error?.error, 'deadline_exceeded');
    } finally {
      await s.close();
    }
  });
});

describe('typed client: 401 without an API key, 429 past the rate limit', () => {
  test('keys and limits apply to /v1 routes; the client passes the bearer key', async () => {
    const s = await startServer({ API_KEYS: 'k-test-0123456789abcdef', RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    try {
      const anon = createJfdlClient(s.url);
      const denied = await anon.GET('/v1/models');
      assert.equal(denied.response.status, 401);
      assert.equal(denied.error?.error, 'unauthorized');
      assert.equal((await anon.GET('/healthz')).response.status, 200, 'probes stay open');
      const api = createJfdlClient(s.url, { headers: { authorization: 'Bearer k-test-0123456789abcdef' } });
      assert.equal((await api.GET('/v1/models')).response.status, 200);
      assert.equal((await api.GET('/v1/models')).response.status, 200);
      const limited = await api.GET('/v1/models');
      assert.equal(limited.response.status, 429);
      assert.equal(limited.error?.error, 'rate_limited');
      assert.match(limited.response.headers.get('retry-after') ?? '', /^\d+$/);
    } finally {
      await s.close();
    }
  });
});
