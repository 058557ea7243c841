/**
 * The raw RabbitMQ limit: the least any durable task engine must do for one
 * task — publish it persistent with a confirm, a consumer takes it and
 * publishes a persistent result with a confirm and acks, a collector takes
 * the result — measured with bare amqplib on the same queue type SJE uses.
 */
import { randomUUID } from 'node:crypto';
import { connect, type ConfirmChannel } from 'amqplib';
import { CpuMeter, findBrokerPid } from './cpu-usage.js';
import { percentiles, type LatencyFigures } from './stats.js';

/** Options of the raw baseline. */
export interface RawBaselineOptions {
  url: string;
  queueType: 'quorum' | 'classic';
  tasks: number;
  latencySamples: number;
  /** Publishes in flight at once during the throughput run. */
  window: number;
}

/** What the baseline measured. */
export interface RawBaselineResult {
  throughput_per_s: number;
  /** CPU milliseconds per 1,000 tasks in the throughput phase: the broker, and this process (producer, consumer and collector). */
  cpu_ms_per_1000_tasks: Record<string, number>;
  latency_ms: LatencyFigures;
}

function publishConfirmed(ch: ConfirmChannel, queue: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.sendToQueue(queue, body, { persistent: true }, (err) => (err ? reject(err as Error) : resolve()));
  });
}

/** Runs the 2-hop durable round trip: throughput with `tasks`, then one-at-a-time latency. */
export async function runRawBaseline(options: RawBaselineOptions): Promise<RawBaselineResult> {
  const conn = await connect(options.url, { noDelay: true });
  const id = randomUUID().slice(0, 8);
  const taskQ = `bench-raw-${id}.tasks`;
  const resultQ = `bench-raw-${id}.results`;
  const args = { 'x-queue-type': options.queueType };
  const setup = await conn.createChannel();
  await setup.assertQueue(taskQ, { durable: true, arguments: args });
  await setup.assertQueue(resultQ, { durable: true, arguments: args });

  // Worker: take a task, publish its result (persistent, confirmed), then ack.
  const workerCh = await conn.createConfirmChannel();
  await workerCh.prefetch(100);
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
  let onResult: (n: number) => void = () => undefined;
  await collectorCh.consume(resultQ, (msg) => {
    if (!msg) return;
    collectorCh.ack(msg);
    onResult(Number(msg.content.toString()));
  });

  const producer = await conn.createConfirmChannel();

  // Throughput.
  let received = 0;
  const allDone = new Promise<void>((resolve) => {
    onResult = () => {
      received += 1;
      if (received === options.tasks) resolve();
    };
  });
  const meter = new CpuMeter({ broker: findBrokerPid(), bench: process.pid });
  meter.start();
  const start = performance.now();
  let next = 0;
  const pump = async (): Promise<void> => {
    while (next < options.tasks) {
      const n = next++;
      await publishConfirmed(producer, taskQ, Buffer.from(String(n)));
    }
  };
  await Promise.all(Array.from({ length: options.window }, pump));
  await allDone;
  const seconds = (performance.now() - start) / 1000;
  const cpu_ms_per_1000_tasks = meter.stop(options.tasks);

  // Latency, one task at a time.
  const samples: number[] = [];
  for (let i = 0; i < options.latencySamples; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => (onResult = () => resolve()));
    await publishConfirmed(producer, taskQ, Buffer.from(String(i)));
    await got;
    samples.push(performance.now() - t0);
  }

  await producer.waitForConfirms();
  await setup.deleteQueue(taskQ);
  await setup.deleteQueue(resultQ);
  await conn.close();
  return { throughput_per_s: options.tasks / seconds, cpu_ms_per_1000_tasks, latency_ms: percentiles(samples) };
}
