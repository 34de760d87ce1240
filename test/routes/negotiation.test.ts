/**
 * Content negotiation: an Accept that excludes everything an operation returns is 406 (not a JSON
 * 200); on POST /v1/generate/image an explicit format must agree with Accept (400 naming
 * `format`), and without one Accept picks the image type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { makeApp, tinyGuided } from '../helpers.js';

describe('content negotiation', () => {
  let app: FastifyInstance;
  const g = tinyGuided();
  before(async () => {
    app = await makeApp();
  });
  after(() => app.close());

  const get = (url: string, accept?: string) => app.inject({ method: 'GET', url, headers: accept === undefined ? {} : { accept } });
  const post = (url: string, payload: object, accept?: string) => app.inject({ method: 'POST', url, payload, headers: accept === undefined ? {} : { accept } });

  test('Accept that allows nothing an operation returns → 406 not_acceptable naming accept', async () => {
    for (const [res, what] of [
      [await post('/v1/generate', { model: g.model, class: 0 }, 'image/gif'), 'generate, image/gif'],
      [await post('/v1/generate', { model: g.model, class: 0 }, 'image/png'), 'generate, image/png'],
      [await post('/v1/generate/image', { model: g.model, class: 0 }, 'image/gif'), 'image, image/gif'],
      [await post('/v1/generate/image', { model: g.model, class: 0 }, 'application/json'), 'image, application/json'],
      [await get('/v1/models', 'text/html'), 'models, text/html'],
      [await get(`/v1/models/${g.model}`, 'image/gif'), 'model, image/gif'],
      [await get('/healthz', 'text/csv'), 'healthz, text/csv'],
      [await get('/metrics', 'application/json'), 'metrics, application/json'],
      [await get('/', 'application/json'), 'playground, application/json'],
    ] as const) {
      assert.equal(res.statusCode, 406, `${what}: ${res.body}`);
      assert.equal(res.json().error, 'not_acceptable', what);
      assert.equal(res.json().field, 'accept', what);
    }
    // the JSON operation points at the image one
    assert.match((await post('/v1/generate', { model: g.model, class: 0 }, 'image/png')).json().message, /POST \/v1\/generate\/image/);
  });

  test('acceptable, wildcard, weighted, absent or unparseable Accept is served', async () => {
    for (const accept of [undefined, '', '*/*', 'application/*', 'application/json', 'text/html, application/json;q=0.1', 'garbage', 'image/gif, */*;q=0.5']) {
      const res = await post('/v1/generate', { model: g.model, class: 0, seed: 1 }, accept);
      assert.equal(res.statusCode, 200, `${JSON.stringify(accept)}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/json/);
    }
    assert.equal(
      (await get('/metrics', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).statusCode,
      200,
      "Prometheus' own Accept",
    );
    assert.equal((await get('/', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).statusCode, 200, "a browser's Accept");
  });

  test('POST /v1/generate/image: Accept picks the type; an explicit format must agree with Accept', async () => {
    const body = { model: g.model, class: 0, seed: 3 };
    const type = async (format: string | undefined, accept: string | undefined) => {
      const res = await post('/v1/generate/image', format ? { ...body, format } : body, accept);
      return res.statusCode === 200 ? String(res.headers['content-type']) : `${res.statusCode} ${res.json().error} ${res.json().field}`;
    };
    assert.equal(await type(undefined, undefined), 'image/png');
    assert.equal(await type(undefined, 'image/*'), 'image/png');
    assert.equal(await type(undefined, 'image/webp'), 'image/webp');
    assert.equal(await type(undefined, 'image/webp;q=0.5, image/jpeg'), 'image/jpeg');
    assert.equal(await type('webp', undefined), 'image/webp');
    assert.equal(await type('webp', 'image/*'), 'image/webp');
    assert.equal(await type('jpeg', 'image/png, image/jpeg;q=0.1'), 'image/jpeg');
    // the conflict is refused, not silently resolved either way
    assert.equal(await type('webp', 'image/png'), '400 invalid_request format');
    const conflict = await post('/v1/generate/image', { ...body, format: 'webp' }, 'image/png');
    assert.match(conflict.json().message, /format "webp" conflicts with Accept: image\/png/);
  });
});
