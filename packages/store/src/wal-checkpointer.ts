/**
 * Copies the embedded store's write-ahead log into its database file on a
 * thread of its own, so that the command loop does not stop for a checkpoint.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses its
 * threshold: that commit copies the log's pages into the database file and
 * syncs both files before it returns, stalling the loop for tens of
 * milliseconds. Here the loop's connection has automatic checkpoints off and
 * a second connection, on a `worker_threads` thread, checkpoints every
 * `intervalMs`: `PASSIVE` (never waits for the loop, copies what it can), and
 * `RESTART` once the log has grown past `restartFrames` anyway — which happens
 * only when the loop writes without pause, so that a passive pass never
 * finds the log complete and the log cannot start again from its beginning.
 * A writer that finds the log far too long asks for a restart at once
 * ({@link WalCheckpointer.restartNow}) and waits for it. If the thread
 * fails, the store turns automatic checkpoints back on.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What the thread's last checkpoint found: the log's frames and how many of them are in the database file. */
export interface CheckpointStats {
  /** Checkpoints run so far (passive and restart). */
  checkpoints: number;
  /** Restart checkpoints among them. */
  restarts: number;
  /** Frames in the log at the last checkpoint. */
  logFrames: number;
  /** Frames of the log copied into the database file by the last checkpoint. */
  checkpointedFrames: number;
}

/** Options of {@link WalCheckpointer}. */
export interface WalCheckpointerOptions {
  /** The database file (in WAL mode). */
  file: string;
  /** Time between two checkpoints. */
  intervalMs: number;
  /** Frames in the log after which a checkpoint waits for the writer (`RESTART`) instead of passing it. */
  restartFrames: number;
  /** Called once if the thread fails or exits before {@link WalCheckpointer.stop}. */
  onFailure: (err: Error) => void;
}

/**
 * The thread's code, run as a CommonJS script (`eval`): it loads the same
 * SQLite driver as the store (its path comes in `workerData`), checkpoints
 * on a timer and posts each result; a `restart` message asks for a restart
 * checkpoint at once, a `stop` message closes its connection.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// The driver's errors reach the owner as bare objects; a plain Error keeps its message.
const plain = (err) => new Error(String(err && err.message ? err.message : err) + (err && err.code ? ' (' + err.code + ')' : ''));
const guarded = (fn) => { try { return fn(); } catch (err) { throw plain(err); } };
const Database = require(workerData.driver);
const db = guarded(() => new Database(workerData.file, { fileMustExist: true }));
db.pragma('busy_timeout = 1000');
let restarts = 0;
let checkpoints = 0;
const checkpoint = (mode) => {
  const [row] = db.pragma('wal_checkpoint(' + mode + ')');
  checkpoints += 1;
  if (mode === 'RESTART') restarts += 1;
  return row;
};
const report = (row) => parentPort.postMessage({ checkpoints, restarts, logFrames: row.log, checkpointedFrames: row.checkpointed });
const timer = setInterval(() => guarded(() => {
  const row = checkpoint('PASSIVE');
  report(row.log >= workerData.restartFrames ? checkpoint('RESTART') : row);
}), workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'restart') {
    report(guarded(() => checkpoint('RESTART')));
    return;
  }
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** A checkpointing thread for one database file (see the module's comment). */
export class WalCheckpointer {
  private readonly worker: Worker;
  private stopping = false;
  private exited = false;
  private latest: CheckpointStats = { checkpoints: 0, restarts: 0, logFrames: 0, checkpointedFrames: 0 };
  private readonly restartWaiters = new Set<{ after: number; done: () => void }>();

  /** Starts the thread; it opens its own connection to `options.file`. */
  constructor(options: WalCheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { driver, file: options.file, intervalMs: options.intervalMs, restartFrames: options.restartFrames },
    });
    // The thread must not keep the process alive on its own.
    this.worker.unref();
    this.worker.on('message', (stats: CheckpointStats) => {
      this.latest = stats;
      for (const waiter of this.restartWaiters) if (stats.restarts > waiter.after) waiter.done();
    });
    let failed = false;
    const fail = (err: Error): void => {
      if (failed || this.stopping) return;
      failed = true;
      options.onFailure(err);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      this.exited = true;
      for (const waiter of this.restartWaiters) waiter.done();
      fail(new Error(`the checkpoint thread exited with code ${code}`));
    });
  }

  /** What the last checkpoint found. */
  get stats(): CheckpointStats {
    return this.latest;
  }

  /**
   * Asks the thread for a restart checkpoint now and resolves once it has run,
   * or after `timeoutMs` (at once when the thread has stopped): what a writer
   * that must let the log start again waits for, writing nothing meanwhile.
   */
  async restartNow(timeoutMs: number): Promise<void> {
    if (this.stopping || this.exited) return;
    const waiter = { after: this.latest.restarts, done: (): void => undefined };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => waiter.done(), timeoutMs);
      waiter.done = () => {
        clearTimeout(timer);
        this.restartWaiters.delete(waiter);
        resolve();
      };
      this.restartWaiters.add(waiter);
      this.worker.postMessage('restart');
    });
  }

  /** Stops the timer and closes the thread's connection; resolves when the thread has exited. */
  async stop(): Promise<void> {
    if (this.stopping || this.exited) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // Held from now on: a process with nothing else to do must still wait for the thread's exit.
    this.worker.ref();
    this.worker.postMessage('stop');
    await exited;
  }
}
