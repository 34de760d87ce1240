import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { makeApp, sleep, tinyGuided, waitFor } from '../helpers.js';

describe('backpressure, deadlines, disconnects', () => {
  const g = tinyGuided();
  const apps: FastifyInstance[] = [];
  after(async () => {
    for (const a of apps) await a.close();
  });

  test('full queue → 503 at once with Retry-After; the queued request still completes', async () => {
    // the first request's lanes wait 3 s for company (fixed wait), so the queue stays full
    const app = await makeApp({ QUEUE_LIMIT: '2', MAX_IMAGES: '2', MAX_WAIT_MS: '3000', BATCH_WAIT: 'fixed' });
    apps.push(app);
    let firstDone = false;
    const first = app.inject({ method: 'POST', url: '/v1/generate', payload: { model: g.model, class: 0, num_images: 2 } }).then((r) => {
      firstDone = true;
      return r;
    });
    await waitFor(() => app.registry.get(g.model)!.scheduler!.queueDepth === 2);
    const second = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: g.model, class: 0 } });
    assert.equal(firstDone, false, 'answered at once, not after the queued request');
    assert.equal(second.statusCode, 503);
    assert.equal(second.json().error, 'queue_full');
    assert.ok(Number(second.headers['retry-after']) >= 1);
    assert.equal((await first).statusCode, 200);
    assert.equal(app.registry.get(g.model)!.scheduler!.queueDepth, 0);
  });

  test('deadline → 504 and the lanes are dropped', async () => {
    const app = await makeApp({ REQUEST_DEADLINE_MS: '30', MAX_WAIT_MS: '300', BATCH_WAIT: 'fixed' });
    apps.push(app);
    const s = app.registry.get(g.model)!.scheduler!;
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: g.model, class: 0, num_images: 3, steps: 2 } });
    assert.equal(res.statusCode, 504);
    assert.equal(res.json().error, 'deadline_exceeded');
    assert.equal(s.queueDepth, 0);
    await sleep(350);
    assert.equal(s.stats.images, 0, 'dropped lanes never finished');
  });

  test('a client that disconnects frees its lanes (queue depth back to 0)', async () => {
    const app = await makeApp({ MAX_WAIT_MS: '300', BATCH_WAIT: 'fixed' });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const s = app.registry.get(g.model)!.scheduler!;
    const body = JSON.stringify({ model: g.model, class: 1, num_images: 4, steps: 4 });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/generate', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    req.on('error', () => undefined);
    req.end(body);
    await waitFor(() => s.queueDepth === 4);
    req.destroy();
    await waitFor(() => s.queueDepth === 0, 2000);
    assert.equal(s.stats.aborted, 1);
    await sleep(400);
    assert.equal(s.inFlightCalls, 0);
    assert.equal(s.stats.images, 0);
    // the service is still healthy and serves the next request
    const ok = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: g.model, class: 1 } });
    assert.equal(ok.statusCode, 200);
  });
});
