/**
 * Prism (@stoplight/prism-cli) as a validating proxy in front of a live server: `prism proxy
 * openapi/openapi.json <upstream> --errors`. Prism checks each request against the document
 * (refusing an invalid one itself with 422) and each answer: a violation becomes an
 * `sl-violations` header or, for an error-level one with --errors, Prism's own 500
 * `application/problem+json`. `prismVerdict` turns both into problems for the contract fuzz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { resolve } from 'node:path';
import type { Answer } from './fuzz.js';

export interface Prism {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startPrism(spec: string, upstream: string): Promise<Prism> {
  const port = await freePort();
  const cli = createRequire(import.meta.url).resolve('@stoplight/prism-cli/dist/index.js');
  const child: ChildProcess = spawn(process.execPath, [cli, 'proxy', resolve(spec), upstream, '--errors', '-p', String(port), '-h', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SCARF_ANALYTICS: 'false', DO_NOT_TRACK: '1' },
  });
  let log = '';
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`Prism did not start in 60 s:\n${log}`)), 60_000);
    const onData = (d: Buffer) => {
      log += d;
      if (/Prism is listening/.test(log)) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`Prism exited with ${code}:\n${log}`)));
  });
  // keep draining its log so the pipe never fills
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** Headers Prism adds to every proxied answer (CORS), and its verdict header. */
const PRISM_HEADERS = new Set([
  'access-control-allow-origin',
  'access-control-allow-headers',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'sl-violations',
]);

/** Prism's verdict on one proxied answer: its violations, and its refusals of a request it judged invalid. */
export function prismVerdict(a: Answer): { problems: string[]; ignore: ReadonlySet<string> } {
  const problems: string[] = [];
  if (a.headers['sl-violations']) problems.push(`Prism: ${a.headers['sl-violations']}`);
  if ((a.headers['content-type'] ?? '').startsWith('application/problem+json'))
    problems.push(`Prism answered itself: ${a.body.toString('utf8').slice(0, 300)}`);
  return { problems, ignore: PRISM_HEADERS };
}
