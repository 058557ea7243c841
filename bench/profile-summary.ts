/**
 * Summarises a V8 CPU profile (`--cpu-prof`): self time by function and by
 * file, to see where a service spends its time.
 * Usage: tsx bench/profile-summary.ts FILE.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const shortUrl = (url: string): string => url.replace(/^file:\/\/\/work\/main\//, '').replace(/node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1:');
const fnTimes = new Map<string, number>();
const fileTimes = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const f = `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fnTimes.set(f, (fnTimes.get(f) ?? 0) + us);
  const u = shortUrl(n.callFrame.url) || n.callFrame.functionName;
  fileTimes.set(u, (fileTimes.get(u) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
};
show('self time by function', fnTimes);
show('self time by file', fileTimes);
