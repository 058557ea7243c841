/**
 * A guard for tests that disturb the whole broker: they may only go ahead
 * when every client connected to it is one of their own processes (SJE names
 * its connections `sje-<service>-<pid>`), so a broker restart or a changed
 * global setting cannot break anyone else's work.
 * @module
 */
import { rabbitmqctl } from '../../helpers/broker.js';
import { sleep } from './fault-stack.js';

/** Names of the connections open on the broker (`(unnamed)` for clients that give none). */
export async function connectionNames(): Promise<string[]> {
  const { stdout } = await rabbitmqctl(['-q', 'list_connections', 'client_properties', '--no-table-headers']);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => /\{"connection_name","([^"]*)"\}/.exec(line)?.[1] ?? '(unnamed)');
}

/**
 * Waits up to `waitMs` until every connection on the broker belongs to one of
 * `ownPids`, and returns how many there are.
 * @throws Error naming the other connections when they do not go away.
 */
export async function expectBrokerToOurselves(ownPids: readonly number[], waitMs = 30_000): Promise<number> {
  const own = (name: string): boolean => {
    const pid = /^sje-[a-z-]+-(\d+)$/.exec(name)?.[1];
    return pid !== undefined && ownPids.includes(Number(pid));
  };
  const deadline = Date.now() + waitMs;
  for (;;) {
    const names = await connectionNames();
    const others = names.filter((n) => !own(n));
    if (others.length === 0) return names.length;
    if (Date.now() > deadline) {
      throw new Error(
        `other clients are connected to the broker, and this test would disturb them (it restarts the broker or changes a broker-wide setting): ${others.join(', ')}`,
      );
    }
    await sleep(500);
  }
}
