/**
 * haproxy (Debian's 2.6) running deploy/haproxy/haproxy.cfg unchanged, in the foreground, with
 * the replica addresses and binds in its environment; and its stats page read as CSV (server
 * states, retries, redispatches). Used by `npm run test:scale` and `npm run deploy:local`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT } from './podman.js';

export const CONFIG = join(ROOT, 'deploy/haproxy/haproxy.cfg');
export const MAX_REPLICAS = 4;

export interface Haproxy {
  port: number;
  statsPort: number;
  child: ChildProcess;
  /** what haproxy printed (its request log, one line per request, and its warnings) */
  log(): string;
  stop(): Promise<void>;
}

/** One row of haproxy's CSV statistics (the fields used here). */
export interface StatRow {
  pxname: string;
  svname: string;
  status: string;
  /** retries (connection and L7) */
  wretr: number;
  /** redispatches to another server */
  wredis: number;
  stot: number;
  hrsp_2xx: number;
  hrsp_5xx: number;
  econ: number;
  eresp: number;
}

export function haproxyEnv(port: number, statsPort: number, replicas: string[]): Record<string, string> {
  if (replicas.length < 1 || replicas.length > MAX_REPLICAS) throw new Error(`1 to ${MAX_REPLICAS} replicas (deploy/haproxy/haproxy.cfg)`);
  const env: Record<string, string> = { JFDL_BIND: `127.0.0.1:${port}`, JFDL_STATS_BIND: `127.0.0.1:${statsPort}` };
  replicas.forEach((addr, i) => (env[`JFDL_REPLICA_${i + 1}`] = addr));
  return env;
}

export async function startHaproxy(port: number, statsPort: number, replicas: string[]): Promise<Haproxy> {
  const env = { ...process.env, ...haproxyEnv(port, statsPort, replicas) };
  for (let i = replicas.length + 1; i <= MAX_REPLICAS; i++) delete env[`JFDL_REPLICA_${i}`];
  const child = spawn('haproxy', ['-db', '-f', CONFIG], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const h: Haproxy = {
    port,
    statsPort,
    child,
    log: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
  const t0 = Date.now();
  while (!(await stats(statsPort).catch(() => null))) {
    if (child.exitCode !== null || Date.now() - t0 > 10_000) {
      await h.stop();
      throw new Error(`haproxy did not start:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return h;
}

/** The stats page as rows (one per frontend, backend and server). */
export function stats(statsPort: number): Promise<StatRow[]> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: statsPort, path: '/stats;csv', agent: false, timeout: 2000 }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (s += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`stats: ${res.statusCode}`));
          const [head, ...lines] = s.trim().split('\n');
          const cols = head.replace(/^# /, '').split(',');
          const num = (v: string | undefined) => (v ? Number(v) : 0);
          resolve(
            lines.map((l) => {
              const f = Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]));
              return {
                pxname: f.pxname,
                svname: f.svname,
                status: f.status,
                wretr: num(f.wretr),
                wredis: num(f.wredis),
                stot: num(f.stot),
                hrsp_2xx: num(f.hrsp_2xx),
                hrsp_5xx: num(f.hrsp_5xx),
                econ: num(f.econ),
                eresp: num(f.eresp),
              };
            }),
          );
        });
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('stats: timeout'));
      })
      .on('error', reject);
  });
}

/** The states of the backend's servers, e.g. { r1: 'UP', r2: 'DOWN' }. */
export async function serverStates(statsPort: number, backend = 'jfdl'): Promise<Record<string, string>> {
  const rows = await stats(statsPort);
  return Object.fromEntries(rows.filter((r) => r.pxname === backend && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND').map((r) => [r.svname, r.status]));
}

/** Waits (bounded) until a server reaches a state ('UP', 'DOWN', …; 'UP 1/2' counts as neither). */
export async function waitServer(statsPort: number, server: string, state: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const s = (await serverStates(statsPort).catch(() => ({}) as Record<string, string>))[server];
    if (s === state) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`haproxy server ${server} not ${state} after ${timeoutMs} ms (last: ${s})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Per-request retry counts from the request log (option httplog): the fifth of the
 * "actconn/feconn/beconn/srv_conn/retries" counters, with a leading '+' when the request was
 * redispatched to another server.
 */
export function retriesFromLog(log: string): { requests: number; retried: number; redispatched: number; retries: number } {
  let requests = 0;
  let retried = 0;
  let redispatched = 0;
  let retries = 0;
  for (const m of log.matchAll(/ \d+\/\d+\/\d+\/\d+\/(\+?)(\d+) \d+\/\d+\s+"POST \//g)) {
    requests++;
    const n = Number(m[2]);
    retries += n;
    if (n > 0) retried++;
    if (m[1] === '+') redispatched++;
  }
  return { requests, retried, redispatched, retries };
}
