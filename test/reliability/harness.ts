/**
 * Reliability harness: starts the service as a child process (./target.ts), talks to it over
 * real HTTP on 127.0.0.1 (a raw socket client for malformed requests, node:http for load), and
 * reads its internals over IPC. Every wait here is bounded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Command, Probe } from './target.js';

export type { Probe } from './target.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Target {
  port: number;
  pid: number;
  /** exits of the server process not asked for by stop() */
  crashes(): number;
  /** how the process ended (null while it runs) */
  exitStatus(): { code: number | null; signal: string | null } | null;
  /** its stdout+stderr so far (logs) */
  output(): string;
  probe(opts?: { gc?: boolean; reset?: boolean }): Promise<Probe>;
  killWorker(model: string, index?: number): Promise<void>;
  stop(): Promise<void>;
}

type DistCommand = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/** Start the service with `env` (merged over a quiet, single-thread CPU default) and wait until it listens and has loaded its models. */
export async function startTarget(env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Target> {
  const child: ChildProcess = fork(new URL('./target.ts', import.meta.url).pathname, [], {
    // RELIABILITY_NODE_ARGS: extra node flags for the service (e.g. --cpu-prof to profile it under attack)
    execArgv: ['--expose-gc', '--import', 'tsx', ...(process.env.RELIABILITY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
    env: {
      ...process.env,
      LOG_LEVEL: 'error',
      EXECUTION_PROVIDERS: 'cpu',
      INTRA_OP_THREADS: '1',
      MODELS_DIR: 'test/fixtures/models',
      ...env,
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let crashes = 0;
  let stopping = false;
  let exited = false;
  const waiters = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let exitStatus: { code: number | null; signal: string | null } | null = null;
  child.on('exit', (code, signal) => {
    exited = true;
    exitStatus = { code, signal };
    if (!stopping) crashes++;
    for (const w of waiters.values()) w.reject(new Error(`service exited (code ${code}, signal ${signal})`));
    waiters.clear();
  });
  let nextId = 1;
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`service did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.on('message', (m: any) => {
      if (m?.type === 'listening') {
        clearTimeout(t);
        resolve(m.port);
        return;
      }
      const w = waiters.get(m?.id);
      if (!w) return;
      waiters.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`service exited with code ${code} during start-up:\n${out}`));
    });
  });
  const send = <T>(cmd: DistCommand, ms = 15_000): Promise<T> => {
    if (exited) return Promise.reject(new Error('service is not running'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        waiters.delete(id);
        reject(new Error(`IPC ${cmd.cmd} timed out`));
      }, ms);
      waiters.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      child.send({ ...cmd, id });
    });
  };
  return {
    port,
    pid: child.pid!,
    crashes: () => crashes,
    exitStatus: () => exitStatus,
    output: () => out,
    probe: (o = {}) => send<Probe>({ cmd: 'probe', ...o }),
    killWorker: (model, index = 0) => send<void>({ cmd: 'kill-worker', model, index }),
    async stop() {
      if (exited) return;
      stopping = true;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      await send({ cmd: 'close' }, 10_000).catch(() => undefined);
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket: the bytes go out exactly as given (paths are not normalised,
// headers may repeat or lie), the connection closes after one response.

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  ms: number;
}

export type RawOutcome = { response: RawResponse } | { error: string; ms: number };

/**
 * Send `bytes`, then half-close when `end` (node's server takes a half-close as the client
 * going away) and read until the server closes.
 * `timeoutMs` bounds the whole exchange.
 */
export function rawExchange(port: number, bytes: Buffer, opts: { end?: boolean; timeoutMs?: number } = {}): Promise<RawOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = net.connect({ host: '127.0.0.1', port });
    const finish = (err?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const ms = performance.now() - t0;
      const buf = Buffer.concat(chunks);
      const parsed = parseResponse(buf);
      if (parsed) resolve({ response: { ...parsed, ms } });
      else resolve({ error: err ?? (buf.length ? `unparseable response: ${JSON.stringify(buf.subarray(0, 200).toString('latin1'))}` : 'connection closed without a response'), ms });
    };
    const timer = setTimeout(() => finish('timeout'), opts.timeoutMs ?? 15_000);
    sock.on('connect', () => {
      sock.write(bytes);
      if (opts.end) sock.end();
    });
    sock.on('data', (d) => {
      chunks.push(d);
      // done when a complete response is in (the server may keep the connection open)
      if (parseResponse(Buffer.concat(chunks), true)) finish();
    });
    sock.on('end', () => finish());
    sock.on('close', () => finish());
    sock.on('error', (e) => finish((e as NodeJS.ErrnoException).code ?? e.message));
  });
}

/** Parse one HTTP/1.1 response (Content-Length or chunked); null when incomplete. */
function parseResponse(buf: Buffer, needComplete = false): Omit<RawResponse, 'ms'> | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = buf.subarray(headEnd + 4);
  let body: Buffer;
  if (headers['transfer-encoding']?.includes('chunked')) {
    const parts: Buffer[] = [];
    let complete = false;
    for (;;) {
      const le = rest.indexOf('\r\n');
      if (le < 0) break;
      const size = parseInt(rest.subarray(0, le).toString('latin1'), 16);
      if (!Number.isFinite(size)) break;
      if (size === 0) {
        complete = true;
        break;
      }
      if (rest.length < le + 2 + size + 2) break;
      parts.push(rest.subarray(le + 2, le + 2 + size));
      rest = rest.subarray(le + 2 + size + 2);
    }
    if (needComplete && !complete) return null;
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (needComplete && rest.length < n) return null;
    body = rest.subarray(0, n);
  } else {
    if (needComplete && !/^(1\d\d|204|304)$/.test(m[1])) return null;
    body = rest;
  }
  return { status: Number(m[1]), headers, body };
}

// ---------------------------------------------------------------------------------------------
// Well-formed requests (load, storm, soak)

export interface JsonOutcome {
  status: number; // 0 = no response (error or aborted)
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
  error?: string;
}

/**
 * POST a JSON body with node:http. `abortAfterMs` destroys the request (and its connection)
 * after that long, whatever stage it is in; `agent: false` gives the request its own
 * connection so the server sees the close.
 */
export function post(
  port: number,
  path: string,
  body: unknown,
  opts: { agent?: http.Agent | false; headers?: Record<string, string>; abortAfterMs?: number; timeoutMs?: number } = {},
): Promise<JsonOutcome> {
  const t0 = performance.now();
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Omit<JsonOutcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (abortTimer) clearTimeout(abortTimer);
      resolve({ ...o, ms: performance.now() - t0 });
    };
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      agent: opts.agent ?? false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...opts.headers },
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, headers: {}, body: Buffer.alloc(0), error: 'timeout' });
    }, opts.timeoutMs ?? 60_000);
    let abortTimer: NodeJS.Timeout | null = null;
    if (opts.abortAfterMs !== undefined)
      abortTimer = setTimeout(() => {
        req.destroy();
        done({ status: 0, headers: {}, body: Buffer.alloc(0), error: 'aborted' });
      }, opts.abortAfterMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => done({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.message }));
    });
    req.on('error', (e) => done({ status: 0, headers: {}, body: Buffer.alloc(0), error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(text);
  });
}

export function get(port: number, path: string, timeoutMs = 10_000): Promise<JsonOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), ms: performance.now() - t0, error: e.message }));
  });
}

// ---------------------------------------------------------------------------------------------
// Small statistics helpers

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const MB = 1024 * 1024;
export const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** Wait (bounded) until `cond` of a fresh probe holds; returns the last probe. */
export async function waitProbe(t: Target, cond: (p: Probe) => boolean, timeoutMs = 10_000, everyMs = 50): Promise<{ ok: boolean; probe: Probe }> {
  const t0 = Date.now();
  let p = await t.probe();
  while (!cond(p)) {
    if (Date.now() - t0 > timeoutMs) return { ok: false, probe: p };
    await sleep(everyMs);
    p = await t.probe();
  }
  return { ok: true, probe: p };
}

/** Run `task(i)` for i = 0…n−1 with at most `concurrency` at once. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  });
  await Promise.all(lanes);
  return out;
}
