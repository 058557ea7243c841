/**
 * Coalesced submits against the real RabbitMQ: a copy of every command the
 * executor sends is read from a queue bound beside the task-manager's. One
 * request at idle travels as a plain `submit`; concurrent one-task requests
 * share `submits` messages, and every task still runs exactly once. A
 * `submits` message whose one entry reuses a taken id with another spec has
 * only that entry dead-lettered, with its reason; the others are stored.
 */
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeadLetterHeaders, uuidv7, validators, type SjeConfig, type SubmitCommand } from '../packages/core/src/index.js';
import { faultConfig, startStack, until, type Stack } from './faults/support/fault-stack.js';
import { getViews, waitForFinalCount, waitForView } from './faults/support/tasks.js';
import { http } from './helpers/http.js';
import { disposeTestConfig } from './helpers/stack.js';

const CLIENTS = 48;

/** Copies of the submit commands that reach the commands exchange, and of what is dead-lettered. */
class CommandTap {
  readonly commands: { type: string; body: unknown }[] = [];
  readonly deadLetters: { body: unknown; reason: unknown }[] = [];
  private constructor(private readonly conn: ChannelModel) {}

  static async open(config: SjeConfig): Promise<CommandTap> {
    const conn = await connect(config.amqp.url);
    const tap = new CommandTap(conn);
    const ch = await conn.createChannel();
    const prefix = config.topology.prefix;
    await ch.assertExchange(`${prefix}.commands`, 'direct', { durable: true });
    await ch.assertExchange(`${prefix}.dead-letter`, 'fanout', { durable: true });
    const commands = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(commands.queue, `${prefix}.commands`, 'command');
    const dead = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(dead.queue, `${prefix}.dead-letter`, '');
    await ch.consume(
      commands.queue,
      (msg) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString()) as { type: string };
        // Workers' reports share the routing key: only the executor's submits count here.
        if (body.type === 'submit' || body.type === 'submits') tap.commands.push({ type: body.type, body });
      },
      { noAck: true },
    );
    await ch.consume(
      dead.queue,
      (msg) => {
        if (msg) tap.deadLetters.push({ body: JSON.parse(msg.content.toString()) as unknown, reason: msg.properties.headers?.[DeadLetterHeaders.reason] });
      },
      { noAck: true },
    );
    return tap;
  }

  async publish(config: SjeConfig, body: unknown): Promise<void> {
    const ch = await this.conn.createConfirmChannel();
    ch.publish(`${config.topology.prefix}.commands`, 'command', Buffer.from(JSON.stringify(body)), { persistent: true, contentType: 'application/json' });
    await ch.waitForConfirms();
    await ch.close();
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

let stack: Stack | undefined;
let tap: CommandTap | undefined;
const configs: SjeConfig[] = [];

afterEach(async () => {
  await tap?.close();
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
  stack = undefined;
  tap = undefined;
});
afterAll(async () => {
  for (const c of configs.splice(0)) await disposeTestConfig(c);
});

async function start(): Promise<{ stack: Stack; tap: CommandTap; config: SjeConfig }> {
  const config = await faultConfig({ worker: { concurrency: 16 } });
  configs.push(config);
  tap = await CommandTap.open(config);
  stack = await startStack(config, { workers: 1 });
  return { stack, tap, config };
}

const spec = (taskId: string, params: Record<string, unknown>): SubmitCommand['tasks'][number] => ({
  task_id: taskId,
  function: 'echo',
  params,
  queue: 'default',
  priority: 0,
  depends_on: [],
  labels: {},
});

describe('coalesced submits', () => {
  it('sends a lone request as a plain submit, and concurrent ones together; each task runs once', async () => {
    const { stack: s, tap: t } = await start();
    const lone = await http<{ task_id: string }>(`${s.api}/submit`, { json: { function: 'echo', params: { n: -1 } } });
    expect(lone.status).toBe(201);
    await until('the lone submit copied', () => t.commands.length >= 1, 5000);
    expect(t.commands.map((c) => c.type)).toEqual(['submit']);

    const ids: string[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < 20 * CLIENTS) {
        const n = next++;
        const res = await http<{ task_id: string }>(`${s.api}/submit`, { json: { function: 'echo', params: { n } } });
        expect(res.status, res.text).toBe(201);
        ids.push(res.body.task_id);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    await waitForFinalCount([s.taskManager.baseUrl], ids.length + 1, 60_000);
    const views = await getViews(s.api, ids);
    expect(views.filter((v) => v.status !== 'succeeded').map((v) => `${v.task_id}: ${v.status}`)).toEqual([]);
    for (const v of views) expect(v.history.filter((h) => h.status === 'succeeded'), v.task_id).toHaveLength(1);

    await until('every submit copied', () => t.commands.reduce((n, c) => n + (c.type === 'submits' ? (c.body as { submits: unknown[] }).submits.length : 1), 0) >= ids.length + 1, 10_000);
    const grouped = t.commands.filter((c) => c.type === 'submits');
    expect(grouped.length).toBeGreaterThan(0);
    expect(t.commands.length).toBeLessThan(ids.length);
    for (const g of grouped) expect(validators.command(g.body).ok).toBe(true);
    const carried = t.commands.flatMap((c) => (c.type === 'submits' ? (c.body as { submits: SubmitCommand[] }).submits : [c.body as SubmitCommand]));
    expect(new Set(carried.flatMap((c) => c.tasks.map((task) => task.task_id))).size).toBe(ids.length + 1);
    console.log(`[coalesced-submits] ${ids.length + 1} one-task requests from ${CLIENTS} clients in ${t.commands.length} messages (${grouped.length} submits batches)`);
  });

  it('dead-letters only the entry of a submits message that reuses a taken id, and stores the others', async () => {
    const { stack: s, tap: t, config } = await start();
    const taken = `taken-${uuidv7()}`;
    const first = await http(`${s.api}/submit`, { json: { task_id: taken, function: 'echo', params: { v: 1 } } });
    expect(first.status).toBe(201);
    await waitForView(s.api, taken, (v) => v.status === 'succeeded');

    const fresh = [`fresh-a-${uuidv7()}`, `fresh-b-${uuidv7()}`];
    const at = new Date().toISOString();
    const conflicting: SubmitCommand = { type: 'submit', tasks: [spec(taken, { v: 2 })], submitted_at: at };
    await t.publish(config, {
      type: 'submits',
      submits: [
        { type: 'submit', tasks: [spec(fresh[0]!, {})], submitted_at: at },
        conflicting,
        { type: 'submit', tasks: [spec(fresh[1]!, {})], submitted_at: at },
      ],
    });
    for (const id of fresh) expect((await waitForView(s.api, id, (v) => v.status === 'succeeded')).task_id).toBe(id);
    await until('the conflicting entry dead-lettered', () => t.deadLetters.length > 0, 10_000);
    expect(t.deadLetters).toHaveLength(1);
    expect(t.deadLetters[0]!.body).toEqual(conflicting);
    expect(String(t.deadLetters[0]!.reason)).toMatch(/TASK_ID_CONFLICT/);
    // The task that held the id is untouched.
    const view = await waitForView(s.api, taken, () => true);
    expect((view as typeof view & { params?: unknown }).params).toEqual({ v: 1 });
  });
});
