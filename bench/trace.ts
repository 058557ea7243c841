/**
 * `pnpm bench:trace`: where one task's time goes at idle. Starts the real
 * services, binds a queue of its own to every SJE exchange, submits tasks one
 * at a time and prints, per hop, when each message reached the broker (ms
 * from the start of `POST /submit`), as the median over the samples.
 * Flags: --samples N (200) --queue-type quorum|classic (quorum)
 */
import { connect } from 'amqplib';
import { parseArgs } from 'node:util';
import { createTopology } from '../packages/core/src/index.js';
import { disposeAll, spawnService, testConfig } from '../test/helpers/stack.js';
import { HttpClient } from './http-client.js';
import { percentiles } from './stats.js';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '200' }, 'queue-type': { type: 'string', default: 'quorum' } } });
const samples = Number(values.samples);
const queueType = values['queue-type'] === 'classic' ? 'classic' : 'quorum';

/** A message's step in a task's life, from its exchange, routing key and body. */
function stepOf(exchange: string, routingKey: string, body: { type?: string; status?: string }): string {
  const kind = exchange.slice(exchange.lastIndexOf('.') + 1);
  if (body.type === 'task_event') return `event ${body.status ?? ''}`;
  return `${kind} ${body.type ?? routingKey}`;
}

const config = await testConfig({ topology: { queue_type: queueType }, log: { level: 'warn' }, plugins: [] });
const http = new HttpClient();
try {
  await spawnService('task-manager', config);
  await spawnService('worker', config);
  const executor = await spawnService('executor', config);
  const conn = await connect(config.amqp.url, { noDelay: true });
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  const t = createTopology({ prefix: config.topology.prefix });
  for (const key of [t.routingKeys.command, t.routingKeys.claim]) await ch.bindQueue(queue, t.exchanges.commands, key);
  await ch.bindQueue(queue, t.exchanges.tasks, 'default');
  for (const x of [t.exchanges.control, t.exchanges.events]) await ch.bindQueue(queue, x, '#');
  let current: { id?: string; t0: number; steps: Map<string, number> } | undefined;
  const byStep = new Map<string, number[]>();
  await ch.consume(
    queue,
    (msg) => {
      if (!msg || !current) return;
      const at = performance.now() - current.t0;
      const body = JSON.parse(msg.content.toString()) as { type?: string; status?: string; task_id?: string; tasks?: { task_id?: string }[] };
      const step = stepOf(msg.fields.exchange, msg.fields.routingKey, body);
      if (!current.steps.has(step)) current.steps.set(step, at);
    },
    { noAck: true },
  );
  const url = `${executor.baseUrl}/submit`;
  for (let i = 0; i < samples + 20; i++) {
    current = { t0: performance.now(), steps: new Map() };
    const res = await http.send('POST', url, { function: 'echo' });
    const answered = performance.now() - current.t0;
    const deadline = performance.now() + 2000;
    while (!current.steps.has('event succeeded') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (res.status !== 201) throw new Error(`submit answered ${res.status}`);
    if (i < 20) continue; // warm-up
    current.steps.set('HTTP 201 answered', answered);
    for (const [step, at] of current.steps) byStep.set(step, [...(byStep.get(step) ?? []), at]);
  }
  const rows = [...byStep.entries()].map(([step, ats]) => ({ step, ...percentiles(ats) })).sort((a, b) => a.p50 - b.p50);
  process.stdout.write(`one task at a time, ${samples} samples, ${queueType} queues; ms from the start of POST /submit\n`);
  process.stdout.write(`${'step'.padEnd(28)} ${'p50'.padStart(7)} ${'p99'.padStart(7)}\n`);
  for (const r of rows) process.stdout.write(`${r.step.padEnd(28)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)}\n`);
  await conn.close();
} finally {
  http.close();
  await disposeAll();
}
