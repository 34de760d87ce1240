/**
 * Domain errors at the HTTP edge: the status and headers come from the one table of
 * src/api/status.ts, the body is `{error, message, field?}`, and the cause — an onnxruntime
 * message, a worker's exit — goes to the log and never to the client.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { HTTP_STATUS, httpAnswer } from '../../src/api/status.js';
import { Cancelled, DeadlineExceeded, EngineUnavailable, ERROR_KINDS, InternalError, QueueFull, ServiceError, UnknownClass } from '../../src/errors.js';
import errorsPlugin from '../../src/plugins/errors.js';

test('every error kind has a status; retryable kinds carry Retry-After; none carries HTTP itself', () => {
  for (const k of ERROR_KINDS) assert.ok(HTTP_STATUS[k].status >= 400 && HTTP_STATUS[k].status < 600, k);
  const q = new QueueFull(7);
  assert.equal(q.kind, 'queue_full');
  assert.equal('statusCode' in q, false, 'a domain error has no HTTP status');
  assert.deepEqual(httpAnswer(q), {
    status: 503,
    headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '7' },
    body: '{"error":"queue_full","message":"the service is at capacity; retry later"}',
  });
  assert.equal(httpAnswer(new DeadlineExceeded(30)).status, 504);
  assert.equal(httpAnswer(new Cancelled('the service is shutting down')).headers['retry-after'], '1');
  // the scheduler's and engine's constructors keep their argument lists
  const e = new EngineUnavailable('worker died', new Error('exit 70'));
  assert.ok(e instanceof ServiceError && (e.cause as Error).message === 'exit 70');
});

test('an unknown class: a few names are listed, a thousand are pointed at', () => {
  const few = new UnknownClass('cat', ['0', '1', '2']);
  assert.equal(few.message, 'class "cat" is not a class of this model; use an index 0…2 or one of ["0","1","2"]');
  const many = new UnknownClass('dragon', Array.from({ length: 1000 }, (_, i) => `name ${i}`));
  assert.equal(many.message, 'class "dragon" is not a class of this model; use an index 0…999 or one of the 1000 names GET /v1/models lists');
  assert.equal(many.field, 'class');
});

test("the cause reaches the log (onnxruntime's own message), not the client", async () => {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const app = Fastify({ logger: { level: 'info', stream } });
  await app.register(errorsPlugin, { bodyLimit: 1024, edgeHeaders: [] });
  const ort = new Error("onnxruntime run failed: Non-zero status code returned while running Conv node. Name:'/down.0/conv' Status Message: bad alloc");
  app.get('/internal', async () => {
    throw new InternalError('inference failed', ort);
  });
  app.get('/engine', async () => {
    throw new EngineUnavailable(
      'the inference worker running this request died (engine worker exited with code 70); it is being restarted, retry',
      new Error('engine worker exited with code 70'),
    );
  });
  app.get('/bug', async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')");
  });
  try {
    const r = await app.inject('/internal');
    assert.equal(r.statusCode, 500);
    assert.deepEqual(r.json(), { error: 'internal_error', message: 'inference failed' });
    const logged = lines.find((l) => l.level === 50 && l.kind === 'internal_error');
    assert.ok(logged, JSON.stringify(lines));
    assert.equal(logged.cause.message, ort.message, 'the whole onnxruntime message is logged');

    const w = await app.inject('/engine');
    assert.equal(w.statusCode, 503);
    assert.equal(w.headers['retry-after'], '1');
    assert.ok(lines.some((l) => l.level === 40 && l.kind === 'engine_unavailable' && l.cause.message === 'engine worker exited with code 70'));

    const b = await app.inject('/bug');
    assert.deepEqual(b.json(), { error: 'internal_error', message: 'internal error' }, 'an unexpected error leaks nothing');
    assert.ok(lines.some((l) => l.level === 50 && /reading 'x'/.test(l.cause?.message ?? '')));
  } finally {
    await app.close();
  }
});
