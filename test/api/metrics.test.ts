/**
 * GET /metrics on a real server: strictly valid Prometheus text (test/api/prom.ts), names by
 * convention, and the values move as the traffic says — request counts by route and status,
 * images, exact guided/unguided row counts, per-request histograms, and a batch-size histogram
 * with rows > 1 under concurrent unguided load (so the rows come from batching, not from the
 * two rows of a guided lane).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createJfdlClient, type JfdlClient } from '../../src/client/index.js';
import { startServer, type LiveServer } from './live.js';
import { parsePrometheus, value, type Family } from './prom.js';
import { tinyManifest, waitFor } from '../helpers.js';

let server: LiveServer;
let api: JfdlClient;

async function scrape(): Promise<{ text: string; fams: Map<string, Family>; type: string }> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, fams: parsePrometheus(text), type: res.headers.get('content-type') ?? '' };
}

before(async () => {
  // a generous MAX_WAIT_MS lets concurrent arrivals share calls even on a busy machine
  server = await startServer({ MAX_WAIT_MS: '20', BATCH_WAIT: 'fixed' });
  api = createJfdlClient(server.url);
});
after(() => server.close());

test('the exposition is valid Prometheus text with conventional names', async () => {
  const { fams, type } = await scrape();
  assert.match(type, /^text\/plain; version=0\.0\.4/);
  for (const f of fams.values()) {
    assert.ok(f.help.length > 0, `${f.name} has HELP`);
    if (f.type === 'counter') assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
    // (prom-client's own nodejs_active_*_total gauges predate the convention; ours follow it)
    if (f.type !== 'counter' && /^(jfdl|http)_/.test(f.name)) assert.doesNotMatch(f.name, /_total$/, `${f.name} (${f.type}) must not end in _total`);
    assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|mb)$|_ms_/, `${f.name} uses base units`);
    if (/duration|latency|time/.test(f.name) && f.type === 'histogram') assert.match(f.name, /_seconds$/, `${f.name} in seconds`);
  }
  for (const name of [
    'http_requests_total',
    'http_request_duration_seconds',
    'jfdl_queue_depth',
    'jfdl_lanes_in_flight',
    'jfdl_network_calls_in_flight',
    'jfdl_network_calls_total',
    'jfdl_batch_size_rows',
    'jfdl_rows_total',
    'jfdl_network_call_duration_seconds',
    'jfdl_queue_duration_seconds',
    'jfdl_compute_duration_seconds',
    'jfdl_encode_duration_seconds',
    'jfdl_images_generated_total',
    'jfdl_requests_dropped_total',
    'jfdl_model_info',
    'jfdl_execution_provider_info',
    'jfdl_model_ready',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ])
    assert.ok(fams.has(name), `metric ${name} is exported`);
});

test('model and execution-provider info gauges describe the loaded graphs', async () => {
  const { fams } = await scrape();
  const [guided, plain] = tinyManifest().graphs.map((g) => g.model);
  assert.equal(value(fams, 'jfdl_model_info', { model: guided, kind: 'jfdl', folder: 'tiny-rgb8', guided: 'true', status: 'ready', execution_provider: 'cpu' }), 1);
  assert.equal(value(fams, 'jfdl_model_info', { model: plain, kind: 'cm', folder: 'tiny-rgb8', guided: 'false', status: 'ready', execution_provider: 'cpu' }), 1);
  assert.equal(value(fams, 'jfdl_execution_provider_info', { model: guided, provider: 'cpu' }), 1);
  assert.equal(value(fams, 'jfdl_model_ready', { model: plain }), 1);
});

test('values move with traffic: requests, images, rows by kind, histograms, batching', async () => {
  const m = tinyManifest();
  const guided = m.graphs.find((g) => g.null_class !== null)!.model;
  const plain = m.graphs.find((g) => g.null_class === null)!.model;
  const v0 = (await scrape()).fams;
  const at = (f: Map<string, Family>, name: string, labels: Record<string, string>) => value(f, name, labels) ?? 0;

  // 12 unguided single-image requests at once (1 row per lane per step), 4 guided 2-image ones
  const steps = 3;
  const unguided = Array.from({ length: 12 }, (_, i) => api.POST('/v1/generate', { body: { model: plain, class: i % 4, steps, seed: i } }));
  const guidedReqs = Array.from({ length: 4 }, (_, i) => api.POST('/v1/generate', { body: { model: guided, class: i % 4, guidance: 1.5, steps, num_images: 2, seed: 100 + i } }));
  const results = await Promise.all([...unguided, ...guidedReqs]);
  for (const r of results) assert.equal(r.response.status, 200, JSON.stringify(r.error));
  const bad = await api.POST('/v1/generate', { body: { model: guided, class: 99 } });
  assert.equal(bad.response.status, 400);

  const v1 = (await scrape()).fams;
  const d = (name: string, labels: Record<string, string>) => at(v1, name, labels) - at(v0, name, labels);

  assert.equal(d('http_requests_total', { method: 'POST', route: '/v1/generate', status_code: '200' }), 16);
  assert.equal(d('http_requests_total', { method: 'POST', route: '/v1/generate', status_code: '400' }), 1);
  assert.equal(d('http_request_duration_seconds_count', { method: 'POST', route: '/v1/generate', status_code: '200' }), 16);
  assert.ok(d('http_request_duration_seconds_sum', { method: 'POST', route: '/v1/generate', status_code: '200' }) > 0);
  assert.ok(at(v1, 'http_requests_total', { method: 'GET', route: '/metrics', status_code: '200' }) >= 1, 'scrapes are counted too');

  assert.equal(d('jfdl_images_generated_total', { model: plain }), 12);
  assert.equal(d('jfdl_images_generated_total', { model: guided }), 8);
  // rows are exact: every lane runs `steps` calls; a guided lane sends 2 rows per call
  assert.equal(d('jfdl_rows_total', { model: plain, kind: 'unguided' }), 12 * steps);
  assert.equal(d('jfdl_rows_total', { model: guided, kind: 'guided' }), 8 * 2 * steps);
  assert.equal(at(v1, 'jfdl_rows_total', { model: guided, kind: 'unguided' }), 0);
  assert.equal(d('jfdl_batch_size_rows_sum', { model: plain }), 12 * steps);

  // batching: 12 concurrent unguided lanes took fewer calls than lane-steps, and some call had > 1 row
  const calls = d('jfdl_network_calls_total', { model: plain });
  assert.equal(d('jfdl_batch_size_rows_count', { model: plain }), calls);
  assert.equal(d('jfdl_network_call_duration_seconds_count', { model: plain }), calls);
  assert.ok(calls < 12 * steps, `batched: ${calls} calls for ${12 * steps} lane-steps`);
  const single = d('jfdl_batch_size_rows_bucket', { model: plain, le: '1' });
  assert.ok(calls - single > 0, `batch-size histogram shows rows > 1 (${calls} calls, ${single} of 1 row)`);

  for (const name of ['jfdl_queue_duration_seconds_count', 'jfdl_compute_duration_seconds_count']) {
    assert.equal(d(name, { model: plain }), 12, name);
    assert.equal(d(name, { model: guided }), 4, name);
  }
  assert.equal(d('jfdl_encode_duration_seconds_count', { model: plain, format: 'png' }), 12);

  // nothing left in flight once every request has answered
  assert.equal(value(v1, 'jfdl_queue_depth', { model: plain }), 0);
  assert.equal(value(v1, 'jfdl_lanes_in_flight', { model: guided }), 0);
});

test('a full queue shows in jfdl_requests_dropped_total and as a 503 in http_requests_total', async () => {
  const s = await startServer({ QUEUE_LIMIT: '2', MAX_IMAGES: '2', MAX_WAIT_MS: '300', BATCH_WAIT: 'fixed' });
  try {
    const c = createJfdlClient(s.url);
    // the first request fills the queue while its lanes wait for a fuller batch
    const first = c.POST('/v1/generate', { body: { class: 0, num_images: 2 } });
    await waitFor(() => s.app.registry.get('tiny-rgb8')!.scheduler!.queueDepth === 2);
    const r = await c.POST('/v1/generate', { body: { class: 0 } });
    assert.equal(r.response.status, 503);
    assert.equal((await first).response.status, 200);
    const fams = parsePrometheus(await (await fetch(`${s.url}/metrics`)).text());
    assert.equal(value(fams, 'jfdl_requests_dropped_total', { model: 'tiny-rgb8', reason: 'queue_full' }), 1);
    assert.equal(value(fams, 'http_requests_total', { method: 'POST', route: '/v1/generate', status_code: '503' }), 1);
  } finally {
    await s.close();
  }
});

test('the parser rejects malformed expositions (it is not a rubber stamp)', () => {
  assert.throws(() => parsePrometheus('foo 1\n'), /no # TYPE/);
  assert.throws(() => parsePrometheus('# TYPE a counter\na{x="1} 2\n'), /unterminated|bad/);
  assert.throws(() => parsePrometheus('# TYPE a counter\na 1\na 2\n'), /duplicate/);
  assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'), /cumulative/);
  assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'), /≠ _count/);
});
