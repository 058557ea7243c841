/**
 * The command context of tests that apply commands to a real store: a
 * topology of its own, a silent logger, plugins with none loaded. Only tests
 * import it.
 */
import { createLogger, createTopology, loadConfig, PluginHost } from '@sje/core';
import { Registry } from 'prom-client';
import { DependencyResolver } from '../dependency-resolver.js';
import type { CommandContext } from './command-context.js';

/** A command context for tests, its topology named by `prefix`. */
export function testCommandContext(prefix: string): CommandContext {
  const topology = createTopology({ prefix });
  const logger = createLogger({ service: 'test', silent: true });
  return {
    topology,
    dependencies: new DependencyResolver(topology),
    plugins: new PluginHost({ service: 'task-manager', logger, metrics: new Registry(), config: loadConfig({ env: {} }) }),
    logger,
    maxDeliveries: 5,
  };
}
