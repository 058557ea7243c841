/**
 * The broker connection of a worker played by hand in a test: on every
 * connect it declares the worker's own control queue, as a worker does, so
 * grants, aborts and assigns for `workerId` reach it.
 */
import { Broker, createTopology, type Logger, type SjeConfig } from '../../packages/core/src/index.js';

/** A (not yet started) broker for the hand-played worker `workerId`. */
export function handWorkerBroker(config: SjeConfig, workerId: string, logger: Logger): Broker {
  const topology = createTopology({ prefix: config.topology.prefix, queueType: config.topology.queue_type });
  return new Broker({
    url: config.amqp.url,
    topology,
    logger,
    service: 'worker',
    onConnect: async (ch) => {
      await ch.assertQueue(topology.workerControlQueue(workerId), { exclusive: true, autoDelete: true, durable: false });
      await ch.bindQueue(topology.workerControlQueue(workerId), topology.exchanges.control, topology.controlKeyFor(workerId));
    },
  });
}
