/**
 * The HTTP edge over real sockets: answers that fastify's router or node's HTTP parser would give
 * in their own shape come in the API's `{error, message, field?}` with the request id and the
 * security headers; 405 with Allow; 415 names what was sent; 417 is answered and counted; an
 * oversize body is answered 413 while the client is still writing it, not reset under the write.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startServer, type LiveServer } from '../api/live.js';
import { parsePrometheus, value } from '../api/prom.js';
import { tinyGuided } from '../helpers.js';

const KEY = 'edge-test-key-0123456789';

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** the server closed the connection after answering */
  closedByServer: boolean;
}

/** Send raw bytes on a fresh connection; resolves with the first response once the server closes or 2 s pass. */
function raw(port: number, bytes: Buffer | string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write(bytes));
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const all = Buffer.concat(chunks);
      // skip interim 1xx answers (100 Continue)
      let start = 0;
      while (/^HTTP\/1\.1 1\d\d/.test(all.subarray(start, start + 12).toString('latin1'))) start = all.indexOf('\r\n\r\n', start) + 4;
      const text = all.subarray(start).toString('latin1');
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      const lines = head.split('\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
      if (!m) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const body = all.subarray(start + Buffer.byteLength(head, 'latin1') + 4).toString('utf8');
      resolve({ status: Number(m[1]), headers, body, closedByServer });
    };
    const timer = setTimeout(done, 2000);
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => {
      closedByServer = true;
      done();
    });
    sock.on('error', () => done());
  });
}

/** A fetch Response as status, headers and body text. */
async function fetched(r: Response): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => (headers[k] = v));
  return { status: r.status, headers, body: await r.text() };
}

/** The edge's promises for every answer: JSON error shape, request id, security headers. */
function assertEdgeAnswer(r: { status: number; headers: Record<string, string | string[] | undefined>; body: string }, status: number, error: string) {
  assert.equal(r.status, status, r.body);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const j = JSON.parse(r.body);
  assert.equal(j.error, error, r.body);
  assert.equal(typeof j.message, 'string');
  assert.equal(j.code, undefined, "not fastify's own shape");
  assert.equal(j.statusCode, undefined, "not fastify's own shape");
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'x-request-id');
  assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/, 'security headers');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  return j as { error: string; message: string; field?: string };
}

