/**
 * A task that runs longer than RabbitMQ's `consumer_timeout` completes once,
 * and the broker never closes an SJE channel for it: workers acknowledge a
 * dispatch as soon as the task-manager grants its lease, so no delivery is
 * held for the length of a run. A plain consumer holding an unacknowledged
 * delivery over the same time is closed by the broker, which shows the
 * setting was in force.
 *
 * The consumer timeout is a broker-wide setting: this file runs in the
 * `disruptive` project, alone, after every other test, and always puts the
 * default (30 minutes) back.
 */
import { join } from 'node:path';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { rabbitmqctl } from '../helpers/broker.js';
import { expectBrokerToOurselves } from '../faults/support/broker-guard.js';
import { faultConfig, figure, startStack, until, type Stack } from '../faults/support/fault-stack.js';
import { readRunLog, submitTask, taskProblems, waitForView } from '../faults/support/tasks.js';

const TEST = 'consumer_timeout';
/** RabbitMQ's default, put back after the test. */
const DEFAULT_CONSUMER_TIMEOUT_MS = 1_800_000;
const SHORT_CONSUMER_TIMEOUT_MS = 5000;
/** The broker checks consumer timeouts about once a minute: the task must outlive that. */
const RUN_MS = 70_000;
let stack: Stack | undefined;

async function setConsumerTimeout(ms: number): Promise<void> {
  await rabbitmqctl(['eval', `application:set_env(rabbit, consumer_timeout, ${ms}).`]);
}

afterAll(async () => {
  try {
    await setConsumerTimeout(DEFAULT_CONSUMER_TIMEOUT_MS);
  } finally {
    await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
  }
});

describe('a task longer than the broker consumer_timeout', () => {
  it(`runs ${RUN_MS / 1000} s once, to success, with no channel closed by the broker`, async () => {
    const config = await faultConfig({ worker: { concurrency: 2 } });
    const log = join(config.task_manager.data_dir, 'runs.log');
    stack = await startStack(config, { workers: 1 });
    const all = [stack.taskManager, stack.executor, ...stack.workers];
    await expectBrokerToOurselves(all.map((s) => s.pid!));

    // A control consumer that holds one delivery unacknowledged, as an ack-at-the-end design would.
    const control = await connect(config.amqp.url, { noDelay: true });
    control.on('error', () => undefined);
    const controlQueue = `${config.topology.prefix}.consumer-timeout-control`;
    let controlClosed: string | undefined;
    try {
      try {
        await setConsumerTimeout(SHORT_CONSUMER_TIMEOUT_MS);
        expect((await rabbitmqctl(['eval', 'application:get_env(rabbit, consumer_timeout).'])).stdout).toContain(
          String(SHORT_CONSUMER_TIMEOUT_MS),
        );
        const ch = await control.createChannel();
        ch.on('error', (err: Error) => (controlClosed = err.message));
        await ch.assertQueue(controlQueue, { durable: false, autoDelete: true });
        await ch.prefetch(1);
        ch.sendToQueue(controlQueue, Buffer.from('held'));
        await ch.consume(controlQueue, () => undefined, { noAck: false });

        const started = Date.now();
        const id = await submitTask(stack.api, { function: 'record_run', params: { log, ms: RUN_MS } });
        await waitForView(stack.api, id, (v) => v.status === 'running');
        const done = await waitForView(stack.api, id, (v) => v.status !== 'running' && v.status !== 'queued', RUN_MS + 30_000);
        const tookMs = Date.now() - started;

        expect(done.status).toBe('succeeded');
        expect(done.attempt).toBe(1);
        expect(done.history.map((h) => h.status)).toEqual(['pending', 'queued', 'running', 'succeeded']);
        expect(taskProblems(done)).toEqual([]);
        expect(readRunLog(log).get(id)).toHaveLength(1);
        // The control consumer was closed by the broker meanwhile: the short timeout was in force.
        await until('the control channel to be closed by the broker', () => controlClosed !== undefined, 30_000, 200);
        expect(controlClosed).toMatch(/PRECONDITION_FAILED/);
        // No SJE channel was closed.
        for (const s of all) {
          expect(s.output(), s.name).not.toMatch(
            /PRECONDITION[_-]FAILED|consumer channel error|publish channel error|delivery acknowledgement/i,
          );
          expect(s.running, s.name).toBe(true);
        }
        figure(
          TEST,
          `task of ${RUN_MS / 1000} s with consumer_timeout ${SHORT_CONSUMER_TIMEOUT_MS} ms`,
          `succeeded once in ${tookMs} ms, 1 run, no SJE channel closed`,
        );
        figure(TEST, 'control consumer holding an unacked delivery', `closed by the broker: ${controlClosed ?? ''}`.slice(0, 160));
      } finally {
        await setConsumerTimeout(DEFAULT_CONSUMER_TIMEOUT_MS);
      }
    } finally {
      await control.close().catch(() => undefined);
    }
    expect((await rabbitmqctl(['eval', 'application:get_env(rabbit, consumer_timeout).'])).stdout).toContain(
      String(DEFAULT_CONSUMER_TIMEOUT_MS),
    );
  });
});
