import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { supervise, type ChildSpec, type SignalSource } from './supervisor.js';

/** A child running a Node one-liner. */
const node = (name: string, code: string): ChildSpec => ({ name, command: process.execPath, args: ['-e', code] });

/** Runs until SIGTERM/SIGINT, then exits 0 (a well-behaved service). */
const service = (name: string): ChildSpec =>
  node(name, "const t = setInterval(() => {}, 1000); for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { clearInterval(t); process.exit(0); }); console.log('ready');");

/** Ignores SIGTERM. */
const stubborn = (name: string): ChildSpec => node(name, "setInterval(() => {}, 1000); process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); console.log('ready');");

function quiet(): { signals: SignalSource & EventEmitter; log: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { signals: new EventEmitter(), log: (m) => messages.push(m), messages };
}

/** Children's stdout is piped so tests can wait for their 'ready' line; the rest is dropped. */
const stdio = ['ignore', 'pipe', 'ignore'] as const;

/** Resolves once every child has printed 'ready' (its signal handlers are installed). */
async function ready(sup: ReturnType<typeof supervise>): Promise<void> {
  await Promise.all(
    [...sup.children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          let seen = '';
          c.stdout?.on('data', (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes('ready')) resolve();
          });
        }),
    ),
  );
}

describe('supervise', () => {
  it('settles with 0 when a single child exits cleanly', async () => {
    const q = quiet();
    const sup = supervise([node('one', 'process.exit(0)')], { stdio: [...stdio], ...q });
    expect(await sup.done).toBe(0);
    expect(sup.exits).toEqual([{ name: 'one', code: 0, signal: null, failed: false }]);
  });

  it('settles with 1 when a single child fails', async () => {
    const q = quiet();
    const sup = supervise([node('one', 'process.exit(3)')], { stdio: [...stdio], ...q });
    expect(await sup.done).toBe(1);
    expect(q.messages.join('\n')).toContain('one exited with code 3');
  });

  it('stops the others and settles with 1 when one child dies unexpectedly', async () => {
    const q = quiet();
    const sup = supervise([service('task-manager'), node('worker', "process.stdin.once('data', () => process.exit(0)); console.log('ready');"), service('executor')], {
      stdio: ['pipe', 'pipe', 'ignore'],
      ...q,
    });
    await ready(sup);
    sup.children.get('worker')?.stdin?.write('exit\n');
    expect(await sup.done).toBe(1);
    const byName = Object.fromEntries(sup.exits.map((e) => [e.name, e]));
    expect(sup.exits[0]?.name).toBe('worker');
    expect(byName['worker']?.failed).toBe(true);
    // the others were asked to stop and did so cleanly
    expect(byName['task-manager']).toMatchObject({ code: 0, failed: false });
    expect(byName['executor']).toMatchObject({ code: 0, failed: false });
    expect(q.messages.join('\n')).toContain('worker exited with code 0; stopping the others');
  });

  it('forwards a signal to every child and settles with 0 when they all stop cleanly', async () => {
    const q = quiet();
    const sup = supervise([service('a'), service('b'), service('c')], { stdio: [...stdio], ...q });
    await ready(sup);
    q.signals.emit('SIGINT');
    expect(await sup.done).toBe(0);
    expect(sup.exits.map((e) => e.name).sort()).toEqual(['a', 'b', 'c']);
    expect(sup.exits.every((e) => e.code === 0)).toBe(true);
  });

  it('treats a child ended by the forwarded signal itself as a clean stop', async () => {
    const q = quiet();
    const sup = supervise([node('plain', "setInterval(() => {}, 1000); console.log('ready');")], { stdio: [...stdio], ...q });
    await ready(sup);
    q.signals.emit('SIGTERM');
    expect(await sup.done).toBe(0);
    expect(sup.exits[0]).toMatchObject({ signal: 'SIGTERM', failed: false });
  });

  it('kills a child that does not stop in time and settles with 1', async () => {
    const q = quiet();
    const sup = supervise([stubborn('slow'), service('fast')], { stdio: [...stdio], killAfterMs: 500, ...q });
    await ready(sup);
    const t0 = Date.now();
    q.signals.emit('SIGTERM');
    expect(await sup.done).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(sup.exits.find((e) => e.name === 'slow')).toMatchObject({ signal: 'SIGKILL', failed: true });
    expect(sup.exits.find((e) => e.name === 'fast')).toMatchObject({ code: 0, failed: false });
    expect(q.messages.join('\n')).toContain('slow did not stop within 500 ms');
  });

  it('reports a child that cannot be started', async () => {
    const q = quiet();
    const sup = supervise([{ name: 'ghost', command: '/nonexistent/sje-binary', args: [] }], { stdio: [...stdio], ...q });
    expect(await sup.done).toBe(1);
    expect(q.messages.join('\n')).toContain('ghost could not start');
  });

  it('removes its signal listeners once done', async () => {
    const q = quiet();
    const sup = supervise([node('one', 'process.exit(0)')], { stdio: [...stdio], ...q });
    expect(q.signals.listenerCount('SIGINT')).toBe(1);
    await sup.done;
    expect(q.signals.listenerCount('SIGINT')).toBe(0);
    expect(q.signals.listenerCount('SIGTERM')).toBe(0);
  });
});
