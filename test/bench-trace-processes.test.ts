/**
 * `pnpm bench:trace --processes` splits a task's time from the probe notes of
 * the services: each stage is the time from one note to the next, and a task
 * that took another path (no assign) is left out rather than mismeasured.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processBreakdown, readProbeNotes, STAGES, type ProbeNote } from '../bench/trace-processes.js';

const note = (kind: ProbeNote['kind'], at: number, type: string, taskId = '', status = ''): ProbeNote => ({ kind, at, type, status, taskId });

/** The notes of one task on the assigned path, starting at `t` (ms), each step 1 ms further than the one before. */
function assignedPath(taskId: string, t: number): { executor: ProbeNote[]; taskManager: ProbeNote[]; worker: ProbeNote[] } {
  return {
    executor: [note('request', t + 1, 'POST /submit'), note('publish', t + 3, 'submit', taskId)],
    taskManager: [
      note('deliver', t + 6, 'submit', taskId),
      note('publish', t + 10, 'assign', taskId),
      note('publish', t + 10.5, 'task_event', taskId, 'running'),
      note('deliver', t + 28, 'outcome', taskId),
      note('publish', t + 35, 'task_event', taskId, 'succeeded'),
    ],
    worker: [note('deliver', t + 15, 'assign', taskId), note('publish', t + 21, 'outcome', taskId)],
  };
}

describe('processBreakdown', () => {
  it('times each stage from one note to the next', () => {
    const a = assignedPath('a', 0);
    const result = processBreakdown([{ taskId: 'a', sentAt: 0, succeededAt: 44 }], a);
    expect(result.samples).toBe(1);
    expect(result.stages.map((s) => s.stage)).toEqual([...STAGES]);
    expect(result.stages.map((s) => s.ms.p50)).toEqual([1, 2, 3, 4, 5, 6, 7, 7, 9]);
    expect(result.total_ms.p50).toBe(44);
  });

  it('matches each task with the last request before its submit, and leaves out a task without an assign', () => {
    const a = assignedPath('a', 0);
    const b = assignedPath('b', 100);
    const c = assignedPath('c', 200);
    c.taskManager = c.taskManager.filter((n) => n.type !== 'assign');
    const notes = {
      executor: [...a.executor, ...b.executor, ...c.executor],
      taskManager: [...a.taskManager, ...b.taskManager, ...c.taskManager],
      worker: [...a.worker, ...b.worker, ...c.worker],
    };
    const result = processBreakdown(
      [
        { taskId: 'a', sentAt: 0, succeededAt: 44 },
        { taskId: 'b', sentAt: 100, succeededAt: 144 },
        { taskId: 'c', sentAt: 200, succeededAt: 244 },
      ],
      notes,
    );
    expect(result.samples).toBe(2);
    // b's request is its own (at 101), not a's: its HTTP and executor stages are a's.
    expect(result.stages[0]!.ms.max).toBe(1);
    expect(result.stages[1]!.ms.max).toBe(2);
  });
});

describe('readProbeNotes', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the tab-separated lines a probe writes', () => {
    dir = mkdtempSync(join(tmpdir(), 'sje-probe-'));
    const file = join(dir, 'task-manager.tsv');
    writeFileSync(file, 'deliver\t1796414850197.067\tsubmit\t\tt1\npublish\t1796414850213.734\ttask_event\tsucceeded\tt1\n');
    expect(readProbeNotes(file)).toEqual([note('deliver', 1796414850197.067, 'submit', 't1'), note('publish', 1796414850213.734, 'task_event', 't1', 'succeeded')]);
  });
});
