/**
 * `pnpm bench:trace --processes`: splits each task's time at idle into the
 * time spent inside each service and the time between them (the broker, the
 * sockets, the wake-up of the process that receives), from the notes
 * `trace-probe.mjs` writes in every service. Follows the path of a task
 * assigned at idle: request → submit → assign → outcome → `succeeded`.
 */
import { readFileSync } from 'node:fs';
import { percentiles, type LatencyFigures } from './stats.js';

/** One note of the probe: what happened in a process, and when (wall-clock ms). */
export interface ProbeNote {
  kind: 'publish' | 'deliver' | 'request';
  at: number;
  /** The message's `type`, or the request's method and path. */
  type: string;
  status: string;
  taskId: string;
}

/** The notes of one service's probe file, in the order they were made. */
export function readProbeNotes(file: string): ProbeNote[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [kind, at, type, status, taskId] = line.split('\t');
      return { kind: kind as ProbeNote['kind'], at: Number(at), type: type ?? '', status: status ?? '', taskId: taskId ?? '' };
    });
}

/** What the benchmark saw of one task: when it sent the request and when the `succeeded` event reached it (wall-clock ms). */
export interface ClientSample {
  taskId: string;
  sentAt: number;
  succeededAt: number;
}

/** The probe notes of the three services. */
export interface ServiceNotes {
  executor: ProbeNote[];
  taskManager: ProbeNote[];
  worker: ProbeNote[];
}

/** The stages of a task assigned at idle, in order; each ends where the next begins. */
export const STAGES = [
  'HTTP: benchmark to executor',
  'executor: request to submit published',
  'between: submit to task-manager',
  'task-manager: submit to assign published',
  'between: assign to worker',
  'worker: assign to outcome published',
  'between: outcome to task-manager',
  'task-manager: outcome to event published',
  'between: event to benchmark',
] as const;

/** Each stage's times over the samples, and the whole. */
export interface ProcessBreakdown {
  samples: number;
  stages: { stage: (typeof STAGES)[number]; ms: LatencyFigures }[];
  total_ms: LatencyFigures;
}

function firstNote(notes: readonly ProbeNote[], match: (n: ProbeNote) => boolean): ProbeNote | undefined {
  return notes.find(match);
}

/** The points in time between the stages of one sample, or undefined when a note is missing (a task that took another path). */
function samplePoints(sample: ClientSample, notes: ServiceNotes, byTask: Map<string, { executor: ProbeNote[]; taskManager: ProbeNote[]; worker: ProbeNote[] }>): number[] | undefined {
  const mine = byTask.get(sample.taskId);
  if (!mine) return undefined;
  const submitted = firstNote(mine.executor, (n) => n.kind === 'publish' && n.type === 'submit');
  if (!submitted) return undefined;
  // The request is the executor's last POST /submit before the task's publish.
  const request = notes.executor.findLast((n) => n.kind === 'request' && n.type.startsWith('POST /submit') && n.at <= submitted.at);
  const points = [
    sample.sentAt,
    request?.at,
    submitted.at,
    firstNote(mine.taskManager, (n) => n.kind === 'deliver' && n.type === 'submit')?.at,
    firstNote(mine.taskManager, (n) => n.kind === 'publish' && n.type === 'assign')?.at,
    firstNote(mine.worker, (n) => n.kind === 'deliver' && n.type === 'assign')?.at,
    firstNote(mine.worker, (n) => n.kind === 'publish' && n.type === 'outcome')?.at,
    firstNote(mine.taskManager, (n) => n.kind === 'deliver' && n.type === 'outcome')?.at,
    firstNote(mine.taskManager, (n) => n.kind === 'publish' && n.status === 'succeeded')?.at,
    sample.succeededAt,
  ];
  return points.every((p): p is number => p !== undefined) ? points : undefined;
}

/** Splits the samples' times into {@link STAGES}; samples that did not take the assigned path are left out. */
export function processBreakdown(samples: readonly ClientSample[], notes: ServiceNotes): ProcessBreakdown {
  const byTask = new Map<string, { executor: ProbeNote[]; taskManager: ProbeNote[]; worker: ProbeNote[] }>();
  for (const [service, list] of Object.entries(notes) as [keyof ServiceNotes, ProbeNote[]][]) {
    for (const note of list) {
      if (!note.taskId) continue;
      let entry = byTask.get(note.taskId);
      if (!entry) byTask.set(note.taskId, (entry = { executor: [], taskManager: [], worker: [] }));
      entry[service].push(note);
    }
  }
  const perStage: number[][] = STAGES.map(() => []);
  const totals: number[] = [];
  for (const sample of samples) {
    const points = samplePoints(sample, notes, byTask);
    if (!points) continue;
    for (let i = 0; i < STAGES.length; i++) perStage[i]!.push(points[i + 1]! - points[i]!);
    totals.push(sample.succeededAt - sample.sentAt);
  }
  return {
    samples: totals.length,
    stages: STAGES.map((stage, i) => ({ stage, ms: percentiles(perStage[i]!) })),
    total_ms: percentiles(totals),
  };
}
