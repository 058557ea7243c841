/**
 * `pnpm bench:wakeup`: what one hop between two processes costs on this
 * machine, back to back and after the processes have been idle. Starts a
 * bare `node:http` server (no SJE code) in a child process and times
 * keep-alive GET round trips from this one: first back to back, then with a
 * pause before each request. Every hop of a task at idle pays for waking a
 * process that was asleep; this prints what that costs here, with nothing of
 * SJE's own in the way.
 * Flags: --samples N (2000) --warmup N (300) --gaps 1,3,10 (ms of pause)
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { HttpClient } from './http-client.js';
import { percentiles, type LatencyFigures } from './stats.js';

if (process.argv.includes('--serve')) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
} else {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '300' },
      gaps: { type: 'string', default: '1,3,10' },
    },
  });
  const samples = Number(values.samples);
  const warmup = Number(values.warmup);
  const gaps = values.gaps.split(',').map(Number);
  const child = fork(process.argv[1]!, ['--serve'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
  const http = new HttpClient();
  const url = `http://127.0.0.1:${port}/`;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const measure = async (gapMs: number, n: number): Promise<LatencyFigures> => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      if (gapMs > 0) await sleep(gapMs);
      const s = performance.now();
      await http.send('GET', url);
      times.push(performance.now() - s);
    }
    return percentiles(times);
  };
  try {
    await measure(0, warmup);
    process.stdout.write(`bare node:http round trip between two processes, ${samples} samples each (ms)\n`);
    process.stdout.write(`${'pause before each request'.padEnd(28)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}\n`);
    for (const gap of [0, ...gaps]) {
      const f = await measure(gap, gap >= 10 ? Math.min(samples, 500) : samples);
      const label = gap === 0 ? 'none (back to back)' : `${gap} ms`;
      process.stdout.write(`${label.padEnd(28)} ${String(f.p50).padStart(7)} ${String(f.p99).padStart(7)} ${String(f.max).padStart(7)}\n`);
    }
  } finally {
    http.close();
    child.kill();
  }
}
