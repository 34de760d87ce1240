import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { makeApp, tinyGuided, tinyManifest } from '../helpers.js';

describe('bad input → 4xx JSON {error, message, field}', () => {
  let app: FastifyInstance;
  const g = tinyGuided();
  const m = tinyManifest();
  before(async () => {
    app = await makeApp({ BODY_LIMIT_BYTES: '4096', MAX_IMAGES: '4' });
  });
  after(async () => app.close());

  const base = () => ({ model: g.model, class: 0 }) as Record<string, unknown>;
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ['class missing', { model: g.model }, 400, 'class'],
    ['class wrong type', { ...base(), class: true }, 400, 'class'],
    ['class negative', { ...base(), class: -1 }, 400, 'class'],
    ['class fractional', { ...base(), class: 1.5 }, 400, 'class'],
    ['class index out of range', { ...base(), class: m.classes.length + 5 }, 400, 'class'],
    ['class unknown name', { ...base(), class: 'no-such-class' }, 400, 'class'],
    ['model wrong type', { ...base(), model: 3 }, 400, 'model'],
    ['model unknown', { ...base(), model: 'nope' }, 404, 'model'],
    ['guidance wrong type', { ...base(), guidance: '1.5' }, 400, 'guidance'],
    ['guidance above model max', { ...base(), guidance: g.guidance.max + 1 }, 400, 'guidance'],
    ['guidance below model min', { ...base(), guidance: g.guidance.min - 1 }, 400, 'guidance'],
    ['steps zero', { ...base(), steps: 0 }, 400, 'steps'],
    ['steps fractional', { ...base(), steps: 1.5 }, 400, 'steps'],
    ['steps above max_steps', { ...base(), steps: m.max_steps + 1 }, 400, 'steps'],
    ['steps wrong type', { ...base(), steps: 'two' }, 400, 'steps'],
    ['sigmas empty', { ...base(), sigmas: [] }, 400, 'sigmas'],
    ['sigmas not numbers', { ...base(), sigmas: ['a'] }, 400, 'sigmas[0]'],
    ['sigmas ascending', { ...base(), sigmas: [1, 2] }, 400, 'sigmas'],
    ['sigmas out of range', { ...base(), sigmas: [m.sigma.max * 2] }, 400, 'sigmas'],
    ['sigmas below sigma_min', { ...base(), sigmas: [m.sigma.max, m.sigma.min / 2] }, 400, 'sigmas'],
    ['sigmas longer than max_steps', { ...base(), sigmas: Array.from({ length: m.max_steps + 1 }, (_, i) => m.sigma.max / (i + 1)) }, 400, 'sigmas'],
    ['steps disagree with sigmas', { ...base(), sigmas: [m.sigma.max, 1], steps: 3 }, 400, 'steps'],
    ['sampler unknown', { ...base(), sampler: 'euler' }, 400, 'sampler'],
    ['seed negative', { ...base(), seed: -1 }, 400, 'seed'],
    ['seed too big', { ...base(), seed: 2 ** 32 }, 400, 'seed'],
    ['seed fractional', { ...base(), seed: 0.5 }, 400, 'seed'],
    ['seed string', { ...base(), seed: '42' }, 400, 'seed'],
    ['num_images zero', { ...base(), num_images: 0 }, 400, 'num_images'],
    ['num_images above MAX_IMAGES', { ...base(), num_images: 5 }, 400, 'num_images'],
    ['num_images wrong type', { ...base(), num_images: '2' }, 400, 'num_images'],
    ['format unknown', { ...base(), format: 'gif' }, 400, 'format'],
    ['scale zero', { ...base(), scale: 0 }, 400, 'scale'],
    ['scale nine', { ...base(), scale: 9 }, 400, 'scale'],
    ['scale fractional', { ...base(), scale: 2.5 }, 400, 'scale'],
    ['debug wrong type', { ...base(), debug: 'yes' }, 400, 'debug'],
    ['unknown field', { ...base(), guidence: 2 }, 400, 'guidence'],
  ];

  for (const [name, payload, status, field] of cases) {
    test(name, async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/generate', payload });
      assert.equal(res.statusCode, status, res.body);
      const body = res.json();
      assert.equal(typeof body.error, 'string');
      assert.equal(typeof body.message, 'string');
      assert.equal(body.field, field, body.message);
      assert.doesNotMatch(res.body, /\n\s+at /, 'no stack trace');
    });
  }

  test('body not an object', async () => {
    for (const payload of ['[1,2]', '"x"', 'null', '42']) {
      const res = await app.inject({ method: 'POST', url: '/v1/generate', payload, headers: { 'content-type': 'application/json' } });
      assert.equal(res.statusCode, 400, payload);
      assert.equal(res.json().field, 'body');
    }
  });

  test('invalid JSON → 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: '{"class": 1,', headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'invalid_json');
    assert.equal(res.json().field, 'body');
  });

  test('empty body → 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: '', headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().field, 'body');
  });

  test('oversize body → 413', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: JSON.stringify({ class: 0, pad: 'x'.repeat(10_000) }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'body_too_large');
    assert.equal(res.json().field, 'body');
  });

  test('wrong content type → 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: 'class=1', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.statusCode, 415);
    assert.equal(typeof res.json().message, 'string');
  });

  test('unknown route → 404 JSON', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'not_found');
  });

  test('messages name the field and state the rule', async () => {
    const message = async (payload: unknown) => {
      const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: payload as object });
      assert.equal(res.statusCode, 400, res.body);
      return res.json() as { message: string; field: string };
    };
    // a missing field is "required", not "Invalid input"
    assert.deepEqual(await message({ model: g.model }), { error: 'invalid_request', message: 'class is required', field: 'class' });
    // one limit, one message, whichever check caught it (MAX_IMAGES is 4 here)
    for (const n of [5, 17, 1_000_000, 0]) assert.equal((await message({ ...base(), num_images: n })).message, 'num_images must be an integer within [1, 4]', String(n));
    assert.equal((await message({ ...base(), num_images: 1.5 })).message, 'num_images must be an integer within [1, 4]');
    assert.equal((await message({ ...base(), num_images: '2' })).message, 'num_images must be an integer (got a string)');
    // no field named twice ("sigmas sigmas[0]")
    for (const sigmas of [[m.sigma.max * 2], [1, 2], [], Array.from({ length: m.max_steps + 1 }, (_, i) => m.sigma.max / (i + 1))]) {
      const msg = (await message({ ...base(), sigmas })).message;
      assert.match(msg, /^sigmas/, msg);
      assert.doesNotMatch(msg, /sigmas\W+sigmas/, msg);
    }
    // an empty key is named as such, and the field is the body
    assert.deepEqual(await message({ ...base(), '': 1 }), { error: 'invalid_request', message: 'unknown field ""', field: 'body' });
    assert.deepEqual(await message({ ...base(), colour: 'red', size: 3 }), { error: 'invalid_request', message: 'unknown fields "colour", "size"', field: 'colour' });
    // types and choices in words
    assert.equal((await message({ ...base(), class: true })).message, 'class must be an integer within [0, 1000000] or a string of 1–128 characters (got a boolean)');
    assert.equal((await message({ ...base(), sampler: 'euler' })).message, 'sampler must be one of "ode", "consistency"');
    assert.equal((await message({ ...base(), seed: 2 ** 32 })).message, 'seed must be an integer within [0, 4294967295]');
    assert.equal((await message({ ...base(), debug: 'yes' })).message, 'debug must be a boolean (true or false) (got a string)');
    assert.equal((await message({ ...base(), model: 'no such model' })).field, 'model');
    for (const payload of ['[1,2]', 'null']) {
      const res = await app.inject({ method: 'POST', url: '/v1/generate', payload, headers: { 'content-type': 'application/json' } });
      assert.match(res.json().message, /^the body must be a JSON object \(got (an array|null)\)$/);
    }
  });
});
