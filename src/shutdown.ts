/**
 * Graceful shutdown. On SIGTERM/SIGINT the server stops accepting — /readyz and every new request
 * answer 503 `shutting_down` with `Connection: close` and `Retry-After`, so a load balancer moves
 * the traffic to other replicas while the listener stays open (a refused connection is worse
 * than a fast 503) — lets every request it had already accepted finish, within
 * SHUTDOWN_DRAIN_MS, then closes (workers, sessions) and exits 0; 1 when the deadline abandoned
 * requests. A second signal exits at once (128 + signal number).
 *
 * /healthz keeps answering 200 while draining: it is liveness, and a failing liveness probe
 * would have the kubelet kill the pod mid-drain. /metrics stays open for the last scrape.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ShuttingDown } from './errors.js';

/** Request bookkeeping that the shutdown sequence reads. */
export class Lifecycle {
  draining = false;
  /** requests accepted (past the draining check) and not yet answered or abandoned */
  inFlight = 0;
  /** when the last request arrived, accepted or refused (ms, Date.now()) */
  lastArrival = 0;
  private idle: Array<() => void> = [];

  enter(): void {
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const f of this.idle.splice(0)) f();
  }

  /** Resolves true when nothing is in flight, false when `ms` passed first. */
  drained(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.idle.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle;
  }
}

const OPEN_WHILE_DRAINING = new Set(['/healthz', '/metrics']);

/** Counts accepted requests and refuses new ones while draining. Register before the routes. */
export const lifecyclePlugin = fp(
  async function lifecycle(app: FastifyInstance) {
    const lc = new Lifecycle();
    app.decorate('lifecycle', lc);
    app.addHook('onRequest', async (req, reply) => {
      lc.lastArrival = Date.now();
      if (lc.draining && !OPEN_WHILE_DRAINING.has(req.routeOptions.url ?? '')) throw new ShuttingDown();
      lc.enter();
      // 'close' fires once the response is written or the connection is gone, whichever first
      reply.raw.once('close', () => lc.leave());
    });
    // app.close() without a signal (tests, embedding) refuses new requests the same way
    app.addHook('preClose', async () => {
      lc.draining = true;
    });
    app.addHook('onSend', async (_req, reply) => {
      // do not let a keep-alive client reuse a connection of a server that is going away
      if (lc.draining) reply.header('connection', 'close');
    });
  },
  { name: 'lifecycle' },
);

export interface ShutdownOptions {
  drainMs: number;
  signals?: readonly NodeJS.Signals[];
  exit?: (code: number) => void;
}

const QUIET_MS = 150;
const LINGER_MS = 1000;

const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/** Install the signal handlers of a listening app (src/server.ts). */
export function installShutdown(app: FastifyInstance, o: ShutdownOptions): void {
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let started = false;
  for (const sig of o.signals ?? (['SIGTERM', 'SIGINT'] as const)) {
    process.on(sig, () => {
      if (started) {
        app.log.warn({ sig, inFlight: app.lifecycle.inFlight }, 'second signal: exiting now');
        exit(128 + (SIGNAL_NUMBER[sig] ?? 0));
        return;
      }
      started = true;
      void shutdown(app, sig, o.drainMs).then(exit);
    });
  }
}

/** The drain sequence; resolves to the exit code. */
export async function shutdown(app: FastifyInstance, sig: string, drainMs: number): Promise<number> {
  const lc = app.lifecycle;
  lc.draining = true;
  const atSignal = lc.inFlight;
  const t0 = Date.now();
  app.log.info({ sig, inFlight: atSignal, drainMs }, 'shutting down: draining accepted requests');
  const clean = await lc.drained(drainMs);
  if (clean) app.log.info({ finished: atSignal, ms: Date.now() - t0 }, 'drained: every accepted request answered');
  else app.log.error({ abandoned: lc.inFlight, drainMs }, 'drain deadline passed with requests in flight');
  // Quiet period: a client whose request just finished may already be sending its next one on a
  // fresh connection; closing now would reset it mid-request. Keep answering 503 until no
  // request has arrived for QUIET_MS (at most LINGER_MS), so late arrivals get an answer.
  const t1 = Date.now();
  while (clean && Date.now() - lc.lastArrival < QUIET_MS && Date.now() - t1 < LINGER_MS) await new Promise((r) => setTimeout(r, 20));
  // closing the listener, idle keep-alive sockets, schedulers and engine workers; bounded too
  const closed = await Promise.race([app.close().then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
  if (!closed) app.log.error('close did not finish in 5 s');
  return clean && closed ? 0 : 1;
}
