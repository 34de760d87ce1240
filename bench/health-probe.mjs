// /healthz latency probe for `npm run bench`: its own process (the bench process is busy driving
// load), one keep-alive connection, a request every 25 ms. Prints the latencies (ms) as JSON.
// usage: node bench/health-probe.mjs PORT SECONDS
import http from 'node:http';

const [port, seconds] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const once = () =>
  new Promise((res) => {
    const t = process.hrtime.bigint();
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (r) => {
        r.resume();
        r.on('end', () => res(Number(process.hrtime.bigint() - t) / 1e6));
      })
      .on('error', () => res(NaN));
  });
const lat = [];
const t0 = Date.now();
while (Date.now() - t0 < seconds * 1000) {
  await new Promise((r) => setTimeout(r, 25));
  lat.push(await once());
}
agent.destroy();
process.stdout.write(JSON.stringify(lat));
