/**
 * podman, driven from Node for the container and scale-out tests (test/system/) and for
 * `npm run deploy:local`: build the image, run replicas of it, stop them, clean up.
 *
 * Two flags this project's machines need and that are harmless elsewhere: `--runtime runc`
 * (crun refuses their cgroup layout) and explicit ulimits (podman's defaults fail with EPERM).
 * Every call is bounded by a timeout, and every container carries a label, so that whatever a
 * run leaves behind — also when it fails half-way — can be found and removed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGE = process.env.CONTAINER_IMAGE ?? 'localhost/jfdl-serve:cpu';
/** the label every container started here carries; its value names the suite that started it */
export const LABEL = 'io.jfdl-serve.run';

const RUNTIME = ['--runtime', process.env.PODMAN_RUNTIME ?? 'runc'];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs podman; never throws for a non-zero exit (the caller reads `code`), only for a timeout. */
export function podman(args: string[], timeoutMs = 60_000): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    execFile('podman', args, { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      if (e?.killed) return reject(new Error(`podman ${args.slice(0, 3).join(' ')} … timed out after ${timeoutMs} ms\n${stderr.slice(-2000)}`));
      if (e && typeof e.code !== 'number') return reject(e);
      resolvePromise({ code: e ? Number(e.code) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** podman that must succeed. */
export async function podmanOk(args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).slice(-3000)}`);
  return r.stdout;
}

/** Why the container tests cannot run here, or null when they can. */
export function unavailable(): string | null {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return 'podman is not installed (Debian: apt-get install podman runc debootstrap haproxy)';
  }
  if (process.getuid?.() !== 0) return 'the container tests run rootful podman and debootstrap: run them as root';
  return null;
}

/**
 * The Node base image the build starts from: CONTAINER_NODE_IMAGE when given (e.g. the
 * registry's node:20-bookworm-slim where it can be pulled), else the local stand-in that
 * scripts/container/base-image.sh makes with debootstrap (cached in podman's store).
 */
export function baseImage(timeoutMs = 15 * 60_000): Promise<{ image: string; ms: number }> {
  if (process.env.CONTAINER_NODE_IMAGE) return Promise.resolve({ image: process.env.CONTAINER_NODE_IMAGE, ms: 0 });
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    execFile(join(ROOT, 'scripts/container/base-image.sh'), [], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`base image: ${err.message}\n${stderr.slice(-3000)}`));
      resolvePromise({ image: stdout.trim().split('\n').at(-1)!, ms: Date.now() - t0 });
    });
  });
}

export interface Build {
  image: string;
  base: string;
  /** base image (debootstrap when not cached) and podman build, each in ms */
  baseMs: number;
  buildMs: number;
  /** build steps podman took from its layer cache */
  cachedSteps: number;
  steps: number;
}

/**
 * Builds a Dockerfile target. `--format docker` keeps HEALTHCHECK (the OCI image format has no
 * such field); `--layers` (podman's default, made explicit) keeps every step's layer so a second
 * build on the same machine reuses them; RUN --mount=type=cache keeps npm's download cache.
 */
export async function buildImage(target: 'cpu' | 'cuda' = 'cpu', tag = IMAGE, timeoutMs = 15 * 60_000): Promise<Build> {
  const base = await baseImage();
  const r = await podman(
    ['build', ...RUNTIME, ...ULIMITS, '--format', 'docker', '--layers', '--target', target, '--build-arg', `NODE_IMAGE=${base.image}`, '-t', tag, '-f', join(ROOT, 'Dockerfile'), ROOT],
    timeoutMs,
  );
  if (r.code !== 0) throw new Error(`podman build --target ${target} exited ${r.code}:\n${(r.stdout + r.stderr).slice(-4000)}`);
  // Bounded growth of the layer cache on a machine that builds often (CI): the intermediate
  // images of builds on the local base (they inherit its label) are dropped once a week old.
  await podman(['image', 'prune', '--force', '--filter', 'dangling=true', '--filter', 'label=io.jfdl-serve.base', '--filter', 'until=168h'], 120_000);
  // FROM lines are not steps that can come from the cache
  const steps = (r.stdout.match(/STEP \d+\/\d+: (?!FROM )/g) ?? []).length;
  const cachedSteps = (r.stdout.match(/^--> Using cache /gm) ?? []).length;
  return { image: tag, base: base.image, baseMs: base.ms, buildMs: r.ms, cachedSteps, steps };
}

export interface RunOptions {
  name: string;
  port: number;
  /** the suite that starts it (the label's value), for clean-up */
  suite: string;
  env?: Record<string, string>;
  image?: string;
}

/**
 * Starts a replica the way deploy/cpu/deployment.yaml runs one: read-only root filesystem (a
 * tmpfs on /tmp, as the manifest's emptyDir), every capability dropped, no privilege escalation,
 * the image's non-root user. It shares the host's network namespace and listens on 127.0.0.1:port
 * (PORT, HOST), so that a host process (haproxy, the tests) reaches it directly and a closed
 * listener is refused at once — with a bridge network and published ports, a stopped container
 * turns connections into timeouts of the port forwarding instead.
 */
export async function runContainer(o: RunOptions): Promise<string> {
  const env = { HOST: '127.0.0.1', PORT: String(o.port), ...o.env };
  const out = await podmanOk([
    ...RUNTIME,
    'run', '--detach', '--name', o.name, '--label', `${LABEL}=${o.suite}`,
    '--network', 'host', '--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,size=64m,mode=1777',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', ...ULIMITS,
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    o.image ?? IMAGE,
  ]);
  return out.trim();
}

/** SIGTERM to PID 1 (the image's STOPSIGNAL), then SIGKILL after graceS, as `docker stop` and the kubelet do. */
export async function stopContainer(name: string, graceS: number): Promise<{ exitCode: number; ms: number }> {
  const t0 = Date.now();
  await podmanOk([...RUNTIME, 'stop', '--time', String(graceS), name], (graceS + 30) * 1000);
  const ms = Date.now() - t0;
  const exitCode = Number((await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', name])).trim());
  return { exitCode, ms };
}

/** Sends a signal and returns at once (the caller watches the container go). */
export async function killContainer(name: string, signal = 'SIGTERM'): Promise<void> {
  await podmanOk([...RUNTIME, 'kill', '--signal', signal, name]);
}

/** Waits for the container to exit; its exit code. */
export async function waitContainer(name: string, timeoutMs: number): Promise<number> {
  const out = await podmanOk([...RUNTIME, 'wait', name], timeoutMs);
  return Number(out.trim());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- podman's inspect JSON, untyped; callers read the fields they check
export async function inspect<T = any>(name: string): Promise<T> {
  return (JSON.parse(await podmanOk(['inspect', name])) as T[])[0];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as inspect
export async function inspectImage<T = any>(name: string): Promise<T> {
  return (JSON.parse(await podmanOk(['image', 'inspect', name])) as T[])[0];
}

export function logs(name: string): Promise<string> {
  return podman(['logs', name], 30_000).then((r) => r.stdout + r.stderr, (e: Error) => e.message);
}

export function exec(name: string, cmd: string[], timeoutMs = 30_000): Promise<Result> {
  return podman([...RUNTIME, 'exec', name, ...cmd], timeoutMs);
}

/** Removes (forcibly) every container a suite started, also those of an earlier run that died. */
export async function removeSuite(suite: string): Promise<void> {
  const ids = (await podmanOk(['ps', '--all', '--quiet', '--filter', `label=${LABEL}=${suite}`])).split('\n').filter(Boolean);
  if (ids.length) await podman([...RUNTIME, 'rm', '--force', '--time', '0', ...ids], 120_000);
}

/** A free TCP port on 127.0.0.1 (the kernel's pick; closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePromise(port));
    });
  });
}
