/**
 * `npx tsx bench/loop-bench.ts`: the task-manager's own CPU per task, without
 * a broker. Drives the real command loop, commands, workflow tracker,
 * message grouping and SQLite store (in a temporary directory) with the
 * commands a run of N tasks brings and prints CPU microseconds per task for
 * each phase. With `--path held` (the default, as the service runs under
 * load) one worker of `--concurrency` slots is registered: the submits
 * (in batches) assign the first tasks and hold the rest, and the outcomes (in
 * worker-sized report messages, for the tasks assigned so far) each free a
 * slot that the same batch fills from the held backlog; with `--path queue`
 * no worker is registered, so every task goes through the pool queue and is
 * claimed before its outcome (the path with `task_manager.hold_limit: 0`). The outbox publisher is real; its broker confirms at
 * once. Steadier than the end-to-end benchmark on a shared machine, so it is
 * the one to compare task-manager changes with.
 * Flags: --tasks N (20000) --batch N (500) --reports N (64 per message) --rounds N (3, best kept)
 *   --path held|queue (held) --concurrency N (1024: the worker's slots with --path held)
 *   --record-cache N (the task-manager's default, 20000; 0 turns the record cache off)
 *   --params-bytes N (0: each task's params hold a string of about N characters, and its result, as `echo` returns them)
 *   --store sqlite|postgres (sqlite; postgres uses SJE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, createTopology, loadConfig, PluginHost, uuidv7, type Broker, type RunReport, type TaskSpec } from '../packages/core/src/index.js';
import type { CommandContext } from '../packages/task-manager/src/internal/commands/command-context.js';
import { applyReports } from '../packages/task-manager/src/internal/commands/reports.js';
import { applySubmit } from '../packages/task-manager/src/internal/commands/submit.js';
import { DependencyResolver } from '../packages/task-manager/src/internal/dependency-resolver.js';
import { OutboxPublisher } from '../packages/task-manager/src/internal/outbox-publisher.js';
import { DEFAULT_RECORD_CACHE_SIZE, RecordCache } from '../packages/task-manager/src/internal/record-cache.js';
import { PostgresTaskStore, SqliteTaskStore, type TaskStore } from '../packages/store/src/index.js';
import { AssignmentBook } from '../packages/task-manager/src/internal/assignments.js';
import { createTaskManagerLoop } from '../packages/task-manager/src/internal/task-manager-loop.js';
import { WorkflowTracker } from '../packages/task-manager/src/internal/workflow-tracker.js';
import { benchParams } from './payload.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '500' },
    reports: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    'record-cache': { type: 'string' },
    store: { type: 'string', default: 'sqlite' },
    'params-bytes': { type: 'string', default: '0' },
    path: { type: 'string', default: 'held' },
    concurrency: { type: 'string', default: '1024' },
  },
});
if (values.path !== 'held' && values.path !== 'queue') throw new Error('--path must be held or queue');
const held = values.path === 'held';
const concurrency = Number(values.concurrency);
const tasks = Number(values.tasks);
const batch = Number(values.batch);
const perReport = Number(values.reports);
const rounds = Number(values.rounds);
const cacheSize = values['record-cache'] !== undefined ? Number(values['record-cache']) : DEFAULT_RECORD_CACHE_SIZE;
const paramsBytes = Number(values['params-bytes']);

const topology = createTopology({ prefix: 'loopbench' });
const logger = createLogger({ service: 'loop-bench', silent: true });
// No plugin is registered, so nothing reads the metrics registry.
const plugins = new PluginHost({ service: 'task-manager', logger, metrics: undefined as unknown as ConstructorParameters<typeof PluginHost>[0]['metrics'], config: loadConfig({ env: {} }) });
/** The tasks `assign` messages handed to the worker, not yet reported. */
const assigned: { task_id: string; lease_id: string }[] = [];
/** A broker that confirms every publish at once (and keeps what is assigned). */
const broker = {
  topology,
  on: () => undefined,
  publish: (_exchange: string, _key: string, body: { type?: string; tasks?: { task_id: string; lease_id: string }[] }) => {
    if (body.type === 'assign') for (const t of body.tasks ?? []) assigned.push({ task_id: t.task_id, lease_id: t.lease_id });
    return Promise.resolve();
  },
  publishJson: () => Promise.resolve(),
  withChannel: async (fn: (ch: unknown) => Promise<void>) => fn({ assertQueue: async () => ({}), bindQueue: async () => ({}) }),
} as unknown as Broker;
const WORKER = 'bench-worker-1';

interface PhaseCpu {
  submit: number;
  claim: number;
  outcome: number;
}

