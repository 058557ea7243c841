/**
 * `pnpm bench:trace`: where one task's time goes at idle. Starts the real
 * services, binds a queue of its own to every SJE exchange, submits tasks one
 * at a time and prints, per hop, when each message reached the broker (ms
 * from the start of `POST /submit`), as the median and p99 over the samples,
 * and each hop's own time (from the step before, in the same sample).
 * Flags: --samples N (200) --queue-type quorum|classic (quorum) --slowest N (0: the N slowest
 *   samples, each with its hops' times in the order of the table)
 *   --assign-at-idle on|off (on: the task-manager's task_manager.assign_at_idle)
 *   --report-receipts on|off (on: the worker's worker.report_receipts)
 *   --source (run the services from their sources through tsx; by default they are built and run with plain Node)
 *   --processes (also split each task's time into the time inside each service and between them, from
 *   notes each service's probe takes: `trace-probe.mjs`, `trace-processes.ts`; the assigned path only)
 */
import { connect } from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTopology } from '../packages/core/src/index.js';
import { buildAll } from '../scripts/build.js';
import { disposeAll, spawnService, testConfig, type SpawnOptions } from '../test/helpers/stack.js';
import { HttpClient } from './http-client.js';
import { percentiles, type LatencyFigures } from './stats.js';
import { processBreakdown, readProbeNotes, type ClientSample } from './trace-processes.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    'queue-type': { type: 'string', default: 'quorum' },
    slowest: { type: 'string', default: '0' },
    source: { type: 'boolean', default: false },
    'assign-at-idle': { type: 'string', default: 'on' },
    'report-receipts': { type: 'string', default: 'on' },
    processes: { type: 'boolean', default: false },
  },
});
for (const flag of ['assign-at-idle', 'report-receipts'] as const) if (values[flag] !== 'on' && values[flag] !== 'off') throw new Error(`--${flag} must be on or off`);
const compiled = !values.source;
if (compiled) await buildAll();
const samples = Number(values.samples);
const queueType = values['queue-type'] === 'classic' ? 'classic' : 'quorum';

/** A message's step in a task's life, from its exchange, routing key and body. */
function stepOf(exchange: string, routingKey: string, body: { type?: string; status?: string }): string {
  const kind = exchange.slice(exchange.lastIndexOf('.') + 1);
  if (body.type === 'task_event') return `event ${body.status ?? ''}`;
  return `${kind} ${body.type ?? routingKey}`;
}

/** The step at which the client had its `201`. */
const ANSWERED = 'HTTP 201 answered';

/**
 * Each step's time from the step before it in one sample (the latest earlier
 * step of `order` the sample has): which hop the tail comes from. The first
 * step's time is from the start of the request. The `201` is a branch of its
 * own (the executor's answer, while the task-manager takes the command): the
 * step after it is measured from the step before it.
 */
function hopTimes(order: readonly string[], sample: Map<string, number>): Map<string, number> {
  const hops = new Map<string, number>();
  let from = 0;
  for (const step of order) {
    const at = sample.get(step);
    if (at === undefined) continue;
    hops.set(step, at - from);
    if (step !== ANSWERED) from = at;
  }
  return hops;
}

/** Each step's hop time over all samples. */
function stepGaps(order: readonly string[], seen: readonly Map<string, number>[]): Map<string, LatencyFigures> {
  const gaps = new Map<string, number[]>(order.map((step) => [step, []]));
  for (const sample of seen) for (const [step, ms] of hopTimes(order, sample)) gaps.get(step)?.push(ms);
  return new Map([...gaps].filter(([, g]) => g.length > 0).map(([step, g]) => [step, percentiles(g)]));
}

