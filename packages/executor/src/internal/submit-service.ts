/**
 * `POST /submit` after the body is parsed: dependency checks, idempotency
 * against the task-manager, plugin hooks, and the one confirmed `submit`
 * command.
 */
import {
  BrokerUnavailableError,
  ErrorCode,
  SjeError,
  uuidv7,
  type Logger,
  type PluginHost,
  type SubmitCommand,
  type TaskSpec,
  type TaskStatus,
  type TaskView,
} from '@sje/core';
import type { BrokerPort } from '../app-deps.js';
import type { AcceptedTask, AcceptedTasks } from './accepted-tasks.js';
import { runUnscoped, visibleToCaller } from './auth/principal.js';
import type { SubmitGuard } from './auth/submit-guard.js';
import { CommandPublisher } from './confirmed-publish.js';
import { externalDependencies, findCycle } from './dependency-graph.js';
import { specDifferences, specFingerprint } from './spec-compare.js';
import { initialStatus, parseSubmitRequest, type SubmitRequest } from './submit-request.js';
import { isTemplateRequest, parseTemplateRequest } from './template-request.js';
import { TemplateCatalog } from './workflow-templates.js';
import type { TaskManagerClient } from './task-manager-client.js';

/** One task in a submit answer. */
export interface TaskStatusRef {
  task_id: string;
  status: TaskStatus;
}

/** A single-task answer. */
export type SingleAnswer = TaskStatusRef;

/** A batch answer. */
export interface BatchAnswer {
  workflow_id: string;
  tasks: TaskStatusRef[];
}

/** The HTTP answer of a successful submit: 201 (accepted now) or 200 (already accepted before). */
export interface SubmitAnswer {
  status: 200 | 201;
  body: SingleAnswer | BatchAnswer;
  /** The tasks accepted now (empty for a 200). */
  accepted: TaskSpec[];
  /** Whether the request held one task or a batch. */
  kind: 'single' | 'batch';
}

/** What the submit service needs. */
export interface SubmitServiceDeps {
  broker: BrokerPort;
  taskManager: TaskManagerClient;
  plugins: PluginHost;
  accepted: AcceptedTasks;
  logger: Logger;
  maxBatch: number;
  publishTimeoutMs: number;
  /** Workflow templates for `{ "workflow": name, "params": {...} }` submits. @defaultValue none */
  templates?: TemplateCatalog;
  /** Id generator. @defaultValue uuidv7 */
  newId?: () => string;
  /** Stamps the caller's tenant and applies the size and function checks. @defaultValue no tenant, no checks */
  guard?: SubmitGuard;
  /** Sends the submit commands (coalescing those of concurrent requests). @defaultValue one of its own over `broker` */
  publisher?: CommandPublisher;
}

/** The one message of every task id conflict, whoever holds the id (it says nothing about the other task). */
export const TASK_ID_IN_USE = 'task id already in use';

/** What is known of a task id before accepting the request. */
interface Known {
  view?: TaskView;
  accepted?: AcceptedTask;
}

/** Raised by a `beforeSubmit` hook: the route answers 400 with the hook's own code. */
export class SubmitVetoError extends Error {
  constructor(readonly veto: unknown) {
    super('a beforeSubmit hook refused the submit');
    this.name = 'SubmitVetoError';
  }
}

/** Handles submit requests. */
export class SubmitService {
  private readonly newId: () => string;
  private readonly publisher: CommandPublisher;

  constructor(private readonly deps: SubmitServiceDeps) {
    this.newId = deps.newId ?? uuidv7;
    this.publisher = deps.publisher ?? new CommandPublisher(deps.broker);
  }

