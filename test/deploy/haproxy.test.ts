/**
 * deploy/haproxy/haproxy.cfg, run by the real haproxy (Debian's 2.6) in front of two small
 * loopback servers that behave as a replica does while it drains: the configuration is valid
 * with 1 to 4 replicas; a POST answered 503 `shutting_down` is replayed, body intact, on the
 * other server; a refused connection likewise; a server whose /readyz turns 503 is taken out.
 * (The rolling restart with real replicas is `npm run test:scale`.) Skipped where haproxy is
 * not installed; .ci/run installs it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { CONFIG, haproxyEnv, retriesFromLog, serverStates, startHaproxy, stats, waitServer, type Haproxy } from '../../scripts/container/haproxy.js';
import { freePort } from '../../scripts/container/podman.js';

const hasHaproxy = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/haproxy`));
if (!hasHaproxy && process.env.CI) throw new Error('haproxy is not installed (apt-get install haproxy)');

/** A stand-in replica: /readyz answers `ready`; POST /v1/generate answers `status` and echoes the body it got. */
function stub(port: number, state: { ready: number; status: number; bodies: string[] }): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/readyz') {
        res.writeHead(state.ready).end();
        return;
      }
      state.bodies.push(body);
      if (state.status === 503) {
        res.writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': '1' }).end(JSON.stringify({ error: 'shutting_down', message: 'draining' }));
      } else res.writeHead(state.status, { 'content-type': 'application/json' }).end(JSON.stringify({ port, body }));
    });
  });
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r(s)));
}

function post(port: number, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/generate', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let s = '';
      res.on('data', (c) => (s += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(s || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('haproxy configuration (deploy/haproxy/haproxy.cfg)', { skip: hasHaproxy ? false : 'haproxy not installed', timeout: 60_000 }, () => {
  const a = { ready: 200, status: 200, bodies: [] as string[] };
  const b = { ready: 200, status: 200, bodies: [] as string[] };
  let servers: http.Server[] = [];
  let h: Haproxy;
  let pa = 0;
  let pb = 0;

  before(async () => {
    [pa, pb] = [await freePort(), await freePort()];
    servers = [await stub(pa, a), await stub(pb, b)];
    h = await startHaproxy(await freePort(), await freePort(), [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`]);
    await waitServer(h.statsPort, 'r1', 'UP', 10_000);
    await waitServer(h.statsPort, 'r2', 'UP', 10_000);
  });

  after(async () => {
    await h?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  test('valid for 1 to 4 replicas', () => {
    for (const n of [1, 2, 3, 4]) {
      const env = { ...process.env, ...haproxyEnv(18000, 18001, Array.from({ length: n }, (_, i) => `127.0.0.1:${19000 + i}`)) };
      const out = execFileSync('haproxy', ['-c', '-f', CONFIG], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(out, /Configuration file is valid/);
    }
    assert.throws(() => haproxyEnv(1, 2, []), /1 to 4 replicas/);
  });

  test('a POST answered 503 shutting_down is replayed, body intact, on the other replica', async () => {
    a.status = 503;
    a.bodies.length = 0;
    const body = JSON.stringify({ model: 'digits16', class: 3, seed: 7, pad: 'x'.repeat(600) });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await post(h.port, body));
    for (const r of answers) {
      assert.equal(r.status, 200);
      assert.equal(r.json.port, pb);
      assert.equal(r.json.body, body);
    }
    a.status = 200;
    assert.ok(a.bodies.length >= 1 && a.bodies.every((x) => x === body), `the draining replica saw the request first (${a.bodies.length} times)`);
    // haproxy writes a request's log line once it is done: wait (bounded) for the sixth
    const t0 = Date.now();
    while (retriesFromLog(h.log()).requests < 6 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    const log = retriesFromLog(h.log());
    assert.equal(log.requests, 6);
    assert.equal(log.retried, a.bodies.length, 'each 503 cost one retry');
    assert.equal(log.redispatched, a.bodies.length);
  });

  test('a refused connection is retried on the other replica; the closed one is taken out', async () => {
    await new Promise((r) => servers[0].close(r));
    servers[0].closeAllConnections();
    for (let i = 0; i < 4; i++) assert.equal((await post(h.port, '{"class":1}')).status, 200);
    await waitServer(h.statsPort, 'r1', 'DOWN', 5000);
    const backend = (await stats(h.statsPort)).find((x) => x.pxname === 'jfdl' && x.svname === 'BACKEND')!;
    assert.ok(backend.wretr >= 1 && backend.wredis >= 1, `retries ${backend.wretr}, redispatches ${backend.wredis}`);
    servers[0] = await stub(pa, a);
    await waitServer(h.statsPort, 'r1', 'UP', 10_000);
  });

  test('a replica whose /readyz turns 503 is taken out within about a second, and back after two passes', async () => {
    b.ready = 503;
    const ms = await waitServer(h.statsPort, 'r2', 'DOWN', 5000);
    assert.ok(ms < 2500, `${ms} ms`);
    for (let i = 0; i < 4; i++) assert.equal((await post(h.port, '{"class":2}')).json.port, pa, 'only the ready replica gets requests');
    b.ready = 200;
    await waitServer(h.statsPort, 'r2', 'UP', 5000);
    assert.deepEqual(await serverStates(h.statsPort), { r1: 'UP', r2: 'UP' });
  });
});
