/**
 * `@sje/executor`: the REST gateway of SJE. It validates tasks, turns them
 * into `submit` commands published with a broker confirm, and answers status
 * and cancel requests by asking the task-manager. Stateless: run as many
 * replicas as needed behind a load balancer.
 *
 * @example
 * ```ts
 * import { loadConfig } from '@sje/core';
 * import { createExecutor } from '@sje/executor';
 *
 * const executor = await createExecutor({ config: loadConfig(), port: 0 });
 * await executor.start();
 * const res = await fetch(`http://127.0.0.1:${executor.port}/submit`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ function: 'resize_image', params: { url: 'https://example.com/a.png' } }),
 * });
 * console.log(res.status, await res.json()); // 201 { task_id: '…', status: 'queued' }
 * await executor.close();
 * ```
 * @module
 */
export { createApp } from './app.js';
export type { AppDeps, BrokerPort } from './app-deps.js';
export { createExecutor } from './executor.js';
export type { CloseOptions, Executor, ExecutorOptions } from './executor.js';
