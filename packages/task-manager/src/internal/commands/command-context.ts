/**
 * What every command handler of the task-manager needs.
 */
import type { Logger, PluginHost, Topology } from '@sje/core';
import type { DependencyResolver } from '../dependency-resolver.js';

/** Shared parts handed to each command handler. */
export interface CommandContext {
  topology: Topology;
  dependencies: DependencyResolver;
  plugins: PluginHost;
  logger: Logger;
  /** Lost runs of one task before it fails as poison. */
  maxDeliveries: number;
}
