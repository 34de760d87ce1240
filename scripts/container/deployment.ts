/**
 * A small deployment on one machine: N replicas of the image (podman containers, each on its own
 * loopback port) behind haproxy running deploy/haproxy/haproxy.cfg. `npm run test:scale` restarts
 * its replicas one by one under load; `npm run deploy:local` keeps one up for load tests.
 */
import { startHaproxy, waitServer, type Haproxy } from './haproxy.js';
import { freePort, logs, podman, removeSuite, runContainer, stopContainer } from './podman.js';

export interface Replica {
  /** the haproxy server name (r1, r2, …) */
  server: string;
  /** the current container's name (a replacement gets a new one) */
  name: string;
  port: number;
  generation: number;
}

export interface DeploymentOptions {
  replicas: number;
  /** the label value of its containers, for clean-up */
  suite: string;
  /** service configuration of every replica */
  env?: Record<string, string>;
  image?: string;
  readyTimeoutMs?: number;
}

export interface Deployment {
  /** haproxy's front, http://127.0.0.1:port */
  url: string;
  port: number;
  statsPort: number;
  replicas: Replica[];
  haproxy: Haproxy;
  /** starts a replica's next container on the same port; resolves once haproxy has it UP */
  start(r: Replica): Promise<{ readyMs: number }>;
  /** `podman stop` (SIGTERM, SIGKILL after graceS): exit code and how long it took */
  stop(r: Replica, graceS: number): Promise<{ exitCode: number; ms: number }>;
  logs(r: Replica): Promise<string>;
  /** haproxy down, every container removed */
  down(): Promise<void>;
}

/**
 * Replica defaults for a shared 2-core machine running several replicas: one single-threaded
 * session per graph (ENGINE_WORKERS=1), the client address from haproxy's X-Forwarded-For.
 */
export const REPLICA_ENV: Record<string, string> = { ENGINE_WORKERS: '1', INTRA_OP_THREADS: '1', TRUST_PROXY: '1', LOG_LEVEL: 'info' };

export async function startDeployment(o: DeploymentOptions): Promise<Deployment> {
  const readyTimeoutMs = o.readyTimeoutMs ?? 180_000;
  const env = { ...REPLICA_ENV, ...o.env };
  const ports: number[] = [];
  while (ports.length < o.replicas + 2) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const [port, statsPort, ...replicaPorts] = ports;
  const replicas: Replica[] = replicaPorts.map((p, i) => ({ server: `r${i + 1}`, name: '', port: p, generation: 0 }));
  let haproxy: Haproxy | null = null;

  const launch = async (r: Replica) => {
    r.generation++;
    r.name = `jfdl-${o.suite}-${r.server}-${r.generation}`;
    await runContainer({ name: r.name, port: r.port, suite: o.suite, env, image: o.image });
  };

  const d: Deployment = {
    url: `http://127.0.0.1:${port}`,
    port,
    statsPort,
    replicas,
    get haproxy() {
      return haproxy!;
    },
    async start(r) {
      const t0 = Date.now();
      await launch(r);
      await waitServer(statsPort, r.server, 'UP', readyTimeoutMs).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${(await logs(r.name)).slice(-2000)}`);
      });
      return { readyMs: Date.now() - t0 };
    },
    async stop(r, graceS) {
      const s = await stopContainer(r.name, graceS);
      await podman(['rm', '--force', r.name], 60_000);
      return s;
    },
    logs: (r) => logs(r.name),
    async down() {
      await haproxy?.stop();
      await removeSuite(o.suite);
    },
  };

  try {
    await Promise.all(replicas.map(launch));
    haproxy = await startHaproxy(port, statsPort, replicas.map((r) => `127.0.0.1:${r.port}`));
    // haproxy takes each in once its /readyz passes twice (rise 2): models loaded and warmed
    await Promise.all(replicas.map((r) => waitServer(statsPort, r.server, 'UP', readyTimeoutMs)));
  } catch (e) {
    const tail = await Promise.all(replicas.filter((r) => r.name).map(async (r) => `--- ${r.name}\n${(await logs(r.name)).slice(-1500)}`));
    await d.down();
    throw new Error(`${(e as Error).message}\n${tail.join('\n')}`, { cause: e });
  }
  return d;
}