describe('HTTP edge (live server)', () => {
  let s: LiveServer;
  let keyed: LiveServer;
  let port: number;
  const g = tinyGuided();
  before(async () => {
    s = await startServer({ BODY_LIMIT_BYTES: '65536' });
    keyed = await startServer({ API_KEYS: KEY });
    port = Number(new URL(s.url).port);
  });
  after(async () => {
    await s.close();
    await keyed.close();
  });

  test('a model name longer than the router default (100) is checked by its schema: 400 naming the field, or 404; 401 first when keys are set', async () => {
    const long = await fetch(`${s.url}/v1/models/${'a'.repeat(110)}`);
    const j = assertEdgeAnswer(await fetched(long), 400, 'invalid_request');
    assert.equal(j.field, 'name');
    assert.match(j.message, /at most 64 characters/);
    // within the schema's limit but unknown: 404 with the same shape
    const unknown = await fetch(`${s.url}/v1/models/${'b'.repeat(64)}`);
    assertEdgeAnswer(await fetched(unknown), 404, 'unknown_model');
    // with API keys, an unauthenticated caller gets 401 whatever the name
    const denied = await fetch(`${keyed.url}/v1/models/${'a'.repeat(300)}`);
    assertEdgeAnswer(await fetched(denied), 401, 'unauthorized');
  });

  test('a malformed %-escape: 400 bad_request in the API shape', async () => {
    const r = await raw(port, 'GET /v1/models/%zz HTTP/1.1\r\nhost: x\r\n\r\n');
    const j = assertEdgeAnswer(r, 400, 'bad_request');
    assert.equal(j.field, 'url');
    assert.match(j.message, /%-escape/);
  });

  test('a raw non-ASCII byte in the URL: 400 in the API shape with Connection: close, and the server closes after the answer', async () => {
    const r = await raw(port, Buffer.concat([Buffer.from('GET /v1/models/'), Buffer.from([0xff]), Buffer.from(' HTTP/1.1\r\nhost: x\r\n\r\n')]));
    const j = assertEdgeAnswer(r, 400, 'bad_request');
    assert.match(j.message, /not valid HTTP/);
    assert.equal(r.headers.connection, 'close', 'a keep-alive client is told not to reuse the connection');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), 'the whole answer arrived');
    assert.ok(r.closedByServer, 'the server ends the connection (FIN) after the answer, not before');
  });

  test('wrong method on a known path: 405 with Allow; an unknown path stays 404', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/v1/generate', 'POST'],
      ['GET', '/v1/generate', 'POST'],
      ['DELETE', `/v1/models/${g.model}`, 'GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
    ] as const) {
      const r = await fetch(`${s.url}${path}`, { method });
      const j = assertEdgeAnswer(await fetched(r), 405, 'method_not_allowed');
      assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
      assert.match(j.message, new RegExp(`^${method} is not supported on`));
    }
    const nf = await fetch(`${s.url}/v2/generate`, { method: 'PUT' });
    assertEdgeAnswer(await fetched(nf), 404, 'not_found');
  });

  test('415 names the content type received', async () => {
    for (const type of ['text/plain', 'application/xml; charset=utf-8', 'multipart/form-data; boundary=x']) {
      const r = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': type }, body: 'class=0' });
      const j = assertEdgeAnswer(await fetched(r), 415, 'unsupported_media_type');
      assert.ok(j.message.includes(JSON.stringify(type)), j.message);
      assert.equal(j.field, 'content-type');
    }
  });

  test('417 for an Expect other than 100-continue, in the API shape, and counted in http_requests_total', async () => {
    const before = parsePrometheus(await (await fetch(`${s.url}/metrics`)).text());
    const was = value(before, 'http_requests_total', { method: 'GET', route: '/healthz', status_code: '417' }) ?? 0;
    const r = await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\nexpect: x-foo\r\n\r\n');
    const j = assertEdgeAnswer(r, 417, 'expectation_failed');
    assert.equal(j.field, 'expect');
    assert.equal(r.headers.connection, 'close');
    const fams = parsePrometheus(await (await fetch(`${s.url}/metrics`)).text());
    assert.equal(value(fams, 'http_requests_total', { method: 'GET', route: '/healthz', status_code: '417' }), was + 1);
    // 100-continue is still honoured
    const ok = await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n\r\n');
    assert.equal(ok.status, 200);
  });

  test('a client that writes its whole body before reading gets the 413, not EPIPE under its write', async () => {
    // 4 MiB: more than loopback's socket buffers hold, so the server must read on after answering
    const body = Buffer.alloc(4 * 1024 * 1024, 0x20);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await new Promise<string>((resolve) => {
          const sock = net.connect({ host: '127.0.0.1', port });
          const chunks: Buffer[] = [];
          let writeError = '';
          sock.on('data', (d) => chunks.push(d));
          sock.on('error', (e) => (writeError = (e as NodeJS.ErrnoException).code ?? 'error'));
          sock.on('close', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const connection = /\r\nconnection: *([^\r]*)/i.exec(text)?.[1];
            resolve(`${writeError || 'written'} ${text.split('\r\n')[0]} ${JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error} ${connection}`);
          });
          // half the clients ask to close, half would keep the connection alive
          sock.write(
            `POST /v1/generate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${i % 2 ? '' : 'connection: close\r\n'}\r\n`,
          );
          let off = 0;
          const pump = () => {
            while (off < body.length) if (!sock.write(body.subarray(off, (off += 64 * 1024)))) return void sock.once('drain', pump);
            sock.end();
          };
          pump();
        }),
      );
    }
    assert.deepEqual(outcomes, Array(4).fill('written HTTP/1.1 413 Payload Too Large body_too_large close'));
  });

  test('the drain after an early answer is bounded: past DRAIN_BYTES the server cuts the connection', async () => {
    const declared = 64 * 1024 * 1024;
    const written = await new Promise<number>((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port }, () => {
        sock.write(`POST /v1/generate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!sock.destroyed && sock.bytesWritten < declared) if (!sock.write(chunk)) return void sock.once('drain', pump);
        };
        pump();
      });
      sock.on('data', () => undefined);
      sock.on('error', () => undefined);
      sock.on('close', () => resolve(sock.bytesWritten));
      setTimeout(() => sock.destroy(), 10_000);
    });
    assert.ok(written < declared / 2, `the server read ${written} of ${declared} bytes before closing`);
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  });
});

test('with CORS on, its catch-all preflight route does not turn unknown paths into 405', async () => {
  const { makeApp } = await import('../helpers.js');
  const app = await makeApp({ CORS_ORIGINS: 'https://a.example' });
  try {
    assert.equal((await app.inject({ method: 'PUT', url: '/nope' })).statusCode, 404);
    const r = await app.inject({ method: 'PUT', url: '/v1/generate' });
    assert.equal(r.statusCode, 405);
    assert.equal(r.headers.allow, 'POST');
  } finally {
    await app.close();
  }
});
