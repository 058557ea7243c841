/**
 * RabbitMQ helpers for tests: find a broker, give each test its own topology
 * prefix and clean it up afterwards, read and publish raw messages, and run
 * `rabbitmqctl` for fault-injection tests.
 *
 * @example
 * ```ts
 * const url = await getBrokerUrl();
 * const prefix = uniquePrefix();
 * // ... start services with topology.prefix = prefix ...
 * const dead = await drainQueue(url, `${prefix}.dead-letter`, { min: 1, timeoutMs: 5000 });
 * await cleanupTopology(url, prefix, ['default']);
 * ```
 * @module
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import type * as RabbitContainers from '@testcontainers/rabbitmq';
import { connect, type Channel, type ChannelModel, type GetMessage, type MessageProperties, type Options } from 'amqplib';
import type * as Testcontainers from 'testcontainers';
import { BrokerUnavailableError, createTopology, deleteTopology, ErrorCode, SjeError } from '../../packages/core/src/index.js';

/** The broker every developer machine and CI host is expected to run. */
export const LOCAL_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** How to get a broker, shown when none can be found. */
export const NO_BROKER_HELP =
  'no RabbitMQ broker for the tests: set AMQP_URL=amqp://user:pass@host:5672, or run one locally ' +
  '(Debian/Ubuntu: `apt-get install rabbitmq-server && rabbitmq-server -detached`; it must answer on 127.0.0.1:5672), ' +
  'or start a Docker engine so that testcontainers can run rabbitmq:3.13-alpine';

/** Image started by the testcontainers fallback. */
const CONTAINER_IMAGE = 'rabbitmq:3.13-alpine';

/** A broker found or started for the tests. */
export interface ResolvedBroker {
  /** AMQP URL with credentials. */
  url: string;
  /** Where it came from. */
  source: 'env' | 'local' | 'container';
  /** Stops the broker when the helper started it (container); a no-op otherwise. */
  stop: () => Promise<void>;
}

let cached: Promise<ResolvedBroker> | undefined;

/**
 * Whether something accepts TCP connections on `host:port` within `timeoutMs`.
 * @example
 * ```ts
 * if (await isPortOpen('127.0.0.1', 5672)) console.log('a broker is listening');
 * ```
 */
