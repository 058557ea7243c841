/**
 * What the connected RabbitMQ supports, read from its version at connection
 * time, so that SJE adapts (or refuses clearly) instead of assuming.
 * @module
 */
import type { DurableQueueType } from './topology.js';

/** Features that differ between the RabbitMQ versions users run. */
export interface BrokerCapabilities {
  /** The server's product and version, e.g. `RabbitMQ 3.10.8`. */
  product: string;
  version: string;
  major: number;
  minor: number;
  /** Quorum queues exist (3.8+). */
  quorumQueues: boolean;
  /** Quorum queues honour message priorities (4.0+: two levels, normal and high). */
  quorumPriorities: boolean;
  /** `x-consumer-timeout` can be set per queue (3.12+). */
  perQueueConsumerTimeout: boolean;
  /** Quorum queues dead-letter after 20 deliveries by default (4.0+); before, only with `x-delivery-limit`. */
  defaultDeliveryLimit: boolean;
}

/** Reads capabilities from the connection's server properties. */
export function detectCapabilities(serverProperties: Record<string, unknown>): BrokerCapabilities {
  const text = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : fallback);
  const product = text(serverProperties['product'], 'unknown');
  const version = text(serverProperties['version'], '0.0.0');
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return {
    product,
    version,
    major,
    minor,
    quorumQueues: atLeast(3, 8),
    quorumPriorities: atLeast(4, 0),
    perQueueConsumerTimeout: atLeast(3, 12),
    defaultDeliveryLimit: atLeast(4, 0),
  };
}

/**
 * Why the configuration cannot run safely on this broker, or undefined when
 * it can.
 */
export function unsupportedReason(caps: BrokerCapabilities, queueType: DurableQueueType): string | undefined {
  if (!/rabbitmq/i.test(caps.product)) return undefined;
  if (queueType === 'quorum' && !caps.quorumQueues) {
    return `RabbitMQ ${caps.version} has no quorum queues (3.8+ needed); upgrade the broker or set topology.queue_type: classic (weaker guarantees: no replication)`;
  }
  return undefined;
}
