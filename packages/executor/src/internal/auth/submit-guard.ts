/**
 * Checks a submit applies before anything is published: stamps every task
 * with the caller's tenant (never taken from the request body), refuses
 * params over `security.max_params_bytes`, and with
 * `security.strict_functions` refuses a function no worker of the task's
 * queue has registered.
 */
import { ErrorCode, SjeError, type TaskSpec } from '@sje/core';
import type { FunctionCatalog } from './function-catalog.js';
import { currentPrincipal } from './principal.js';

/** What {@link SubmitGuard} checks. */
export interface SubmitGuardOptions {
  /** Largest params of one task, in bytes of JSON. */
  maxParamsBytes: number;
  /** The registered functions; undefined when `security.strict_functions` is off. */
  functions?: FunctionCatalog;
}

/** Admission checks of `POST /submit`. */
export class SubmitGuard {
  constructor(private readonly options: SubmitGuardOptions) {}

  /**
   * Stamps the tenant and checks the tasks of one request, in order.
   * @throws SjeError `PAYLOAD_TOO_LARGE` naming the task, `FUNCTION_NOT_ALLOWED`, or `TASK_MANAGER_UNAVAILABLE`.
   */
  async admit(specs: TaskSpec[]): Promise<void> {
    const tenant = currentPrincipal()?.tenant;
    specs.forEach((spec, index) => {
      if (tenant === undefined) delete spec.tenant;
      else spec.tenant = tenant;
      const bytes = Buffer.byteLength(JSON.stringify(spec.params), 'utf8');
      if (bytes > this.options.maxParamsBytes) {
        const which = specs.length > 1 ? `tasks[${index}] (task ${spec.task_id})` : `task ${spec.task_id}`;
        throw new SjeError(
          ErrorCode.PAYLOAD_TOO_LARGE,
          `${which} has params of ${bytes} bytes; at most ${this.options.maxParamsBytes} are accepted`,
          {
            data: { task_id: spec.task_id, index, bytes, max_params_bytes: this.options.maxParamsBytes },
          },
        );
      }
    });
    if (this.options.functions === undefined) return;
    const byQueue = await this.options.functions.queues();
    specs.forEach((spec, index) => {
      if (spec.kind === 'approval') return;
      if (byQueue.get(spec.queue)?.has(spec.function) === true) return;
      throw new SjeError(ErrorCode.FUNCTION_NOT_ALLOWED, `no worker of queue '${spec.queue}' has registered function '${spec.function}'`, {
        data: { task_id: spec.task_id, index, function: spec.function, queue: spec.queue },
      });
    });
  }
}