export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (open: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function tryContainer(deadline: number): Promise<ResolvedBroker | undefined> {
  let tc: typeof Testcontainers;
  let rabbit: typeof RabbitContainers;
  try {
    [tc, rabbit] = await Promise.all([import('testcontainers'), import('@testcontainers/rabbitmq')]);
  } catch {
    return undefined;
  }
  // Only the detection of a container runtime is bounded by the deadline; pulling and starting an image legitimately takes longer.
  let timer: NodeJS.Timeout | undefined;
  const detected = await Promise.race([
    tc.getContainerRuntimeClient().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(200, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
  if (!detected) return undefined;
  const container = await new rabbit.RabbitMQContainer(CONTAINER_IMAGE).start();
  return { url: container.getAmqpUrl(), source: 'container', stop: async () => void (await container.stop()) };
}

/**
 * Finds a broker: `AMQP_URL` when set; else a broker answering on
 * 127.0.0.1:5672; else a RabbitMQ container started with testcontainers (when a
 * container runtime is available). Resolves once per process and caches the answer.
 * @throws BrokerUnavailableError within about a second when there is none, saying how to get one.
 * @example
 * ```ts
 * const broker = await resolveBroker();
 * console.log(broker.source, broker.url);
 * ```
 */
export function resolveBroker(): Promise<ResolvedBroker> {
  cached ??= (async (): Promise<ResolvedBroker> => {
    const fromEnv = process.env['AMQP_URL'];
    if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, source: 'env', stop: async () => undefined };
    const deadline = Date.now() + 1000;
    if (await isPortOpen('127.0.0.1', 5672, 500)) return { url: LOCAL_BROKER_URL, source: 'local', stop: async () => undefined };
    const container = await tryContainer(deadline);
    if (container) return container;
    throw new BrokerUnavailableError(NO_BROKER_HELP);
  })();
  // A failure is not cached: a broker started later is found by the next call.
  void cached.catch(() => (cached = undefined));
  return cached;
}

/**
 * The AMQP URL of the test broker (see {@link resolveBroker}).
 * @example
 * ```ts
 * const url = await getBrokerUrl(); // 'amqp://guest:guest@127.0.0.1:5672'
 * ```
 */
export async function getBrokerUrl(): Promise<string> {
  return (await resolveBroker()).url;
}

/**
 * A topology prefix no other test uses, e.g. `t-1a2b3c4d`.
 * @example
 * ```ts
 * const topology = createTopology({ prefix: uniquePrefix() });
 * ```
 */
export function uniquePrefix(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

/**
 * Runs `fn` with a fresh channel on a fresh connection, then closes both.
 * @example
 * ```ts
 * const { messageCount } = await withChannel(url, (ch) => ch.checkQueue('t-1234abcd.dead-letter'));
 * ```
 */
export async function withChannel<T>(url: string, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const model: ChannelModel = await connect(url, { noDelay: true });
  model.on('error', () => undefined);
  try {
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    return await fn(ch);
  } finally {
    await model.close().catch(() => undefined);
  }
}

/**
 * Deletes every exchange and queue of a test's topology, including the named
 * task queues (`['default']` → `<prefix>.tasks.default`). Safe to call when
 * some of them were never declared.
 * @example
 * ```ts
 * afterAll(() => cleanupTopology(url, prefix, ['default']));
 * ```
 */
export async function cleanupTopology(url: string, prefix: string, taskQueues: string[] = []): Promise<void> {
  await withChannel(url, (ch) => deleteTopology(ch, createTopology({ prefix }), taskQueues));
}

/**
 * Number of ready messages in a queue.
 * @example
 * ```ts
 * expect(await queueDepth(url, `${prefix}.tasks.default`)).toBe(0);
 * ```
 */
export async function queueDepth(url: string, queue: string): Promise<number> {
  return await withChannel(url, async (ch) => (await ch.checkQueue(queue)).messageCount);
}

/** A message read with {@link drainQueue}. */
export interface DrainedMessage {
  /** The raw bytes. */
  content: Buffer;
  /** The content parsed as JSON, or `undefined` when it is not JSON. */
  body: unknown;
  /** AMQP headers (`x-sje-reason` on dead-lettered messages). */
  headers: Record<string, unknown>;
  properties: MessageProperties;
  routingKey: string;
  exchange: string;
  redelivered: boolean;
}

/** Options of {@link drainQueue}. */
export interface DrainOptions {
  /** Longest wait for `min` messages. @defaultValue 1000 */
  timeoutMs?: number;
  /** Keep polling until at least this many arrived (or the timeout). @defaultValue 0 */
  min?: number;
  /** Poll interval while the queue is empty. @defaultValue 25 */
  pollMs?: number;
}

function toDrained(msg: GetMessage): DrainedMessage {
  let body: unknown;
  try {
    body = JSON.parse(msg.content.toString('utf8'));
  } catch {
    body = undefined;
  }
  return {
    content: msg.content,
    body,
    headers: msg.properties.headers ?? {},
    properties: msg.properties,
    routingKey: msg.fields.routingKey,
    exchange: msg.fields.exchange,
    redelivered: msg.fields.redelivered,
  };
}

/** Errors after which reading a queue is worth trying again on a new connection. */
function isTransientGetError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  // 404: the queue is not declared yet; 541 noproc: a quorum queue whose leader is still starting.
  return code === 404 || /NOT_FOUND|noproc|Channel ended|Connection closed/i.test(message);
}

/**
 * Takes every message of a queue (removing them). Returns as soon as the
 * queue is empty and at least `min` messages were taken, or when `timeoutMs`
 * ran out (with what was taken so far). A queue that does not exist yet counts
 * as empty, and a quorum queue still electing its leader is retried.
 * @example
 * ```ts
 * const [dead] = await drainQueue(url, topology.queues.deadLetter, { min: 1, timeoutMs: 5000 });
 * expect(dead?.headers['x-sje-reason']).toMatch(/not valid JSON/);
 * ```
 */
export async function drainQueue(url: string, queue: string, options: DrainOptions = {}): Promise<DrainedMessage[]> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const min = options.min ?? 0;
  const pollMs = options.pollMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  const out: DrainedMessage[] = [];
  for (;;) {
    try {
      await withChannel(url, async (ch) => {
        for (;;) {
          // Auto-ack: a message is removed as it is handed over, so a retry after a broken connection never duplicates one.
          const msg = await ch.get(queue, { noAck: true });
          if (msg !== false) {
            out.push(toDrained(msg));
            continue;
          }
          if (out.length >= min || Date.now() >= deadline) return;
          await new Promise((r) => setTimeout(r, pollMs));
        }
      });
      return out;
    } catch (err) {
      if (!isTransientGetError(err)) throw err;
      if (Date.now() >= deadline) {
        if ((err as { code?: unknown }).code === 404 || /NOT_FOUND/.test(String(err))) return out;
        throw err;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/**
 * Publishes raw bytes (anything: broken JSON, wrong schemas) with a publisher
 * confirm. An empty `exchange` with the queue name as routing key sends
 * straight to that queue.
 * @example
 * ```ts
 * await publishRaw(url, topology.exchanges.commands, 'command', '{not json');
 * ```
 */
export async function publishRaw(url: string, exchange: string, routingKey: string, content: Buffer | string, options: Options.Publish = {}): Promise<void> {
  const model = await connect(url, { noDelay: true });
  model.on('error', () => undefined);
  try {
    const ch = await model.createConfirmChannel();
    ch.on('error', () => undefined);
    ch.publish(exchange, routingKey, typeof content === 'string' ? Buffer.from(content) : content, { persistent: true, ...options });
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** What {@link rabbitmqctl} returns. */
export interface CtlResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs `rabbitmqctl` with `args` (needs it on PATH and the rights to talk to
 * the local node; used by fault tests, which skip themselves when it is missing).
 * @throws SjeError `SJE_ERR_INTERNAL` when it fails or takes longer than `timeoutMs`.
 * @example
 * ```ts
 * await rabbitmqctl(['list_connections', 'name']);
 * ```
 */
export function rabbitmqctl(args: string[], timeoutMs = 30_000): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new SjeError(ErrorCode.INTERNAL, `rabbitmqctl ${args.join(' ')} failed: ${err.message}\n${stderr}`, { cause: err }));
      } else resolve({ stdout, stderr });
    });
  });
}

/**
 * Whether `rabbitmqctl` is usable here (installed and allowed to reach the node).
 * @example
 * ```ts
 * describe.skipIf(!(await hasRabbitmqctl()))('broker restarts', () => { ... });
 * ```
 */
export async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await rabbitmqctl(['-q', 'status'], 15_000);
    return true;
  } catch {
    return false;
  }
}

/**
 * Closes, from the broker's side, every connection whose client-provided
 * `connection_name` equals `connectionName` (SJE names its connections
 * `sje-<service>-<pid>`). Other connections on the broker are left alone.
 * Needs `rabbitmqctl` (see {@link hasRabbitmqctl}).
 * @returns how many connections were closed.
 * @example
 * ```ts
 * await closeBrokerConnections(`sje-${service}-${process.pid}`);
 * ```
 */
export async function closeBrokerConnections(connectionName: string, reason = 'closed by a test'): Promise<number> {
  const { stdout } = await rabbitmqctl(['-q', 'list_connections', 'pid', 'client_properties', '--no-table-headers']);
  const marker = `{"connection_name","${connectionName}"}`;
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.split('\t')[0]?.trim() ?? '')
    .filter((pid) => pid.startsWith('<'));
  for (const pid of pids) await rabbitmqctl(['close_connection', pid, reason]);
  return pids.length;
}
