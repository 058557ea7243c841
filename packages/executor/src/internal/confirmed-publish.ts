/**
 * Publishes a task-manager command and waits for the broker's confirm, at
 * most a given time.
 */
import { BrokerUnavailableError, type CancelCommand, type SubmitCommand } from '@sje/core';
import type { BrokerPort } from '../app-deps.js';

/**
 * Publishes `command` to the commands exchange (routing key `command`) and
 * resolves once the broker confirmed it.
 * @throws BrokerUnavailableError when not connected, refused, or not confirmed within `timeoutMs`.
 */
export async function publishCommand(broker: BrokerPort, command: SubmitCommand | CancelCommand, timeoutMs: number): Promise<void> {
  if (!broker.connected) throw new BrokerUnavailableError('the message broker is not connected');
  const published = broker.publish(broker.topology.exchanges.commands, broker.topology.routingKeys.command, command);
  // The publish may still settle after the timeout won the race: keep its rejection handled.
  published.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BrokerUnavailableError(`the broker did not confirm the ${command.type} command within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([published, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
