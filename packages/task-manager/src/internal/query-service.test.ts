import { BrokerUnavailableError, createLogger, type Broker, type Delivery, type TaskManagerQuery } from '@sje/core';
import { describe, expect, it } from 'vitest';
import type { CommandLoop } from './command-loop.js';
import type { CommandContext } from './commands/command-context.js';
import { QueryService } from './query-service.js';
import type { TaskStore } from '@sje/store';
import type { WorkflowTracker } from './workflow-tracker.js';

const logger = createLogger({ service: 'test', silent: true });

/** A query service that answers `get_tasks` from an empty store and replies through `reply`. */
function serviceReplyingWith(reply: Broker['reply']): QueryService {
  const broker = { reply } as unknown as Broker;
  const store = { getTasks: async () => new Map() } as unknown as TaskStore;
  return new QueryService(broker, store, {} as CommandLoop, {} as CommandContext, {} as WorkflowTracker, logger, { online: [] });
}

const query: TaskManagerQuery = { type: 'get_tasks', task_ids: ['a'] };
const delivery = { raw: {} } as unknown as Delivery;

describe('QueryService', () => {
  it('replies with what the store holds', async () => {
    const sent: unknown[] = [];
    await serviceReplyingWith(async (_raw, body) => void sent.push(body)).handle(query, delivery);
    expect(sent).toEqual([{ type: 'tasks', tasks: [null] }]);
  });

  it('lets a reply that cannot be sent fail the delivery, so that the broker layer puts the query back', async () => {
    const service = serviceReplyingWith(async () => {
      throw new BrokerUnavailableError('no channel');
    });
    await expect(service.handle(query, delivery)).rejects.toBeInstanceOf(BrokerUnavailableError);
  });
});
