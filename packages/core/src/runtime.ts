/**
 * What every service builds first: its logger, broker connection, metrics
 * registry and plugin host, from the loaded configuration.
 * @module
 */
import { hostname } from 'node:os';
import type { Channel } from 'amqplib';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { amqpSocketOptions, Broker } from './broker.js';
import type { SjeConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { loadPlugins, PluginHost, type ModuleImporter, type ServiceName, type SjePlugin } from './plugin-host.js';
import { createTopology } from './topology.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** Imports plugins listed in the config (from the caller's module context). */
  importer?: ModuleImporter;
  /** Plugin objects registered before the configured ones (programmatic use). */
  plugins?: { plugin: SjePlugin; options?: Record<string, unknown> }[];
  /** Use this logger instead of building one from the config. */
  logger?: Logger;
  /** Declares service-specific queues on each (re)connect. */
  onConnect?: (channel: Channel) => Promise<void>;
}

/** The shared parts of a running service. */
export interface ServiceRuntime {
  service: ServiceName;
  config: SjeConfig;
  logger: Logger;
  broker: Broker;
  metrics: Registry;
  plugins: PluginHost;
  host: string;
}

/**
 * Builds a service's logger, broker (not yet connected), registry and plugins.
 * @example
 * ```ts
 * const rt = await createRuntime('worker', loadConfig(), { importer: (s) => import(s) });
 * await rt.broker.start();
 * ```
 */
export async function createRuntime(service: ServiceName, config: SjeConfig, options: RuntimeOptions = {}): Promise<ServiceRuntime> {
  const logger = options.logger ?? createLogger({ service, level: config.log.level, format: config.log.format });
  const metrics = new Registry();
  metrics.setDefaultLabels({ service });
  collectDefaultMetrics({ register: metrics });
  const topology = createTopology({ prefix: config.topology.prefix, queueType: config.topology.queue_type, deliveryLimit: config.topology.delivery_limit });
  const brokerOptions: ConstructorParameters<typeof Broker>[0] = {
    url: config.amqp.url,
    topology,
    logger,
    service,
    reconnectInitialMs: config.amqp.reconnect_initial_ms,
    reconnectMaxMs: config.amqp.reconnect_max_ms,
    heartbeatSeconds: amqpHeartbeatSeconds(service, config),
    socketOptions: amqpSocketOptions(config.amqp.url, config.amqp.tls),
  };
  if (options.onConnect) brokerOptions.onConnect = options.onConnect;
  const broker = new Broker(brokerOptions);
  const plugins = new PluginHost({ service, logger, metrics, config });
  for (const { plugin, options: pluginOptions } of options.plugins ?? []) await plugins.register(plugin, pluginOptions ?? {});
  if (config.plugins.length > 0) {
    if (!options.importer) throw new Error('plugins are configured but no module importer was given');
    await loadPlugins(plugins, config.plugins, options.importer);
  }
  return { service, config, logger, broker, metrics, plugins, host: hostname() };
}

/**
 * The AMQP heartbeat of a service. A worker's is short enough that the broker
 * drops the connection of a hung worker (after about three missed
 * heartbeats) no later than the task-manager declares it lost
 * (`task_manager.worker_timeout_ms`): otherwise the re-dispatch of its task
 * could be delivered to the hung worker's free prefetch and sit there until
 * the connection finally dies. `0` (heartbeats off) is kept.
 */
function amqpHeartbeatSeconds(service: ServiceName, config: SjeConfig): number {
  const configured = config.amqp.heartbeat_s;
  if (service !== 'worker' || configured === 0) return configured;
  return Math.max(1, Math.min(configured, Math.floor(config.task_manager.worker_timeout_ms / 3000)));
}
