import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(level: string) {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { logger: createLogger({ service: 'svc', level, format: 'json', stream }), lines };
}

describe('createLogger', () => {
  it('writes lines at or above its level, with service and time, also through child loggers', async () => {
    const { logger, lines } = capture('warn');
    logger.info('hidden');
    logger.child({ task_id: 't1' }).debug('hidden too');
    logger.child({ task_id: 't1' }).warn('shown', { n: 1 });
    logger.error('also shown');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.message)).toEqual(['shown', 'also shown']);
    expect(lines[0]).toMatchObject({ level: 'warn', service: 'svc', task_id: 't1', n: 1 });
    expect(typeof lines[0]?.timestamp).toBe('string');
  });

  it('follows a level changed at run time', async () => {
    const { logger, lines } = capture('warn');
    logger.debug('before');
    logger.level = 'debug';
    logger.child({ task_id: 't2' }).debug('after');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.message)).toEqual(['after']);
  });
});
