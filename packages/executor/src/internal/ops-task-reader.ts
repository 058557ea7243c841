/**
 * Reading a task straight from the task-managers' ops endpoints
 * (`GET /tasks/:task_id`, served from the active task-manager's store).
 * `/status` reads here first — one keep-alive HTTP hop instead of a query
 * round trip through RabbitMQ — and again, as the last resort, when the query
 * over the broker cannot be answered (the broker is away, or the
 * task-manager did not reply in time), so `/status` of a known task keeps
 * answering through a broker restart.
 *
 * Only an answer that is the task-manager's own counts: a 200 holding the
 * task asked for or a 404 `TASK_NOT_FOUND`, from a task-manager of this
 * deployment (its `x-sje-topology-prefix` header, when sent, names this
 * executor's prefix). A standby task-manager answers 503; that,
 * a refused connection, a timeout or anything else sets the URL aside for a
 * moment (1 s, doubling while it keeps failing, at most 30 s), so first
 * reads go straight to the next URL (or the broker) meanwhile.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { BrokerUnavailableError, CLIENT_IDLE_SOCKET_MS, ErrorCode, SjeError, type Logger, type TaskView } from '@sje/core';
import { isStoreIdentity, type StoreIdentity } from '@sje/store';
import { visibleToCaller } from './auth/principal.js';
import { isTaskView } from './task-manager-query.js';

/** Longest wait for one task-manager, by default. */
export const OPS_READ_TIMEOUT_MS = 1000;
/** How long a URL that gave no usable answer is left out of first reads, by default (doubled for each failure in a row). */
export const OPS_REST_MS = 1000;
/** The longest a failing URL is left out of first reads, by default. */
export const OPS_MAX_REST_MS = 30_000;
/** The header a task-manager's task lookups carry: its topology prefix. */
export const PREFIX_HEADER = 'x-sje-topology-prefix';

/** Options of {@link OpsTaskReader}. */
export interface OpsTaskReaderOptions {
  /** Base URLs of the task-managers' ops endpoints, in order of preference (`executor.task_manager_urls`). */
  urls: readonly string[];
  /** Longest wait for each URL. @defaultValue 1000 */
  timeoutMs?: number;
  /** How long a URL that gave no usable answer is skipped by reads with `skipResting`, doubled for each failure in a row. @defaultValue 1000 */
  restMs?: number;
  /** The longest rest. @defaultValue 30000 */
  maxRestMs?: number;
  /** Sent as `Authorization: Bearer <token>` when not empty (`security.ops_token`). */
  opsToken?: string;
  /** This deployment's topology prefix: answers of a task-manager naming another one are not used. */
  prefix?: string;
  /** Told about task-managers that did not answer. */
  logger?: Logger;
  /** The clock for resting URLs. @defaultValue Date.now */
  now?: () => number;
  /**
   * A kept-alive connection idle this long is closed: before the ops
   * endpoint closes it, so that no read is sent on a connection being closed. @defaultValue 4000
   */
  idleSocketMs?: number;
}

/** What {@link OpsTaskReader.getTask} may leave out. */
export interface OpsReadOptions {
  /** Skip URLs that recently gave no usable answer (a first read, with the broker query behind it). */
  skipResting?: boolean;
  /** URLs already asked for this request: skipped, and every URL asked now is added. */
  tried?: Set<string>;
}

/**
 * Whether `err` means the task-manager could not be asked over the broker
 * (rather than a real answer such as "not found").
 */
