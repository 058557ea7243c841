/**
 * Poison: a task that kills its worker on every delivery fails as
 * SJE_ERR_POISON_TASK after `task_manager.max_deliveries` runs instead of
 * looping forever; and messages that are not JSON or break their schema, on
 * every queue SJE consumes, go to the dead-letter queue with the reason while
 * the services keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SjeConfig } from '../../packages/core/src/index.js';
import { drainQueue, publishRaw } from '../helpers/broker.js';
import { http } from '../helpers/http.js';
import { disposeTestConfig, spawnService } from '../helpers/stack.js';
import { faultConfig, figure, sleep, startStack, until, variant, type Stack } from './support/fault-stack.js';
import { submitTask, taskProblems, waitForView, type StatusView } from './support/tasks.js';

const TEST = 'poison';
const WORKER_ID = 'poison-w';
let config: SjeConfig;
let stack: Stack;

beforeAll(async () => {
  config = await faultConfig({ task_manager: { max_deliveries: 3 }, worker: { id: WORKER_ID, concurrency: 2 } });
  stack = await startStack(config, { workers: 1 });
});

afterAll(async () => {
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
  // The second worker pool is not in the configuration's worker.queues: name it for the clean-up.
  if (config) await disposeTestConfig(config, ['poison']);
});

describe('poison messages and poison tasks', () => {
  it('dead-letters malformed and schema-invalid messages on every SJE queue, with the reason, and keeps working', async () => {
    const t = config.topology.prefix;
    const { url } = config.amqp;
    const targets: { queue: string; exchange: string; key: string; invalid: unknown; more?: unknown[] }[] = [
      {
        queue: `${t}.task-manager.commands`,
        exchange: `${t}.commands`,
        key: 'command',
        invalid: { type: 'submit', tasks: [{ function: 1 }] },
      },
      { queue: `${t}.task-manager.workers`, exchange: `${t}.commands`, key: 'worker', invalid: { type: 'heartbeat', worker_id: 5 } },
      { queue: `${t}.task-manager.claims`, exchange: `${t}.commands`, key: 'claim', invalid: { type: 'started', task_id: 'x', lease_id: 3 } },
      {
        queue: `${t}.task-manager.queries`,
        exchange: `${t}.commands`,
        key: 'query',
        invalid: { type: 'get_tasks', task_ids: 'all of them' },
      },
      {
        queue: `${t}.tasks.default`,
        exchange: `${t}.tasks`,
        key: 'default',
        invalid: { type: 'dispatch', task_id: '', lease_id: 7 },
        // A group with one bad task is refused whole.
        more: [{ type: 'dispatches', tasks: [{ type: 'dispatch', task_id: 'ok', lease_id: 'l', function: 'echo', params: {}, attempt: 0, queue: 'default', priority: 0, labels: {} }] }],
      },
      {
        queue: `${t}.worker.${WORKER_ID}.control`,
        exchange: `${t}.control`,
        key: `worker.${WORKER_ID}`,
        invalid: { type: 'grant', granted: 'yes' },
      },
    ];
    const invalidOf = (target: (typeof targets)[number]): unknown[] => [target.invalid, ...(target.more ?? [])];
    const published = targets.reduce((n, target) => n + 1 + invalidOf(target).length, 0);
    for (const target of targets) {
      await publishRaw(url, target.exchange, target.key, '{"type": "submit", oops');
      for (const invalid of invalidOf(target)) await publishRaw(url, target.exchange, target.key, JSON.stringify(invalid));
    }
    const dead = await drainQueue(url, `${t}.dead-letter`, { min: published, timeoutMs: 15_000 });
    const reasons = dead.map((d) => ({
      source: String(d.headers['x-sje-source-queue']),
      reason: String(d.headers['x-sje-reason']),
      body: d.content.toString(),
    }));
    for (const target of targets) {
      const mine = reasons.filter((r) => r.source === target.queue);
      expect(mine.map((r) => r.reason.split(':')[0]).sort(), target.queue).toEqual([
        'message is not valid JSON',
        ...invalidOf(target).map(() => 'schema validation failed'),
      ]);
      // The original bytes are kept.
      expect(mine.map((r) => r.body).sort(), target.queue).toEqual(['{"type": "submit", oops', ...invalidOf(target).map((m) => JSON.stringify(m))].sort());
    }
    expect(dead).toHaveLength(published);
    for (const d of dead) expect(String(d.headers['x-sje-dead-lettered-at'])).toMatch(/^\d{4}-\d\d-\d\dT/);

    // Every service is still up and the whole path still works.
    for (const s of [stack.taskManager, stack.executor, stack.workers[0]!]) expect(s.running, s.name).toBe(true);
    const ok = await submitTask(stack.api, { function: 'echo', params: { after: 'poison' } });
    expect((await waitForView(stack.api, ok, (v) => v.status === 'succeeded')).result).toEqual({ after: 'poison' });
    figure(
      TEST,
      `malformed + schema-invalid messages published (${targets.length} queues, ${published} messages)`,
      `${dead.length} dead-lettered with x-sje-reason, services kept working`,
    );
  });

  it.each([
    { label: 'a fixed worker.id (restarted under the same id)', fixedId: true },
    { label: 'the default worker id (a new id per process)', fixedId: false },
  ])(
    'fails a task that kills its worker on every delivery after max_deliveries (3), instead of looping: $label',
    async ({ label, fixedId }) => {
      // The default-id worker gets a pool of its own, so that only it sees the task.
      const queue = fixedId ? 'default' : 'poison';
      const worker = fixedId ? stack.workers[0]! : await spawnService('worker', variant(config, { worker: { id: '', queues: [queue] } }));
      if (!fixedId) stack.workers.push(worker);
      const id = await submitTask(stack.api, { function: 'crash_worker', queue });
      const started = Date.now();
      let deaths = 0;
      /** Like a process supervisor: brings the worker back as soon as it died. */
      const supervise = async (waitReady: boolean): Promise<void> => {
        if (worker.running) return;
        expect((await worker.waitExit()).signal).toBe('SIGKILL');
        deaths += 1;
        await worker.restart({ waitReady });
      };
      let final: StatusView | undefined;
      const deadline = Date.now() + 90_000;
      while (!final) {
        if (Date.now() > deadline) throw new Error(`the poison task did not fail in time (${deaths} worker deaths)`);
        await supervise(false);
        const view = (await http<StatusView>(`${stack.api}/status/${id}`)).body;
        if (view.status === 'failed') final = view;
        else await sleep(100);
      }
      const failedAfterMs = Date.now() - started;
      expect(final.error?.code).toBe('SJE_ERR_POISON_TASK');
      expect(final.history.filter((h) => h.status === 'running')).toHaveLength(3);
      expect(final.history.filter((h) => h.status === 'queued' && /lost/.test(h.reason ?? ''))).toHaveLength(2);
      expect(taskProblems(final)).toEqual([]);
      // The third death is the last: the worker now stays up and does other work.
      await until(
        'the third death to be seen',
        async () => {
          await supervise(true);
          return deaths >= 3;
        },
        15_000,
      );
      await worker.waitReady();
      await sleep(1000);
      expect(worker.running).toBe(true);
      expect(deaths).toBe(3);
      const ok = await submitTask(stack.api, { function: 'echo', queue, params: { n: 1 } });
      await waitForView(stack.api, ok, (v) => v.status === 'succeeded');
      figure(
        TEST,
        `crash_worker, max_deliveries 3, ${label}`,
        `failed SJE_ERR_POISON_TASK after 3 runs / 3 worker deaths, ${failedAfterMs} ms after submit`,
      );
    },
  );
});
