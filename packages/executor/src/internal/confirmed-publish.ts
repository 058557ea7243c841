/**
 * Publishes task-manager commands and waits for the broker's confirm, at
 * most a given time. Submits of concurrent requests share a message while
 * earlier ones await their confirms (see {@link CommandPublisher}).
 */
import { BrokerUnavailableError, MAX_COALESCED_SUBMITS, PublishCoalescer, type CancelCommand, type SubmitCommand, type SubmitsBatch } from '@sje/core';
import type { BrokerPort } from '../app-deps.js';

/**
 * Resolves when `published` does, or rejects once `timeoutMs` passed.
 * @throws BrokerUnavailableError when not confirmed within `timeoutMs`.
 */
async function withConfirmTimeout(published: Promise<void>, what: string, timeoutMs: number): Promise<void> {
  // The publish may still settle after the timeout won the race: keep its rejection handled.
  published.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BrokerUnavailableError(`the broker did not confirm the ${what} command within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([published, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Most tasks the submits of one `submits` message hold together: the
 * task-manager's batches stop growing at 500 tasks, so a larger message
 * would only be a larger quorum write. A submit that holds this many on its
 * own is sent at once, without waiting for a confirm.
 */
export const MAX_COALESCED_TASKS = 500;

/**
 * Sends the executor's commands to the task-manager, in the order they are
 * given, adapting to load: a command goes out alone, at once, when no
 * publish awaits its confirm; while one does, the submits of concurrent
 * requests wait and leave together as one `submits` message (at most
 * `maxTasks` tasks; a submit that holds as many goes at once) when its
 * confirm returns. One publish in flight, not two as for a worker's reports: with
 * 32 clients sending one task per request it gave 1,036-1,090 req/s against
 * 868-883 with two (and 828-885 without coalescing), and fewer, larger
 * batches for the task-manager (`pnpm bench --skip-raw --rest-tasks 5000`).
 * A `cancel` always travels alone, behind every command given before it (a
 * task's cancel never overtakes its submit). Each caller is answered only
 * once the message holding its command is confirmed.
 */
export class CommandPublisher {
  private readonly coalescer: PublishCoalescer<SubmitCommand | CancelCommand, SubmitCommand | SubmitsBatch | CancelCommand>;

  constructor(
    private readonly broker: BrokerPort,
    maxTasks = MAX_COALESCED_TASKS,
  ) {
    this.coalescer = new PublishCoalescer({
      publish: (message) => broker.publish(broker.topology.exchanges.commands, broker.topology.routingKeys.command, message),
      combine: (commands) => (commands.length === 1 ? commands[0]! : { type: 'submits', submits: commands.filter((c) => c.type === 'submit') }),
      maxInFlight: 1,
      maxItems: MAX_COALESCED_SUBMITS,
      maxWeight: maxTasks,
      weight: (command) => (command.type === 'submit' ? command.tasks.length : 1),
      alone: (command) => command.type !== 'submit',
    });
  }

  /**
   * Resolves once the message holding `command` is confirmed.
   * @throws BrokerUnavailableError when not connected, refused, or not confirmed within `timeoutMs`.
   */
  async publish(command: SubmitCommand | CancelCommand, timeoutMs: number): Promise<void> {
    if (!this.broker.connected) throw new BrokerUnavailableError('the message broker is not connected');
    await withConfirmTimeout(this.coalescer.send(command), command.type, timeoutMs);
  }
}
