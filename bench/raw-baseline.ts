/**
 * The raw RabbitMQ limit: the least any durable task engine must do for one
 * task — publish it persistent with a confirm, a consumer takes it and
 * publishes a persistent result with a confirm and acks, a collector takes
 * the result — measured with bare amqplib on the same queue type SJE uses.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { CpuMeter, findBrokerPid } from './cpu-usage.js';
import { benchParams } from './payload.js';
import { percentiles, type LatencyFigures } from './stats.js';

/** Options of the raw baseline. */
export interface RawBaselineOptions {
  url: string;
  queueType: 'quorum' | 'classic';
  /** Tasks the consumer holds at once: SJE's worker concurrency, so that both sides run as many tasks at a time. */
  prefetch: number;
  /** Characters of payload in each task (and so in its result, which the consumer echoes); 0: the task's number alone. */
  payloadBytes: number;
}

/** One throughput round: N tasks through the round trip, first publish to last result. */
export interface RawRound {
  throughput_per_s: number;
  /** CPU milliseconds per 1,000 tasks: the broker, and this process (producer, consumer and collector). */
  cpu_ms_per_1000_tasks: Record<string, number>;
}

/** Declares a task queue and a result queue of the given type, with fresh names. */
async function declareQueuePair(setup: Channel, queueType: RawBaselineOptions['queueType']): Promise<{ taskQ: string; resultQ: string }> {
  const id = randomUUID().slice(0, 8);
  const taskQ = `bench-raw-${id}.tasks`;
  const resultQ = `bench-raw-${id}.results`;
  const args = { 'x-queue-type': queueType };
  await setup.assertQueue(taskQ, { durable: true, arguments: args });
  await setup.assertQueue(resultQ, { durable: true, arguments: args });
  return { taskQ, resultQ };
}

function publishConfirmed(ch: ConfirmChannel, queue: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.sendToQueue(queue, body, { persistent: true }, (err) => (err ? reject(err as Error) : resolve()));
  });
}

/** The 2-hop durable round trip on two queues of its own, measured round by round. */
export class RawBaseline {
  private onResult: () => void = () => undefined;

  private constructor(
    private readonly options: RawBaselineOptions,
    private readonly conn: ChannelModel,
    private readonly setup: Channel,
    private readonly producer: ConfirmChannel,
    private readonly taskQ: string,
    private readonly resultQ: string,
  ) {}

  /** Task number `n`'s message: its number, with the payload the options ask for as JSON. */
  private body(n: number): Buffer {
    return Buffer.from(this.options.payloadBytes > 0 ? JSON.stringify({ n, ...benchParams(this.options.payloadBytes) }) : String(n));
  }

  /** Declares the queues and starts the consumer (worker) and the collector. */
  static async open(options: RawBaselineOptions): Promise<RawBaseline> {
    const conn = await connect(options.url, { noDelay: true });
    const setup = await conn.createChannel();
    const { taskQ, resultQ } = await declareQueuePair(setup, options.queueType);
    const baseline = new RawBaseline(options, conn, setup, await conn.createConfirmChannel(), taskQ, resultQ);

    // Worker: take a task, publish its result (persistent, confirmed), then ack.
    const workerCh = await conn.createConfirmChannel();
    await workerCh.prefetch(options.prefetch);
    await workerCh.consume(taskQ, (msg) => {
      if (!msg) return;
      publishConfirmed(workerCh, resultQ, msg.content).then(
        () => workerCh.ack(msg),
        () => workerCh.nack(msg, false, true),
      );
    });

    // Collector.
    const collectorCh = await conn.createChannel();
    await collectorCh.prefetch(500);
    await collectorCh.consume(resultQ, (msg) => {
      if (!msg) return;
      collectorCh.ack(msg);
      baseline.onResult();
    });
    return baseline;
  }

  /** Pushes `tasks` through with `window` publishes in flight; the round ends at the last result. */
  async throughputRound(tasks: number, window: number): Promise<RawRound> {
    let received = 0;
    const done = new Promise<void>((resolve) => {
      this.onResult = () => {
        received += 1;
        if (received === tasks) resolve();
      };
    });
    const meter = new CpuMeter({ broker: findBrokerPid(), bench: process.pid });
    meter.start();
    const start = performance.now();
    let next = 0;
    const pump = async (): Promise<void> => {
      while (next < tasks) {
        const n = next++;
        await publishConfirmed(this.producer, this.taskQ, this.body(n));
      }
    };
    await Promise.all(Array.from({ length: window }, pump));
    await done;
    const seconds = (performance.now() - start) / 1000;
    return { throughput_per_s: tasks / seconds, cpu_ms_per_1000_tasks: meter.stop(tasks) };
  }

  /** One task at a time, publish to result, `samples` times. */
  async latency(samples: number): Promise<LatencyFigures> {
    return this.oneAtATime(this.taskQ, () => new Promise<void>((resolve) => (this.onResult = () => resolve())), samples, 0);
  }

  /**
   * Publishes tasks to `taskQ` one at a time, each once `nextResult()` (asked
   * for before the publish) resolved for the one before, and times each
   * publish to its result; the first `warmup` are not counted.
   */
  private async oneAtATime(taskQ: string, nextResult: () => Promise<void>, samples: number, warmup: number): Promise<LatencyFigures> {
    const times: number[] = [];
    for (let i = 0; i < warmup + samples; i++) {
      const t0 = performance.now();
      const got = nextResult();
      await publishConfirmed(this.producer, taskQ, this.body(i));
      await got;
      if (i >= warmup) times.push(performance.now() - t0);
    }
    return percentiles(times);
  }

  /**
   * The same one-at-a-time loop with the worker in a second process
   * (`raw-worker-process.ts`), on two queues of its own: the round trip
   * crosses two processes, as every task engine's does between the code that
   * submits and the worker. Its first `warmup` tasks (the new process's code
   * not yet compiled) are not counted.
   */
  async latencyAcrossProcesses(samples: number, warmup = 50): Promise<LatencyFigures> {
    const { taskQ, resultQ } = await declareQueuePair(this.setup, this.options.queueType);
    const collector = await this.conn.createChannel();
    let onResult: () => void = () => undefined;
    await collector.consume(resultQ, (msg) => {
      if (!msg) return;
      collector.ack(msg);
      onResult();
    });
    const worker = fork(new URL('./raw-worker-process.ts', import.meta.url), [this.options.url, taskQ, resultQ], { execArgv: process.execArgv });
    const exited = once(worker, 'exit');
    const exitedEarly = exited.then(([code]) => Promise.reject(new Error(`the raw worker process exited (${String(code)}) before it was ready`)));
    exitedEarly.catch(() => undefined);
    try {
      await Promise.race([once(worker, 'message'), exitedEarly]);
      return await this.oneAtATime(taskQ, () => new Promise<void>((resolve) => (onResult = resolve)), samples, warmup);
    } finally {
      if (worker.connected) worker.disconnect();
      await exited;
      await collector.close();
      await this.setup.deleteQueue(taskQ);
      await this.setup.deleteQueue(resultQ);
    }
  }

  /** Deletes the queues and disconnects. */
  async close(): Promise<void> {
    await this.producer.waitForConfirms();
    await this.setup.deleteQueue(this.taskQ);
    await this.setup.deleteQueue(this.resultQ);
    await this.conn.close();
  }
}
