/**
 * Small HTTP helpers of the system tests (test/system/): every call has a timeout, and a
 * refused connection is an outcome (status 0, error code), never an exception.
 */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** the socket error (ECONNREFUSED, ECONNRESET, …) when there was no response */
  error?: string;
}

export function request(
  port: number,
  path: string,
  o: { method?: string; body?: unknown; headers?: Record<string, string>; agent?: http.Agent | false; timeoutMs?: number } = {},
): Promise<Reply> {
  const body = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? (body ? 'POST' : 'GET'),
        agent: o.agent ?? false,
        headers: { ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...o.headers },
        timeout: o.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.code ?? e.message }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.code ?? e.message }));
    req.end(body);
  });
}

/** Polls a path until it answers `status` (bounded); the ms it took. */
export async function waitStatus(port: number, path: string, status: number, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const r = await request(port, path, { timeoutMs: 2000 });
    if (r.status === status) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${path} on :${port} did not answer ${status} within ${timeoutMs} ms (last: ${r.status || r.error})`);
    await new Promise((res) => setTimeout(res, everyMs));
  }
}

/** A Prometheus text exposition's samples of one metric, summed over their labels. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
