/**
 * `POST /submit { "workflow": name, "params": {...} }`: a workflow made from
 * a configured template.
 */
import { ErrorCode, SjeError, uuidv7 } from '@sje/core';
import { buildSpecs, type SubmitRequest } from './submit-request.js';
import { instantiateTemplate, type TemplateCatalog } from './workflow-templates.js';

const REQUEST_KEYS = new Set(['workflow', 'params']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validationError(field: string, reason: string): SjeError {
  return new SjeError(ErrorCode.VALIDATION, reason, { data: { field, reason } });
}

/** Whether a submit body names a template (`workflow`) rather than holding tasks. */
export function isTemplateRequest(body: unknown): body is Record<string, unknown> {
  return isPlainObject(body) && Object.hasOwn(body, 'workflow') && !Object.hasOwn(body, 'tasks');
}

/**
 * Instantiates the named template: a new workflow id, placeholders replaced,
 * local ids prefixed with the workflow id, scans expanded, defaults filled.
 * The ids are the executor's, so none is an idempotency key.
 * @throws SjeError `TEMPLATE_NOT_FOUND`, `VALIDATION` or `BATCH_TOO_LARGE`.
 */
export function parseTemplateRequest(
  body: Record<string, unknown>,
  catalog: TemplateCatalog,
  maxBatch: number,
  newId: () => string = uuidv7,
): SubmitRequest {
  for (const key of Object.keys(body)) {
    if (!REQUEST_KEYS.has(key)) throw validationError(key, `unknown field '${key}': a workflow submit holds only 'workflow' and 'params'`);
  }
  const name = body['workflow'];
  if (typeof name !== 'string' || name.length === 0)
    throw validationError('workflow', "'workflow' must be the name of a workflow template");
  const params = body['params'] ?? {};
  if (!isPlainObject(params)) throw validationError('params', "'params' must be an object");
  const template = catalog.get(name);
  if (template === undefined) {
    throw new SjeError(ErrorCode.TEMPLATE_NOT_FOUND, `no workflow template '${name}'`, { data: { workflow: name } });
  }
  const workflowId = newId();
  const { specs } = buildSpecs(instantiateTemplate(template, params, workflowId), maxBatch, newId);
  return { kind: 'batch', specs, clientIds: [], workflowId, template: name };
}