  /**
   * Validates, checks and publishes one submit request.
   * @throws SjeError with a code of the REST contract; {@link SubmitVetoError} when a plugin refused it.
   */
  async submit(body: unknown): Promise<SubmitAnswer> {
    const request = isTemplateRequest(body)
      ? parseTemplateRequest(body, this.deps.templates ?? TemplateCatalog.empty, this.deps.maxBatch, this.newId)
      : parseSubmitRequest(body, this.deps.maxBatch, this.newId);
    const cycle = findCycle(request.specs);
    if (cycle) {
      throw new SjeError(ErrorCode.DEPENDENCY_CYCLE, `dependency cycle: ${cycle.join(' -> ')}`, { data: { cycle } });
    }
    await this.deps.guard?.admit(request.specs);
    if (!this.deps.broker.connected) throw new BrokerUnavailableError('the message broker is not connected');

    const external = externalDependencies(request.specs);
    const known = await this.lookUp([...new Set([...request.clientIds, ...external])], external);

    const existing = this.existingTasks(request, known);
    if (existing) return existing;

    for (const dep of external) {
      const k = known.get(dep);
      // Another tenant's task is answered exactly as an unknown one.
      const visible = (k?.view !== undefined && visibleToCaller(k.view.tenant)) || (k?.accepted !== undefined && visibleToCaller(k.accepted.tenant));
      if (!visible) {
        const owner = request.specs.find((s) => s.depends_on.includes(dep));
        throw new SjeError(ErrorCode.UNKNOWN_DEPENDENCY, `task ${owner?.task_id ?? ''} depends on unknown task '${dep}'`, {
          data: { task_id: owner?.task_id, dependency: dep },
        });
      }
    }

    const workflowId = request.workflowId ?? (request.kind === 'batch' ? this.newId() : undefined);
    const payload: { tasks: TaskSpec[]; workflow_id?: string } = { tasks: request.specs };
    if (workflowId !== undefined) payload.workflow_id = workflowId;
    try {
      await this.deps.plugins.run('beforeSubmit', payload);
    } catch (err) {
      throw new SubmitVetoError(err);
    }

    const command: SubmitCommand = { type: 'submit', tasks: payload.tasks, submitted_at: new Date().toISOString() };
    if (workflowId !== undefined) command.workflow_id = workflowId;
    if (request.template !== undefined) command.template = request.template;
    const reserved = this.reserve(request, payload.tasks, workflowId);
    try {
      await this.publisher.publish(command, this.deps.publishTimeoutMs);
    } catch (err) {
      for (const id of reserved) this.deps.accepted.forget(id);
      throw err;
    }
    await this.deps.plugins.run('afterSubmit', payload);

    const refs = payload.tasks.map((s) => ({ task_id: s.task_id, status: initialStatus(s) }));
    if (request.kind === 'single') return { status: 201, body: refs[0]!, accepted: payload.tasks, kind: request.kind };
    return { status: 201, body: { workflow_id: workflowId!, tasks: refs }, accepted: payload.tasks, kind: request.kind };
  }

  /**
   * Remembers the tasks as accepted before their command is published, so
   * that a concurrent request on this executor for one of the same
   * client-chosen ids sees them: one from another tenant, or with another
   * spec, is refused here (it passed its own checks while this request was
   * waiting). Runs without awaiting, so no request can slip in between the
   * check and the reservation. Returns the ids newly reserved.
   * @throws SjeError `TASK_ID_CONFLICT`
   */
  private reserve(request: SubmitRequest, specs: readonly TaskSpec[], workflowId: string | undefined): string[] {
    const clientIds = new Set(request.clientIds);
    for (const spec of specs) {
      const held = clientIds.has(spec.task_id) ? this.deps.accepted.peek(spec.task_id) : undefined;
      if (held !== undefined && (held.tenant !== spec.tenant || held.fingerprint !== specFingerprint(spec))) {
        throw new SjeError(ErrorCode.TASK_ID_CONFLICT, TASK_ID_IN_USE, { data: { task_id: spec.task_id } });
      }
    }
    const reserved: string[] = [];
    for (const spec of specs) {
      if (this.deps.accepted.peek(spec.task_id) === undefined) reserved.push(spec.task_id);
      const entry: AcceptedTask = { function: spec.function };
      if (clientIds.has(spec.task_id)) entry.fingerprint = specFingerprint(spec);
      if (workflowId !== undefined) entry.workflow_id = workflowId;
      if (spec.tenant !== undefined) entry.tenant = spec.tenant;
      this.deps.accepted.remember(spec.task_id, entry);
    }
    return reserved;
  }

