/**
 * The throughput rounds of `pnpm bench`: a warm-up on each side, then raw,
 * SJE and raw pipelined deep in turn, so that a machine that speeds up or
 * slows down during the run weighs on both sides alike.
 */
import type { RawBaseline, RawRound } from './raw-baseline.js';
import type { SjeBench, SjeRound } from './sje-bench.js';
import { median, round } from './stats.js';

/** How the rounds run. */
export interface RoundSettings {
  /** Tasks per round. */
  tasks: number;
  /** Tasks each side runs first, not counted (0: none). */
  warmupTasks: number;
  rounds: number;
  /** Raw publishes in flight in the headline raw rounds. */
  rawWindow: number;
  /** Raw publishes in flight in the deep raw rounds (SJE's worker concurrency). */
  deepWindow: number;
}

/** Every round's figures, by side. */
export interface Rounds {
  raw: RawRound[];
  rawDeep: RawRound[];
  sje: SjeRound[];
}

const cpuText = (figures: Record<string, number>): string =>
  Object.entries(figures)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** Runs the warm-up and the rounds on whichever sides are given, logging each round. */
export async function runRounds(raw: RawBaseline | undefined, sje: SjeBench | undefined, settings: RoundSettings, log: (line: string) => void): Promise<Rounds> {
  if (settings.warmupTasks > 0) {
    log(`warm-up: ${settings.warmupTasks} tasks each, not counted`);
    await raw?.throughputRound(settings.warmupTasks, settings.rawWindow);
    await sje?.throughputRound(settings.warmupTasks);
  }
  const out: Rounds = { raw: [], rawDeep: [], sje: [] };
  for (let i = 0; i < settings.rounds; i++) {
    const r = await raw?.throughputRound(settings.tasks, settings.rawWindow);
    const s = await sje?.throughputRound(settings.tasks);
    // The same round trip with as many publishes in flight as the consumer holds: raw pipelined as deep as it goes.
    const deep = await raw?.throughputRound(settings.tasks, settings.deepWindow);
    if (r) out.raw.push(r);
    if (s) out.sje.push(s);
    if (deep) out.rawDeep.push(deep);
    const parts = [
      r ? `raw ${Math.round(r.throughput_per_s)} tasks/s (CPU ms per 1,000: ${cpuText(r.cpu_ms_per_1000_tasks)})` : undefined,
      s
        ? `SJE ${Math.round(s.end_to_end_per_s)} tasks/s, ${Math.round(s.submit_per_s)} submitted, ${s.assigned_tasks} assigned (CPU ms per 1,000: ${cpuText(s.cpu_ms_per_1000_tasks)})`
        : undefined,
      r && s ? `ratio ${round(s.end_to_end_per_s / r.throughput_per_s, 2)}` : undefined,
      deep ? `raw with ${settings.deepWindow} in flight ${Math.round(deep.throughput_per_s)} tasks/s` : undefined,
    ];
    log(`round ${i + 1}/${settings.rounds}: ${parts.filter(Boolean).join('; ')}`);
  }
  return out;
}

/** Each process's median CPU per 1,000 tasks over the rounds. */
export function medianCpu(rounds: readonly { cpu_ms_per_1000_tasks: Record<string, number> }[]): Record<string, number> {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.cpu_ms_per_1000_tasks)))];
  return Object.fromEntries(names.map((n) => [n, median(rounds.map((r) => r.cpu_ms_per_1000_tasks[n]).filter((v): v is number => v !== undefined))]));
}

/** SJE over raw for each round pair (empty when a side did not run). */
export function pairRatios(sje: readonly SjeRound[], raw: readonly RawRound[]): number[] {
  if (sje.length === 0 || raw.length === 0) return [];
  return sje.map((s, i) => s.end_to_end_per_s / (raw[i]?.throughput_per_s ?? Number.NaN));
}
