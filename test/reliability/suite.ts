/** The reliability suites' shared set-up: one service per suite, started before its tests and stopped after them. */
import { after, before } from 'node:test';
import { startTarget, type Target } from './harness.js';

/** Start the service (with `env`) before the suite's tests and stop it after; the getter returns it. */
export function useTarget(env: Record<string, string> = {}): () => Target {
  let t: Target | undefined;
  before(async () => {
    t = await startTarget(env);
  });
  after(async () => t?.stop());
  return () => t!;
}