export function isQueryUnavailable(err: unknown): boolean {
  if (err instanceof BrokerUnavailableError) return true;
  return err instanceof SjeError && (err.code === ErrorCode.BROKER_UNAVAILABLE || err.code === ErrorCode.TASK_MANAGER_UNAVAILABLE);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorCode(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const RETRYABLE_ON_REUSED_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

/** Asks the task-managers' ops endpoints for one task. */
export class OpsTaskReader {
  private readonly urls: readonly string[];
  private readonly timeoutMs: number;
  private readonly restMs: number;
  private readonly maxRestMs: number;
  private readonly headers: Record<string, string>;
  private readonly now: () => number;
  private readonly agent: Agent;
  /** Until when each URL is skipped by first reads, and its failures in a row. */
  private readonly resting = new Map<string, { until: number; failures: number }>();
  /** The URL that answered last: asked first. */
  private preferred: string | undefined;

  constructor(private readonly options: OpsTaskReaderOptions) {
    this.urls = options.urls.map((u) => u.replace(/\/+$/, ''));
    this.timeoutMs = options.timeoutMs ?? OPS_READ_TIMEOUT_MS;
    this.restMs = options.restMs ?? OPS_REST_MS;
    this.maxRestMs = options.maxRestMs ?? OPS_MAX_REST_MS;
    this.now = options.now ?? Date.now;
    // The agent's timeout closes free sockets only; a read in flight has its own timer.
    this.agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: options.idleSocketMs ?? CLIENT_IDLE_SOCKET_MS });
    this.headers = { accept: 'application/json' };
    if (options.opsToken !== undefined && options.opsToken !== '') this.headers['authorization'] = `Bearer ${options.opsToken}`;
  }

  /** Whether any URL is configured. */
  get enabled(): boolean {
    return this.urls.length > 0;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** The URLs in the order to ask them: the one that answered last first, then the configured order. */
  private order(): string[] {
    const p = this.preferred;
    return p === undefined ? [...this.urls] : [p, ...this.urls.filter((u) => u !== p)];
  }

  /**
   * The task from the first task-manager that answers: its view, or `null`
   * when that task-manager's store does not hold it or the caller's tenant may
   * not see it. `undefined` when none answered (each gets
   * {@link OpsTaskReaderOptions.timeoutMs}).
   */
  async getTask(taskId: string, options: OpsReadOptions = {}): Promise<TaskView | null | undefined> {
    for (const base of this.order()) {
      if (options.tried?.has(base)) continue;
      if (options.skipResting && (this.resting.get(base)?.until ?? 0) > this.now()) continue;
      options.tried?.add(base);
      const answer = await this.ask(base, taskId);
      if (answer !== undefined) {
        this.preferred = base;
        this.resting.delete(base);
        // The ops endpoint serves every tenant: another tenant's task is answered as unknown.
        return answer !== null && visibleToCaller(answer.tenant) ? answer : null;
      }
      const failures = (this.resting.get(base)?.failures ?? 0) + 1;
      this.resting.set(base, { until: this.now() + Math.min(this.maxRestMs, this.restMs * 2 ** Math.min(failures - 1, 30)), failures });
    }
    return undefined;
  }

  /**
   * What the active task-manager tells of its store (`GET /store`): the
   * first usable answer, the URL that answered last asked first; `undefined`
   * when none gave one.
   */
  async getStoreIdentity(): Promise<StoreIdentity | undefined> {
    for (const base of this.order()) {
      const res = await this.answerOf(base, '/store');
      const body = res === undefined ? undefined : parseJson(res.text);
      if (res?.status === 200 && isStoreIdentity(body)) return body;
    }
    return undefined;
  }

  /**
   * A GET of `path` from the task-manager at `base`, when it answered as an
   * active task-manager of this deployment; `undefined` for no answer, a
   * standby's 503 or another deployment's answer.
   */
  private async answerOf(base: string, path: string): Promise<HttpAnswer | undefined> {
    let res: HttpAnswer;
    try {
      res = await this.get(`${base}${path}`);
    } catch (err) {
      this.options.logger?.debug('task-manager ops endpoint did not answer', { url: base, err: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
    const prefix = res.headers[PREFIX_HEADER];
    if (this.options.prefix !== undefined && typeof prefix === 'string' && prefix !== this.options.prefix) {
      this.options.logger?.warn('a task-manager ops endpoint of another deployment is configured in executor.task_manager_urls', {
        url: base,
        its_prefix: prefix,
        prefix: this.options.prefix,
      });
      return undefined;
    }
    if (res.status === 503) {
      this.options.logger?.debug('task-manager ops endpoint answered 503 (a standby)', { url: base });
      return undefined;
    }
    return res;
  }

  /** One URL's answer: the view, `null` for its own "no such task", `undefined` for anything else. */
  private async ask(base: string, taskId: string): Promise<TaskView | null | undefined> {
    const res = await this.answerOf(base, `/tasks/${encodeURIComponent(taskId)}`);
    if (res === undefined) return undefined;
    const body = parseJson(res.text);
    // Only the task-manager's own "no such task" counts; a 404 of anything else (a wrong port) does not.
    if (res.status === 404 && errorCode(body) === ErrorCode.TASK_NOT_FOUND) return null;
    if (res.status === 200 && isTaskView(body, taskId)) return body;
    this.options.logger?.warn('task-manager ops endpoint gave no usable answer to a task lookup', { url: base, status: res.status });
    return undefined;
  }

  /** A GET over the keep-alive agent, retried once when a kept-alive connection was closed under it. */
  private async get(url: string): Promise<HttpAnswer> {
    try {
      return await this.getOnce(url);
    } catch (err) {
      if (err instanceof ReusedSocketError) return this.getOnce(url);
      throw err;
    }
  }

  private getOnce(url: string): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = request(url, { method: 'GET', agent: this.agent, headers: this.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })),
        );
        res.on('error', (err) => settle(() => reject(err)));
      });
      const timer = setTimeout(() => {
        const err = new Error(`no answer within ${this.timeoutMs} ms`);
        settle(() => reject(err));
        req.destroy(err);
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        const reused = req.reusedSocket && err.code !== undefined && RETRYABLE_ON_REUSED_SOCKET.has(err.code);
        settle(() => reject(reused ? new ReusedSocketError(err) : err));
      });
      req.end();
    });
  }
}

/** A request failed on a kept-alive connection the server had just closed: safe to send again. */
class ReusedSocketError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}
