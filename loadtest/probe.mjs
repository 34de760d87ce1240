// /healthz latency probe for `npm run loadtest` scenario (d): its own process, so what it measures
// is the server's event loop and not the load generator's. Prints autocannon's result as JSON.
// usage: node loadtest/probe.mjs PORT SECONDS RATE
import autocannon from 'autocannon';

const [port, seconds, rate] = process.argv.slice(2).map(Number);
const result = await autocannon({ url: `http://127.0.0.1:${port}/healthz`, connections: 1, duration: seconds, overallRate: rate, timeout: 10 });
process.stdout.write(JSON.stringify(result));
