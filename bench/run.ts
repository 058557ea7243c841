/**
 * `pnpm bench`: measures the raw RabbitMQ limit and SJE in the same run
 * against the same broker, prints a table with the ratios, and writes
 * `bench/results/latest.json`.
 *
 * Flags: --tasks N (20000 per throughput round) --rounds N (3, raw and SJE in turn) --warmup N (20000:
 * tasks run first on each side, not counted) --batch N (500) --latency N (500) --workers N (1)
 * --concurrency N (1024: the worker's concurrency, the raw consumer's prefetch, and the raw
 * publishes in flight of the deep-pipeline figure) --raw-window N (64: raw publishes in flight) --rest-clients N (32) --rest-tasks N (5000)
 * --queue-type quorum|classic (quorum) --params-bytes N (0: each task carries params of about N
 *   characters, which the echo handler returns; the raw round trip's task and result as large)
 * --assign-at-idle on|off (on: the task-manager's task_manager.assign_at_idle, for before/after runs)
 * --report-receipts on|off (on: the worker's worker.report_receipts, for before/after runs)
 * --hold-limit N (the task-manager's task_manager.hold_limit, 100000 by default; 0: no held backlog, for before/after runs)
 * --skip-raw --skip-sje
 * --profile (CPU profiles of every service in bench/results/profiles)
 * --source: run the services from their TypeScript sources through tsx, as in development; by default
 *   the run builds them first (`pnpm build`) and runs their JavaScript with plain Node, as in production
 * --scale N: only the scale run — the task-manager holding N finished tasks
 *   (RSS, GET /status p50/p99 over --scale-samples reads, after --scale-warmup
 *   reads that are not counted); writes
 *   bench/results/scale.json; --status-reads store_first|ops_first|broker_first (store_first)
 *   sets the executor's executor.status_reads for it; --scale-store sqlite|postgres (sqlite) the task
 *   store (postgres: the tests' server, SJE_TEST_POSTGRES_URL, tables of their own, dropped after)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'amqplib';
import { cpus, hostname, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configSchema } from '../packages/core/src/index.js';
import { buildAll } from '../scripts/build.js';
import { getBrokerUrl } from '../test/helpers/broker.js';
import { RawBaseline } from './raw-baseline.js';
import { medianCpu, pairRatios, runRounds } from './rounds.js';
import { DEFAULT_SCALE_WARMUP, runScaleBench } from './scale-bench.js';
import { SjeBench, type SjeRound, type SjeSingleSubmits } from './sje-bench.js';
import { median, round, type LatencyFigures } from './stats.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '500' },
    latency: { type: 'string', default: '500' },
    workers: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1024' },
    'raw-window': { type: 'string', default: '64' },
    'rest-clients': { type: 'string', default: '32' },
    'rest-tasks': { type: 'string', default: '5000' },
    'queue-type': { type: 'string', default: 'quorum' },
    'assign-at-idle': { type: 'string', default: 'on' },
    'report-receipts': { type: 'string', default: 'on' },
    'hold-limit': { type: 'string', default: String(configSchema.task_manager.hold_limit.default) },
    'params-bytes': { type: 'string', default: '0' },
    'skip-raw': { type: 'boolean', default: false },
    'skip-sje': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    scale: { type: 'string' },
    'scale-samples': { type: 'string', default: '2000' },
    'scale-warmup': { type: 'string', default: String(DEFAULT_SCALE_WARMUP) },
    'scale-store': { type: 'string', default: 'sqlite' },
    'status-reads': { type: 'string', default: 'store_first' },
  },
});
const int = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
};
/** A flag that may also be 0. */
const count = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`);
  return n;
};
/** A flag that is `on` or `off`. */
const onOff = (name: keyof typeof values): boolean => {
  if (values[name] !== 'on' && values[name] !== 'off') throw new Error(`--${name} must be on or off`);
  return values[name] === 'on';
};
const queueType: 'quorum' | 'classic' = values['queue-type'] === 'classic' ? 'classic' : 'quorum';
const settings = {
  tasks: int('tasks'),
  warmupTasks: count('warmup'),
  rounds: int('rounds'),
  batchSize: int('batch'),
  latencySamples: int('latency'),
  workers: int('workers'),
  workerConcurrency: int('concurrency'),
  restClients: int('rest-clients'),
  restTasks: int('rest-tasks'),
  queueType,
  assignAtIdle: onOff('assign-at-idle'),
  reportReceipts: onOff('report-receipts'),
  holdLimit: count('hold-limit'),
  rawWindow: int('raw-window'),
  paramsBytes: count('params-bytes'),
  compiled: !values.source,
  ...(values.profile ? { profileDir: join(dirname(fileURLToPath(import.meta.url)), 'results', 'profiles') } : {}),
};
// A batched submit must fit the executor's default body limit (each task's params and ~64 bytes of the rest).
const bodyLimit = configSchema.executor.body_limit.default;
if (settings.batchSize * (settings.paramsBytes + 64) > bodyLimit) {
  throw new Error(`--batch ${settings.batchSize} with --params-bytes ${settings.paramsBytes} exceeds the executor's body limit of ${bodyLimit} bytes; use --batch ${Math.floor(bodyLimit / (settings.paramsBytes + 64))} or less`);
}
/** The broker's own version, as it announces itself on connect. */
async function brokerVersion(url: string): Promise<string | undefined> {
  try {
    const conn = await connect(url);
    const version = (conn.connection as unknown as { serverProperties?: { version?: string } }).serverProperties?.version;
    await conn.close();
    return version;
  } catch {
    return undefined;
  }
}

