/**
 * `npm run deploy:local -- --replicas 3 --minutes 10`: builds localhost/jfdl-serve:cpu (layer
 * cache), starts N replicas behind haproxy (deploy/haproxy/haproxy.cfg) on 127.0.0.1, prints the
 * front's URL, and keeps them up until the time is over or Ctrl-C / SIGTERM — then removes
 * everything it started. Meant for load tests against a deployment:
 *
 *   npm run deploy:local -- --replicas 3 &
 *   npm run loadtest -- --target http://127.0.0.1:PORT
 *
 * Replica settings: scripts/container/deployment.ts REPLICA_ENV, overridable with --env K=V.
 */
import { parseArgs } from 'node:util';
import { startDeployment } from './deployment.js';
import { buildImage, unavailable } from './podman.js';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '3' },
    minutes: { type: 'string', default: '10' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const replicas = Number(values.replicas);
const minutes = Number(values.minutes);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 4) throw new Error('--replicas: 1 to 4 (deploy/haproxy/haproxy.cfg)');
if (!(minutes > 0 && minutes <= 120)) throw new Error('--minutes: more than 0, at most 120');
const env = Object.fromEntries(values.env!.map((kv) => kv.split(/=(.*)/s).slice(0, 2)));

const why = unavailable();
if (why) throw new Error(why);
console.error('building localhost/jfdl-serve:cpu …');
await buildImage('cpu');
const suite = `local-${process.pid}`;
const d = await startDeployment({ replicas, suite, env });
console.log(`${replicas} replica(s) behind haproxy: ${d.url}  (stats: http://127.0.0.1:${d.statsPort}/stats)`);
for (const r of d.replicas) console.log(`  ${r.server}: ${r.name} on http://127.0.0.1:${r.port}`);
console.log(`up for ${minutes} min; Ctrl-C to stop earlier`);

let stopping = false;
const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${why}: stopping`);
  await d.down();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
setTimeout(() => void stop('time is up'), minutes * 60_000);
