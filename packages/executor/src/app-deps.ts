/**
 * What the executor's HTTP application needs from its surroundings.
 * @module
 */
import type { Broker, Logger, PluginHost, SjeConfig } from '@sje/core';
import type { Registry } from 'prom-client';

/**
 * The part of core's {@link Broker} the REST API uses: confirmed publishes
 * and request/reply queries. Tests may hand in their own implementation.
 */
export type BrokerPort = Pick<Broker, 'connected' | 'publish' | 'request' | 'topology'>;

/** Dependencies of {@link createApp}. */
export interface AppDeps {
  /** The loaded configuration (the `executor` section sets limits and timeouts). */
  config: SjeConfig;
  logger: Logger;
  broker: BrokerPort;
  /** Runs `beforeSubmit` / `afterSubmit`. */
  plugins: PluginHost;
  /** Served on `/metrics`; the API's own metrics are registered in it. */
  metrics: Registry;
  /** True once shutdown began: new API requests get 503 and `/readyz` reports not ready. @defaultValue () => false */
  isShuttingDown?: () => boolean;
  /** How long accepted task ids are remembered. @defaultValue 300000 */
  acceptedTtlMs?: number;
  /** Most accepted task ids remembered. @defaultValue 100000 */
  acceptedMaxEntries?: number;
  /** Environment the API keys named by `key_env` are read from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Takes what the app must release when its owner shuts down (the
   * keep-alive connections to the task-managers' ops endpoints). Without it
   * they are left to close when the process ends. @defaultValue none
   */
  onClose?: (release: () => void) => void;
}
