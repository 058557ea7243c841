/**
 * The scale run's fill, in a process of its own: writes N finished tasks
 * into an embedded or a PostgreSQL store (through the store's own commit path, in batches of
 * 10,000) and hands back the ids to read. {@link fillScaleStore} forks this
 * file, so the million records it builds are garbage in the child, not in the
 * process that then times the status reads, which should hold nothing but its
 * requests (see docs/performance.md, *The status reads' client*).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { uuidv7 } from '../packages/core/src/index.js';
import { PostgresTaskStore, SqliteTaskStore, type TaskRecord, type TaskStore } from '../packages/store/src/index.js';

/** How many ids the fill hands back, spread evenly over the tasks it stored. */
const SCALE_SAMPLED_IDS = 20_000;
/** Tasks per store commit of the fill. */
const FILL_BATCH = 10_000;

/** What a fill stored. */
export interface ScaleFill {
  /** Ids of stored tasks, spread evenly over the whole store (at most {@link SCALE_SAMPLED_IDS}). */
  ids: string[];
  fill_seconds: number;
}

/** Which store to fill: an embedded one in `dataDir`, or PostgreSQL tables of `prefix` at `url`. */
export type FillTarget = { kind: 'sqlite'; dataDir: string } | { kind: 'postgres'; url: string; prefix: string };

/** What the parent asks the child for. */
interface FillRequest {
  target: FillTarget;
  tasks: number;
}

/** What the child sends back: the fill, a progress line, or why it failed. */
type FillMessage = { kind: 'done'; fill: ScaleFill } | { kind: 'progress'; line: string } | { kind: 'failed'; error: string };

/** A finished task as the scale run stores it: a small spec, a result and a four-step history. */
function finishedTask(id: string, at: number): TaskRecord {
  const t = (ms: number): string => new Date(at + ms).toISOString();
  return {
    task_id: id,
    function: 'calculate_data',
    queue: 'default',
    priority: 0,
    params: { input_data: [1, 2, 3, 4] },
    depends_on: [],
    labels: { source: 'scale-bench' },
    status: 'succeeded',
    attempt: 1,
    deliveries: 1,
    deps_remaining: 0,
    lease_id: uuidv7(),
    worker_id: 'bench-worker',
    worker_host: 'bench',
    result: { count: 4, sum: 10, mean: 2.5, min: 1, max: 4 },
    created_at: t(0),
    queued_at: t(1),
    started_at: t(2),
    finished_at: t(5),
    history: [
      { status: 'pending', at: t(0), attempt: 0 },
      { status: 'queued', at: t(1), attempt: 1 },
      { status: 'running', at: t(2), attempt: 1, worker_id: 'bench-worker' },
      { status: 'succeeded', at: t(5), attempt: 1 },
    ],
  };
}

/** Fills the target store with `tasks` finished tasks, in this process. */
async function fillHere(request: FillRequest, progress: (line: string) => void): Promise<ScaleFill> {
  const { target, tasks } = request;
  const store: TaskStore =
    target.kind === 'sqlite' ? new SqliteTaskStore({ dataDir: target.dataDir }) : new PostgresTaskStore({ url: target.url, tablePrefix: target.prefix });
  await store.init();
  const ids: string[] = [];
  const every = Math.max(1, Math.floor(tasks / SCALE_SAMPLED_IDS));
  const start = performance.now();
  const base = Date.now() - 86_400_000;
  try {
    for (let done = 0; done < tasks; ) {
      const batch: TaskRecord[] = [];
      for (let i = 0; i < FILL_BATCH && done < tasks; i++, done++) {
        const id = uuidv7();
        if (done % every === 0) ids.push(id);
        batch.push(finishedTask(id, base + done));
      }
      await store.commit({ tasks: batch, outbox: [] });
      if (done % 100_000 === 0) progress(`stored ${done} tasks`);
    }
  } finally {
    await store.close();
  }
  return { ids, fill_seconds: (performance.now() - start) / 1000 };
}

/**
 * Fills the target store with `tasks` finished tasks in a child
 * process (this file, run with this process's Node flags, so under tsx too)
 * and resolves with the ids it sampled once the child has closed the store.
 * @throws Error when the child fails or exits without an answer.
 */
export function fillScaleStore(target: FillTarget, tasks: number, log: (line: string) => void): Promise<ScaleFill> {
  const child = fork(fileURLToPath(import.meta.url), ['--fill'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<ScaleFill>((resolve, reject) => {
    let answered = false;
    child.on('message', (m: FillMessage) => {
      if (m.kind === 'progress') return log(m.line);
      answered = true;
      if (m.kind === 'done') resolve(m.fill);
      else reject(new Error(`the scale fill failed: ${m.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!answered) reject(new Error(`the scale fill exited (code ${code}, signal ${signal}) without an answer`));
    });
    const request: FillRequest = { target, tasks };
    child.send(request);
  });
}

if (process.argv.includes('--fill')) {
  process.once('message', (request: FillRequest) => {
    // The last message is sent before the channel closes (a disconnect drops what is still queued).
    const finish = (m: FillMessage): void => void process.send?.(m, undefined, undefined, () => process.disconnect?.());
    fillHere(request, (line) => void process.send?.({ kind: 'progress', line } satisfies FillMessage))
      .then((fill) => finish({ kind: 'done', fill }))
      .catch((err: unknown) => finish({ kind: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
}