async function machine(url: string): Promise<Record<string, unknown>> {
  return {
    host: hostname(),
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model,
    memory_gb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    rabbitmq: await brokerVersion(url),
  };
}
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
/** What the services ran from, for the printed tables. */
const runsFrom = (compiled: boolean): string => (compiled ? 'their build (plain Node)' : 'their sources (tsx)');

if (settings.compiled) {
  const files = await buildAll();
  log(`built ${files} files: the services run from their build with plain Node (--source: through tsx)`);
}

if (values.scale !== undefined) {
  const n = int('scale');
  const statusReads = values['status-reads'];
  if (statusReads !== 'store_first' && statusReads !== 'ops_first' && statusReads !== 'broker_first') {
    throw new Error('--status-reads must be store_first, ops_first or broker_first');
  }
  const store = values['scale-store'];
  if (store !== 'sqlite' && store !== 'postgres') throw new Error('--scale-store must be sqlite or postgres');
  const scale = await runScaleBench({ tasks: n, samples: int('scale-samples'), log, statusReads, warmup: int('scale-warmup'), compiled: settings.compiled, store });
  console.log(`tasks stored                 | ${scale.tasks}`);
  console.log(`fill time                    | ${round(scale.fill_seconds, 1)} s`);
  console.log(`database size                | ${round(scale.db_bytes / 2 ** 20, 1)} MB (${scale.store})`);
  console.log(`task-manager RSS             | ${scale.task_manager_rss_mb} MB (after reads: ${scale.task_manager_rss_after_reads_mb} MB)`);
  console.log(`GET /status p50 / p99 / max  | ${scale.status_ms.p50} / ${scale.status_ms.p99} / ${scale.status_ms.max} ms (after ${scale.warmup_reads} reads not counted)`);
  console.log(`GET /healthz p50 / p99 / max | ${scale.healthz_ms.p50} / ${scale.healthz_ms.p99} / ${scale.healthz_ms.max} ms (HTTP alone, same executor)`);
  const fig = (f: { p50: number; p99: number; max: number }): string => `${f.p50} / ${f.p99} / ${f.max} ms`;
  console.log(`benchmark event-loop delay   | ${fig(scale.status_client_loop_delay_ms)} (during those reads)`);
  console.log(`status reads                 | ${scale.status_reads}, answered from ${JSON.stringify(scale.status_sources)}`);
  console.log(`executor RSS after reads     | ${scale.executor_rss_after_reads_mb} MB`);
  console.log(`services run from            | ${runsFrom(scale.compiled)}`);
  console.log('parts, each on its own (p50 / p99 / max):');
  console.log(`  task-manager GET /tasks/:id | ${fig(scale.parts.task_manager_ops_ms)}`);
  console.log(`  task-manager GET /healthz   | ${fig(scale.parts.task_manager_healthz_ms)}`);
  console.log(`  get_tasks over RabbitMQ     | ${fig(scale.parts.broker_query_ms)}`);
  console.log(`  store read (in-process)     | ${fig(scale.parts.store_read_ms)}`);
  console.log(`  task-manager GET /metrics   | ${fig(scale.parts.task_manager_metrics_ms)} (20 scrapes)`);
  console.log(`  benchmark event-loop delay  | ${fig(scale.client_loop_delay_ms)}`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'scale.json'), `${JSON.stringify({ at: new Date().toISOString(), machine: await machine(await getBrokerUrl()), scale }, null, 2)}\n`);
  process.exit(0);
}

