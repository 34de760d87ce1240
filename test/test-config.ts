/** The service configuration for tests: defaults plus overrides, no environment read, logs off. */
import { loadConfig, type Config } from '../src/config.js';

export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', WARMUP_BUDGET_MS: process.env.WARMUP_BUDGET_MS ?? '1000', ...overrides });
}
