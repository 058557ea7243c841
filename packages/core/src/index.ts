/**
 * `@sje/core`: what every SJE service shares — message types and schemas,
 * the broker topology and connection, configuration, logging, errors, the
 * task state machine and the plugin host.
 *
 * @example
 * ```ts
 * import { loadConfig, createRuntime } from '@sje/core';
 * const config = loadConfig({ file: 'config/default.yaml' });
 * const rt = await createRuntime('worker', config);
 * await rt.broker.start();
 * ```
 * @module
 */
export { amqpSocketOptions, Broker, redactUrl } from './broker.js';
export { detectCapabilities, unsupportedReason } from './broker-capabilities.js';
export type { BrokerCapabilities } from './broker-capabilities.js';
export type { AckToken, BrokerOptions, ConsumeOptions, ConsumerHandle, Delivery, HandlerFailurePolicy, MessageHandler } from './broker.js';
export { API_KEY_SCOPES, configSchema, NAME_PATTERN } from './config-schema.js';
export type { ApiKeyEntry, ApiKeyScope, PluginEntry } from './config-schema.js';
export { configFileOptions, defaultConfigFile, describeConfig, loadConfig, redactConfig } from './config.js';
export type { AmqpTlsConfig, DeepPartial, LoadConfigOptions, SecurityConfig, SjeConfig, StatusReads } from './config.js';
export { BrokerUnavailableError, ConfigError, ErrorCode, NonRetryableError, restoreError, serializeError, SjeError } from './errors.js';
export type { SerializedError, SjeErrorOptions } from './errors.js';
export { isValidTaskId, TASK_ID_PATTERN, uuidv7 } from './ids.js';
export { createLogger } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export type * from './messages.js';
export { hasBearerToken, startOpsServer } from './ops-server.js';
export { CLIENT_IDLE_SOCKET_MS, keepIdleConnections, SERVER_KEEP_ALIVE_TIMEOUT_MS } from './http-keep-alive.js';
export type { OpsServer, OpsServerOptions, Readiness } from './ops-server.js';
export { PublishCoalescer, publishTogether, type PendingPublish, type PublishCoalescerOptions } from './publish-coalescer.js';
export { BUILTIN_PLUGINS, HOOK_NAMES, INTERCEPTOR_NAMES, loadPlugins, PluginHost, validatePlugin } from './plugin-host.js';
export type {
  Hook,
  HookName,
  HookPayloads,
  Interceptor,
  InterceptorCalls,
  InterceptorName,
  ModuleImporter,
  PluginContext,
  PluginTaskContext,
  PluginTaskHandler,
  RetryDecision,
  ServiceName,
  SjePlugin,
  WorkerInfo,
} from './plugin-host.js';
export { createRuntime } from './runtime.js';
export { exitOnSignals } from './shutdown.js';
export type { RuntimeOptions, ServiceRuntime } from './runtime.js';
export { describeSchemaError, dispatchGroupCap, MAX_COALESCED_SUBMITS, MAX_GROUPED_DISPATCHES, MAX_GROUPED_MESSAGES, retryPolicySchema, taskInputSchema, validators } from './schemas.js';
export type { Validation, Validator } from './schemas.js';
export { canTransition, FINAL_STATUSES, isFinalStatus, nextStatuses, TASK_STATUSES, TaskStatus } from './task-states.js';
export { assertTaskQueue, assertTopology, createTopology, DeadLetterHeaders, deleteTopology } from './topology.js';
export type { DurableQueueType, Topology, TopologyOptions } from './topology.js';
