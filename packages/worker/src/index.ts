/**
 * `@sje/worker`: runs registered task handlers. A worker takes dispatches from
 * its task queues, claims each task's lease from the task-manager, runs the
 * handler (at most `concurrency` at once, with cancel and timeout through an
 * `AbortSignal`) and reports the outcome until the broker confirms it.
 *
 * @example
 * ```ts
 * import { createWorker, type TaskHandler } from '@sje/worker';
 *
 * const resize: TaskHandler<{ url: string; width: number }> = async ({ url, width }, ctx) => {
 *   ctx.progress(10);
 *   const res = await fetch(url, { signal: ctx.signal });
 *   ctx.progress(100);
 *   return { url, width, bytes: (await res.arrayBuffer()).byteLength };
 * };
 *
 * const worker = await createWorker({ handlers: { resize }, concurrency: 4 });
 * await worker.start();
 * process.once('SIGTERM', () => void worker.close());
 * ```
 * @module
 */
export { loadHandlerModules } from './handler-modules.js';
export type { AbortReason, TaskContext, TaskHandler } from './task-handler.js';
export { createWorker } from './worker.js';
export type { Worker } from './worker.js';
export type { WorkerOptions } from './worker-options.js';