const config = await testConfig({
  topology: { queue_type: queueType },
  task_manager: { assign_at_idle: values['assign-at-idle'] === 'on' },
  worker: { report_receipts: values['report-receipts'] === 'on' },
  log: { level: 'warn' },
  plugins: [],
});
const http = new HttpClient();
/** --processes: each service's probe file. */
const probeDir = values.processes ? mkdtempSync(join(tmpdir(), 'sje-trace-')) : undefined;
const probeFile = (service: string): string | undefined => (probeDir ? join(probeDir, `${service}.tsv`) : undefined);
const probed = (service: string): SpawnOptions => {
  const file = probeFile(service);
  return file ? { compiled, nodeArgs: ['--import', new URL('./trace-probe.mjs', import.meta.url).href], env: { BENCH_TRACE_PROBE_FILE: file } } : { compiled };
};
try {
  await spawnService('task-manager', config, probed('task-manager'));
  await spawnService('worker', config, probed('worker'));
  const executor = await spawnService('executor', config, probed('executor'));
  const conn = await connect(config.amqp.url, { noDelay: true });
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  const t = createTopology({ prefix: config.topology.prefix });
  for (const key of [t.routingKeys.command, t.routingKeys.claim]) await ch.bindQueue(queue, t.exchanges.commands, key);
  await ch.bindQueue(queue, t.exchanges.tasks, 'default');
  for (const x of [t.exchanges.control, t.exchanges.events]) await ch.bindQueue(queue, x, '#');
  let current: { id?: string; t0: number; steps: Map<string, number> } | undefined;
  const byStep = new Map<string, number[]>();
  const samplesSeen: Map<string, number>[] = [];
  const clientSamples: ClientSample[] = [];
  await ch.consume(
    queue,
    (msg) => {
      if (!msg || !current) return;
      const at = performance.now() - current.t0;
      const body = JSON.parse(msg.content.toString()) as { type?: string; status?: string; task_id?: string; tasks?: { task_id?: string }[] };
      // A receipt's answer leaves after the task's last event, so it lands in the next sample: not a step of either.
      if (body.type === 'stored') return;
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
    const succeeded = current.steps.get('event succeeded');
    const { task_id: taskId } = JSON.parse(res.text) as { task_id?: string };
    if (succeeded !== undefined && taskId) clientSamples.push({ taskId, sentAt: performance.timeOrigin + current.t0, succeededAt: performance.timeOrigin + current.t0 + succeeded });
    current.steps.set(ANSWERED, answered);
    for (const [step, at] of current.steps) byStep.set(step, [...(byStep.get(step) ?? []), at]);
    samplesSeen.push(current.steps);
  }
  const rows = [...byStep.entries()].map(([step, ats]) => ({ step, ...percentiles(ats) })).sort((a, b) => a.p50 - b.p50);
  const gaps = stepGaps(rows.map((r) => r.step), samplesSeen);
  process.stdout.write(`one task at a time, ${samples} samples, ${queueType} queues; ms from the start of POST /submit, and from the step before\n`);
  process.stdout.write(`${'step'.padEnd(28)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'gap p50'.padStart(8)} ${'gap p99'.padStart(8)}\n`);
  for (const r of rows) {
    const g = gaps.get(r.step);
    process.stdout.write(`${r.step.padEnd(28)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(g?.p50 ?? '-').padStart(8)} ${String(g?.p99 ?? '-').padStart(8)}\n`);
  }
  const order = rows.map((r) => r.step);
  const last = order.at(-1) ?? '';
  for (const sample of [...samplesSeen].sort((a, b) => (b.get(last) ?? 0) - (a.get(last) ?? 0)).slice(0, Number(values.slowest))) {
    const hops = hopTimes(order, sample);
    process.stdout.write(`slow sample ${(sample.get(last) ?? 0).toFixed(1)} ms, by hop: ${order.map((step) => hops.get(step)?.toFixed(1) ?? '-').join(' ')}\n`);
  }
  if (probeDir) {
    await new Promise((r) => setTimeout(r, 500)); // the probes write every 200 ms
    const notes = { executor: readProbeNotes(probeFile('executor')!), taskManager: readProbeNotes(probeFile('task-manager')!), worker: readProbeNotes(probeFile('worker')!) };
    const breakdown = processBreakdown(clientSamples, notes);
    process.stdout.write(`\ninside each service and between them, ${breakdown.samples} samples assigned at idle (p50 / p99 ms):\n`);
    for (const { stage, ms } of breakdown.stages) process.stdout.write(`${stage.padEnd(50)} ${String(ms.p50).padStart(7)} ${String(ms.p99).padStart(7)}\n`);
    const sum = breakdown.stages.reduce((a, { ms }) => a + ms.p50, 0);
    process.stdout.write(`${'the whole, request sent to event seen'.padEnd(50)} ${String(breakdown.total_ms.p50).padStart(7)} ${String(breakdown.total_ms.p99).padStart(7)}  (the stages' p50s add up to ${sum.toFixed(3)})\n`);
  }
  await conn.close();
} finally {
  http.close();
  await disposeAll();
  if (probeDir) rmSync(probeDir, { recursive: true, force: true });
}
