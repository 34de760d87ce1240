/** Entry point: read config (a bad value stops here, naming the variable), listen, then load models in the background (/readyz says when). */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

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

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    app.log.info({ sig }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