  /**
   * Looks up client-given ids and external dependencies. When the
   * task-manager does not answer in time, client ids are accepted anyway (it
   * dedupes identical duplicates), but dependencies this executor has not
   * itself accepted cannot be checked: that is a 503.
   */
  private async lookUp(ids: string[], external: string[]): Promise<Map<string, Known>> {
    const known = new Map<string, Known>();
    for (const id of ids) {
      // Every tenant's ids: a client-chosen id another tenant holds must be refused, not re-used.
      const accepted = this.deps.accepted.peek(id);
      known.set(id, accepted === undefined ? {} : { accepted });
    }
    if (ids.length === 0) return known;
    let views: (TaskView | null)[];
    try {
      views = await runUnscoped(() => this.deps.taskManager.getTasks(ids));
    } catch (err) {
      if (!(err instanceof SjeError) || err.code !== ErrorCode.TASK_MANAGER_UNAVAILABLE) throw err;
      const unverifiable = external.filter((dep) => known.get(dep)?.accepted === undefined);
      if (unverifiable.length > 0) {
        throw new SjeError(ErrorCode.TASK_MANAGER_UNAVAILABLE, `the task-manager did not answer in time; cannot check dependencies ${unverifiable.join(', ')}`, {
          retryable: true,
          data: { dependencies: unverifiable },
        });
      }
      this.deps.logger.warn('task-manager did not answer the idempotency check in time; accepting the submit', { task_ids: ids.slice(0, 20) });
      return known;
    }
    ids.forEach((id, i) => {
      const view = views[i];
      if (view) known.get(id)!.view = view;
    });
    return known;
  }

  /**
   * When client-given ids already exist: the earlier answer (200) if every
   * task of the request exists with an identical spec and the same tenant,
   * else a conflict (409, always {@link TASK_ID_IN_USE}; the differing fields
   * are named only for the caller's own task). Returns `undefined` when none
   * of them exists.
   */
  private existingTasks(request: SubmitRequest, known: Map<string, Known>): SubmitAnswer | undefined {
    const existing: { spec: TaskSpec; known: Known }[] = [];
    for (const id of request.clientIds) {
      const k = known.get(id);
      if (k && (k.view !== undefined || k.accepted !== undefined)) existing.push({ spec: request.specs.find((s) => s.task_id === id)!, known: k });
    }
    if (existing.length === 0) return undefined;
    for (const { spec, known: k } of existing) {
      const owner = k.view !== undefined ? k.view.tenant : k.accepted?.tenant;
      if (owner !== spec.tenant) throw new SjeError(ErrorCode.TASK_ID_CONFLICT, TASK_ID_IN_USE, { data: { task_id: spec.task_id } });
    }
    for (const { spec, known: k } of existing) {
      if (k.view === undefined && k.accepted?.fingerprint === undefined) {
        // An id this executor generated, named before the task-manager recorded it: nothing to compare with yet.
        throw new SjeError(ErrorCode.TASK_MANAGER_UNAVAILABLE, `task ${spec.task_id} was accepted a moment ago and is not recorded yet; retry`, {
          retryable: true,
          data: { task_id: spec.task_id },
        });
      }
      const fields = k.view ? specDifferences(spec, k.view) : k.accepted!.fingerprint === specFingerprint(spec) ? [] : undefined;
      if (fields === undefined || fields.length > 0) {
        const data: Record<string, unknown> = { task_id: spec.task_id };
        if (fields) data['fields'] = fields;
        throw new SjeError(ErrorCode.TASK_ID_CONFLICT, TASK_ID_IN_USE, { data });
      }
    }
    const statusOf = (k: Known): TaskStatus => k.view?.status ?? 'pending';
    if (request.kind === 'single') {
      const only = existing[0]!;
      return { status: 200, body: { task_id: only.spec.task_id, status: statusOf(only.known) }, accepted: [], kind: 'single' };
    }
    const workflows = new Set(existing.map(({ known: k }) => k.view?.workflow_id ?? k.accepted?.workflow_id));
    const [workflowId] = workflows;
    if (existing.length < request.specs.length || workflows.size !== 1 || workflowId === undefined) {
      const ids = existing.map((e) => e.spec.task_id);
      throw new SjeError(ErrorCode.TASK_ID_CONFLICT, TASK_ID_IN_USE, {
        data: { existing: ids, reason: 'a batch may repeat only a whole earlier batch' },
      });
    }
    return {
      status: 200,
      body: { workflow_id: workflowId, tasks: existing.map(({ spec, known: k }) => ({ task_id: spec.task_id, status: statusOf(k) })) },
      accepted: [],
      kind: 'batch',
    };
  }
}