const url = await getBrokerUrl();
const rawBench = values['skip-raw'] ? undefined : await RawBaseline.open({ url, queueType, prefetch: settings.workerConcurrency, payloadBytes: settings.paramsBytes });
const sjeBench = values['skip-sje'] ? undefined : await SjeBench.start(settings, log);
const { raw: rawRounds, rawDeep: rawDeepRounds, sje: sjeRounds } = await runRounds(rawBench, sjeBench, { ...settings, deepWindow: settings.workerConcurrency }, log);
const raw = rawBench
  ? {
      throughput_per_s: median(rawRounds.map((r) => r.throughput_per_s)),
      cpu_ms_per_1000_tasks: medianCpu(rawRounds),
      latency_ms: await rawBench.latency(settings.latencySamples),
      latency_two_processes_ms: await rawBench.latencyAcrossProcesses(settings.latencySamples),
      rounds: rawRounds,
      deep_pipeline: {
        window: settings.workerConcurrency,
        throughput_per_s: median(rawDeepRounds.map((r) => r.throughput_per_s)),
        cpu_ms_per_1000_tasks: medianCpu(rawDeepRounds),
        rounds: rawDeepRounds,
      },
    }
  : undefined;
if (raw) log(`raw latency: p50 ${raw.latency_ms.p50} ms, p99 ${raw.latency_ms.p99} ms; its worker in a second process: p50 ${raw.latency_two_processes_ms.p50} ms, p99 ${raw.latency_two_processes_ms.p99} ms`);
let sje: (Omit<SjeRound, 'tasks_per_worker'> & SjeSingleSubmits & { tasks_per_worker?: number[]; latency_ms: LatencyFigures; latency_assigned_tasks: number; rounds: SjeRound[] }) | undefined;
if (sjeBench) {
  const { latency_ms, latency_assigned_tasks } = await sjeBench.latency(settings.latencySamples);
  log(`SJE latency: p50 ${latency_ms.p50} ms, p99 ${latency_ms.p99} ms (${latency_assigned_tasks} of ${settings.latencySamples} assigned)`);
  const single = await sjeBench.singleSubmits(settings.restTasks, settings.restClients);
  log(`REST one-at-a-time: ${Math.round(single.rest_single_submit_per_s)} req/s with ${settings.restClients} clients`);
  const middle = [...sjeRounds].sort((x, y) => x.end_to_end_per_s - y.end_to_end_per_s)[Math.floor(sjeRounds.length / 2)];
  sje = {
    end_to_end_per_s: median(sjeRounds.map((r) => r.end_to_end_per_s)),
    submit_per_s: median(sjeRounds.map((r) => r.submit_per_s)),
    cpu_ms_per_1000_tasks: medianCpu(sjeRounds),
    assigned_tasks: median(sjeRounds.map((r) => r.assigned_tasks)),
    ...(middle?.tasks_per_worker ? { tasks_per_worker: middle.tasks_per_worker } : {}),
    latency_ms,
    latency_assigned_tasks,
    ...single,
    rounds: sjeRounds,
  };
}
await rawBench?.close();
await sjeBench?.close();
/** SJE / raw of each round pair, and their median: the headline throughput ratio. */
const roundRatios = pairRatios(sjeRounds, rawRounds);
const throughputRatio = roundRatios.length > 0 ? median(roundRatios) : undefined;
const deepRatios = pairRatios(sjeRounds, rawDeepRounds);
const deepRatio = deepRatios.length > 0 ? median(deepRatios) : undefined;

const rows: [string, string, string, string][] = [];
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : `${round(a / b, 2)}×`);
const fmt = (n: number | undefined, unit: string): string => (n === undefined ? '-' : `${round(n, 1)} ${unit}`);
if (sje) rows.push(['SJE services run from', runsFrom(settings.compiled), '-', '-']);
if (settings.paramsBytes > 0) rows.push(['params per task (and result)', `${settings.paramsBytes} characters`, `${settings.paramsBytes} characters`, '-']);
rows.push([
  `end-to-end throughput, median of ${settings.rounds} (batched submit)`,
  fmt(sje?.end_to_end_per_s, 'tasks/s'),
  fmt(raw?.throughput_per_s, 'tasks/s'),
  throughputRatio === undefined ? '-' : `${round(throughputRatio, 2)}×`,
]);
rows.push([
  '  each round (ratio: SJE / raw of the pair)',
  sjeRounds.map((r) => Math.round(r.end_to_end_per_s)).join(' / ') || '-',
  rawRounds.map((r) => Math.round(r.throughput_per_s)).join(' / ') || '-',
  roundRatios.map((r) => round(r, 2)).join(' / ') || '-',
]);
const cpu = (figures: Record<string, number> | undefined): string =>
  figures === undefined ? '-' : Object.entries(figures).map(([k, v]) => `${k.replace('_', '-')} ${v}`).join(', ');
