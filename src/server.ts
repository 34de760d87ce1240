/** Entry point: read config (a bad value stops here, naming the variable), listen, then load models in the background (/readyz says when). */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { installShutdown } from './shutdown.js';

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`jfdl-serve: ${e.message}`);
    process.exit(2);
  }
  throw e;
}

const app = await buildApp(config);
await app.listen({ port: config.PORT, host: config.HOST });
void app.registry.loadAll().then(() => {
  const r = app.registry.ready();
  app.log.info({ ready: r.ready, reason: r.reason, models: [...app.registry.entries.keys()] }, 'model loading finished');
});

// SIGTERM/SIGINT: stop accepting, drain what was accepted, close, exit 0 (src/shutdown.ts)
installShutdown(app, { drainMs: config.SHUTDOWN_DRAIN_MS });
