/**
 * CPU time used by processes over a phase (Linux /proc), so a benchmark can
 * report CPU per task for each process — steadier from run to run on a
 * shared VM than throughput, and it shows which process does the work.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU milliseconds a process has used so far (user + system), or undefined when unreadable. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pid of the local RabbitMQ (its Erlang VM), if one runs on this machine. */
export function findBrokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('beam.smp') && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('rabbit')) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** Measures the CPU each named process uses between `start()` and `stop()`. */
export class CpuMeter {
  private startMs = new Map<string, number>();

  constructor(private readonly pids: Record<string, number | undefined>) {}

  /** Starts the phase. */
  start(): void {
    this.startMs.clear();
    for (const [name, pid] of Object.entries(this.pids)) {
      const ms = pid === undefined ? undefined : cpuMs(pid);
      if (ms !== undefined) this.startMs.set(name, ms);
    }
  }

  /** CPU milliseconds per `per` units of work (e.g. 1,000 tasks) for each process readable at both ends. */
  stop(units: number, per = 1000): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, before] of this.startMs) {
      const pid = this.pids[name];
      const after = pid === undefined ? undefined : cpuMs(pid);
      if (after !== undefined) out[name] = Math.round(((after - before) * per) / units);
    }
    return out;
  }
}
