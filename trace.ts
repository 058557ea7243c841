import { connect } from 'amqplib';
import { spawnService, testConfig, disposeAll } from './test/helpers/stack.js';
const config = await testConfig({ plugins: [], log: { level: 'warn' }, worker: { concurrency: 8 } });
const p = config.topology.prefix;
await spawnService('task-manager', config); await spawnService('worker', config);
const ex = await spawnService('executor', config);
const conn = await connect(config.amqp.url, { noDelay: true });
const ch = await conn.createChannel();
const { queue } = await ch.assertQueue('', { exclusive: true });
await ch.bindQueue(queue, `${p}.commands`, 'command'); await ch.bindQueue(queue, `${p}.tasks`, 'default');
await ch.bindQueue(queue, `${p}.control`, 'worker.#'); await ch.bindQueue(queue, `${p}.events`, 'task.#');
let t0 = 0; const log: string[] = [];
await ch.consume(queue, (m) => { if (!m) return; const b = JSON.parse(m.content.toString()); log.push(`${(performance.now() - t0).toFixed(2)} ${m.fields.exchange.replace(p + '.', '')}:${b.type}${b.status ? '/' + b.status : ''}${b.outcome ? '/' + b.outcome : ''}`); }, { noAck: true });
for (let i = 0; i < 6; i++) {
  await new Promise((r) => setTimeout(r, 300)); log.length = 0;
  t0 = performance.now();
  const r = await fetch(`${ex.baseUrl}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"function":"echo"}' });
  log.push(`${(performance.now() - t0).toFixed(2)} HTTP ${r.status}`);
  await new Promise((r) => setTimeout(r, 300));
  console.log(log.sort((a, b) => parseFloat(a) - parseFloat(b)).join(' | '));
}
await conn.close(); await disposeAll();