async function round(): Promise<PhaseCpu> {
  const dir = mkdtempSync(join(tmpdir(), 'sje-loop-bench-'));
  const postgres =
    values.store === 'postgres'
      ? new PostgresTaskStore({ url: process.env['SJE_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test', tablePrefix: `loopbench_${process.pid}_` })
      : undefined;
  const store: TaskStore = postgres ?? new SqliteTaskStore({ dataDir: dir });
  await store.init();
  try {
    const outbox = new OutboxPublisher(broker, store, logger);
    const workflows = new WorkflowTracker(store, topology);
    const loop = createTaskManagerLoop({
      store,
      outbox,
      plugins,
      logger,
      topology,
      workflows,
      poolOf: () => ({ workers: 1, minConcurrency: 64 }),
      ...(cacheSize > 0 ? { recordCache: new RecordCache(cacheSize) } : {}),
      // queue: as under load without holding: the book looks at every batch's dispatches, and no worker has a free slot.
      assignments: new AssignmentBook({
        topology,
        workers: () => (held ? [{ worker_id: WORKER, host: 'bench', queues: ['default'], functions: ['echo'], concurrency }] : []),
        confirmWithinMs: 15_000,
        holdLimit: held ? 100_000 : 0,
      }),
    });
    const ctx: CommandContext = { topology, dependencies: new DependencyResolver(topology), plugins, logger, maxDeliveries: 5 };
    const ids: string[] = [];
    const leases = new Map<string, string>();
    const cpu = (): number => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };

    const t = cpu();
    const submits: Promise<void>[] = [];
    for (let i = 0; i < tasks; i += batch) {
      const specs: TaskSpec[] = [];
      for (let j = i; j < Math.min(tasks, i + batch); j++) {
        const id = uuidv7();
        ids.push(id);
        specs.push({ task_id: id, function: 'echo', params: benchParams(paramsBytes), queue: 'default', priority: 0, depends_on: [], labels: {} });
      }
      submits.push(loop.run((uow) => applySubmit(uow, ctx, { type: 'submit', tasks: specs, workflow_id: uuidv7(), submitted_at: new Date().toISOString() }), { weight: specs.length }));
    }
    await Promise.all(submits);
    await loop.idle();
    const submit = cpu() - t;
    // The dispatches' leases, as a worker would read them.
    for (const [id, r] of await store.getTasks(ids)) leases.set(id, r.lease_id ?? '');

    /** Applies `reports` in worker-sized report messages, and waits until the loop is idle. */
    const applyInMessages = async (reports: readonly RunReport[]): Promise<void> => {
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < reports.length; i += perReport) {
        const part = reports.slice(i, i + perReport);
        jobs.push(loop.run((uow) => applyReports(uow, ctx, part), { urgent: true, weight: part.length }));
      }
      await Promise.all(jobs);
      await loop.idle();
    };
    const inReports = async (make: (id: string) => RunReport): Promise<number> => {
      const start = cpu();
      await applyInMessages(ids.map(make));
      return cpu() - start;
    };
    const at = (): string => new Date().toISOString();
    const succeeded = (id: string, lease: string): RunReport => ({ type: 'outcome', task_id: id, lease_id: lease, worker_id: WORKER, outcome: 'succeeded', result: benchParams(paramsBytes), at: at() });
    let claim = 0;
    let outcome: number;
    if (held) {
      // The worker reports what it was assigned, a report message at a time; each outcome batch assigns more.
      const start = cpu();
      while (assigned.length > 0) await applyInMessages(assigned.splice(0).map((t) => succeeded(t.task_id, t.lease_id)));
      outcome = cpu() - start;
    } else {
      claim = await inReports((id) => ({ type: 'started', task_id: id, lease_id: leases.get(id)!, worker_id: WORKER, host: 'bench', at: at() }));
      outcome = await inReports((id) => succeeded(id, leases.get(id)!));
    }
    const counts = await store.countByStatus();
    if (counts.succeeded !== tasks) throw new Error(`expected ${tasks} succeeded tasks, store has ${JSON.stringify(counts)}`);
    loop.stop();
    return { submit: submit / tasks, claim: claim / tasks, outcome: outcome / tasks };
  } finally {
    await postgres?.dropAll();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: PhaseCpu[] = [];
for (let i = 0; i < rounds; i++) results.push(await round());
const best = (k: keyof PhaseCpu): number => Math.min(...results.map((r) => r[k]));
const f = (n: number): string => n.toFixed(1);
process.stdout.write(
  `task-manager CPU per task (µs, best of ${rounds} rounds of ${tasks} tasks, ${values.store} store, record cache ${cacheSize}, ${held ? `held backlog, one worker of ${concurrency} slots` : 'pool queue and claims'}): submit ${f(best('submit'))}, claim ${f(best('claim'))}, outcome ${held ? '(and assignment of a held task) ' : ''}${f(best('outcome'))}, total ${f(best('submit') + best('claim') + best('outcome'))}\n`,
);
