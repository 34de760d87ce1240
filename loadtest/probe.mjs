// /healthz latency probe for `npm run loadtest` scenario (d): its own process, so what it measures
// is the server's event loop and not the load generator's. Prints autocannon's result as JSON.
// usage: node loadtest/probe.mjs BASE_URL SECONDS RATE
import autocannon from 'autocannon';

const [base, seconds, rate] = process.argv.slice(2);
const result = await autocannon({ url: `${base}/healthz`, connections: 1, duration: Number(seconds), overallRate: Number(rate), timeout: 10 });
process.stdout.write(JSON.stringify(result));