rows.push(['  CPU ms per 1,000 tasks, by process', cpu(sje?.cpu_ms_per_1000_tasks), cpu(raw?.cpu_ms_per_1000_tasks), '-']);
rows.push(['  tasks assigned at idle (median of the rounds)', sje ? `${sje.assigned_tasks} of ${settings.tasks}` : '-', '-', '-']);
rows.push([
  `  raw with ${settings.workerConcurrency} publishes in flight (median)`,
  '-',
  fmt(raw?.deep_pipeline.throughput_per_s, 'tasks/s'),
  deepRatio === undefined ? '-' : `${round(deepRatio, 2)}×`,
]);
if (sje?.tasks_per_worker) {
  const shares = sje.tasks_per_worker.map((n) => `${n} (${round((100 * n) / settings.tasks, 1)} %)`);
  rows.push(['  tasks run per worker', shares.join(' / '), '-', '-']);
}
rows.push(['submit throughput (batched)', fmt(sje?.submit_per_s, 'tasks/s'), '-', '-']);
rows.push(['single-task latency p50', fmt(sje?.latency_ms.p50, 'ms'), fmt(raw?.latency_ms.p50, 'ms'), ratio(sje?.latency_ms.p50, raw?.latency_ms.p50)]);
rows.push(['single-task latency p99', fmt(sje?.latency_ms.p99, 'ms'), fmt(raw?.latency_ms.p99, 'ms'), ratio(sje?.latency_ms.p99, raw?.latency_ms.p99)]);
rows.push(['single-task latency max', fmt(sje?.latency_ms.max, 'ms'), fmt(raw?.latency_ms.max, 'ms'), ratio(sje?.latency_ms.max, raw?.latency_ms.max)]);
rows.push(['  its tasks assigned at idle', sje ? `${sje.latency_assigned_tasks} of ${settings.latencySamples}` : '-', '-', '-']);
const twoProcesses = raw?.latency_two_processes_ms;
rows.push([
  '  raw with its worker in a second process, p50 / p99',
  '-',
  twoProcesses ? `${round(twoProcesses.p50, 1)} / ${round(twoProcesses.p99, 1)} ms` : '-',
  sje && twoProcesses ? `${ratio(sje.latency_ms.p50, twoProcesses.p50)} / ${ratio(sje.latency_ms.p99, twoProcesses.p99)}` : '-',
]);
rows.push([`REST one task per request (${settings.restClients} clients)`, fmt(sje?.rest_single_submit_per_s, 'req/s'), '-', '-']);
rows.push(['  its request latency p50 / p99', sje ? `${sje.rest_single_request_ms.p50} / ${sje.rest_single_request_ms.p99} ms` : '-', '-', '-']);
rows.push(['  its CPU ms per 1,000 tasks', cpu(sje?.rest_cpu_ms_per_1000_tasks), '-', '-']);
rows.push(['  its tasks assigned at idle', sje ? `${sje.rest_assigned_tasks} of ${settings.restTasks}` : '-', '-', '-']);
rows.push(['  its end-to-end throughput', fmt(sje?.rest_single_end_to_end_per_s, 'tasks/s'), fmt(raw?.throughput_per_s, 'tasks/s'), ratio(sje?.rest_single_end_to_end_per_s, raw?.throughput_per_s)]);
const widths = [0, 1, 2, 3].map((i) => Math.max(...[['figure', 'SJE', 'raw 2-hop', 'SJE/raw'], ...rows].map((r) => r[i]!.length)));
const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
console.log(line(['figure', 'SJE', 'raw 2-hop', 'SJE/raw']));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));

const out = {
  at: new Date().toISOString(),
  machine: await machine(url),
  settings,
  raw,
  sje,
  throughput_ratio: throughputRatio === undefined ? undefined : { median: round(throughputRatio, 3), rounds: roundRatios.map((r) => round(r, 3)) },
  throughput_ratio_to_deep_raw: deepRatio === undefined ? undefined : { median: round(deepRatio, 3), rounds: deepRatios.map((r) => round(r, 3)) },
};
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
log(`written ${join(dir, 'latest.json')}`);
