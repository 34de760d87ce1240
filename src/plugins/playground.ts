/**
 * The playground page at GET / — plain static files from public/ (HTML, one ES module, one
 * stylesheet; no build step), read once at start-up and served from memory. The page uses only
 * the public API (GET /v1/models, POST /v1/generate), so it doubles as a living example.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { media, operation } from '../api/responses.js';

/** public/ at the repository root, from src/plugins/ (tsx) and dist/plugins/ (built) alike. */
export const PUBLIC_DIR = new URL('../../public/', import.meta.url);

const ASSETS: Array<{ url: string; file: string; type: string }> = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/playground.js', file: 'playground.js', type: 'text/javascript; charset=utf-8' },
  { url: '/playground.css', file: 'playground.css', type: 'text/css; charset=utf-8' },
];

export default fp(
  async function playgroundPlugin(app: FastifyInstance) {
    for (const a of ASSETS) {
      const body = readFileSync(new URL(a.file, PUBLIC_DIR));
      app.get(
        a.url,
        {
          schema:
            a.url === '/'
              ? operation({
                  operationId: 'playground',
                  tags: ['ops'],
                  summary: 'Playground page (HTML)',
                  description: 'The playground page: pick a model and class, turn the guidance knob, run a guidance sweep.',
                  api: false,
                  ok: { 200: media({ 'text/html': z.string() }, 'HTML page') },
                  errors: [],
                })
              : { hide: true },
        },
        async (_req, reply) => reply.type(a.type).header('cache-control', 'no-cache').send(body),
      );
    }
  },
  { name: 'playground' },
);
