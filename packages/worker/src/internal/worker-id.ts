import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A worker id unique enough across a fleet: `<hostname>-<pid>-<4 hex chars>`. */
export function defaultWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 120) || 'worker';
  return `${host}-${process.pid}-${randomBytes(2).toString('hex')}`;
}
