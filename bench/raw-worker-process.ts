/**
 * The raw baseline's worker in a process of its own: takes each task from the
 * task queue, publishes it back as its result (persistent, confirmed) and
 * acks, as the in-process worker of {@link RawBaseline} does. Started by
 * `RawBaseline.latencyAcrossProcesses` with `fork`; it answers `ready` over
 * the IPC channel once it consumes, and exits when that channel closes.
 * Arguments: URL TASK_QUEUE RESULT_QUEUE.
 */
import { connect } from 'amqplib';

const [url, taskQueue, resultQueue] = process.argv.slice(2);
if (!url || !taskQueue || !resultQueue) throw new Error('usage: raw-worker-process URL TASK_QUEUE RESULT_QUEUE');

const conn = await connect(url, { noDelay: true });
const ch = await conn.createConfirmChannel();
await ch.prefetch(1);
await ch.consume(taskQueue, (msg) => {
  if (!msg) return;
  ch.sendToQueue(resultQueue, msg.content, { persistent: true }, (err) => (err ? ch.nack(msg, false, true) : ch.ack(msg)));
});
process.on('disconnect', () => void conn.close().finally(() => process.exit(0)));
process.send?.('ready');
