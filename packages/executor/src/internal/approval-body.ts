/**
 * The optional body of `POST /approve/:task_id` and `POST /reject/:task_id`:
 * nothing, or a JSON object `{ "comment": "..." }`.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, SjeError } from '@sje/core';
import { readJsonBody } from './json-body.js';

/** Longest comment accepted (the `decide_approval` query's limit). */
export const MAX_COMMENT_LENGTH = 10_000;

/** What an approval request may carry. */
export interface ApprovalBody {
  comment?: string;
}

function validationError(field: string, reason: string): SjeError {
  return new SjeError(ErrorCode.VALIDATION, reason, { data: { field, reason } });
}

/** Whether the request announces a body (a non-zero `Content-Length`, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) !== 0;
}

/**
 * Reads the optional approval body. No body means no comment.
 * @throws SjeError `VALIDATION`, `INVALID_JSON`, `UNSUPPORTED_MEDIA_TYPE` or `PAYLOAD_TOO_LARGE`.
 */
export async function readApprovalBody(req: IncomingMessage, limit: number): Promise<ApprovalBody> {
  if (!hasBody(req)) return {};
  const body = await readJsonBody(req, limit);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validationError('', 'the request body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (key !== 'comment') throw validationError(key, `unknown field '${key}': an approval holds only 'comment'`);
  }
  const comment: unknown = (body as Record<string, unknown>)['comment'];
  if (comment === undefined) return {};
  if (typeof comment !== 'string' || comment.length > MAX_COMMENT_LENGTH) {
    throw validationError('comment', `'comment' must be a string of at most ${MAX_COMMENT_LENGTH} characters`);
  }
  return { comment };
}
