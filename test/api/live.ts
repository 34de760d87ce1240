/** A real server on a loopback port (not inject): what the client and browser tests talk to. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { testConfig } from '../test-config.js';
import { FIXTURES } from '../helpers.js';

export interface LiveServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startServer(overrides: Partial<Record<keyof Config, string>> = {}): Promise<LiveServer> {
  const app = await buildApp(testConfig({ MODELS_DIR: FIXTURES, INTRA_OP_THREADS: '1', EXECUTION_PROVIDERS: 'cpu', ...overrides }));
  await app.registry.loadAll();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no TCP address');
  return { app, url: `http://127.0.0.1:${addr.port}`, close: () => app.close() };
}

/** The real digits16 model folder, when it has landed (models/digits16/model.json). */
export const REAL_MODELS = 'models';
export const hasDigits16 = () => existsSync(join(REAL_MODELS, 'digits16', 'model.json'));
