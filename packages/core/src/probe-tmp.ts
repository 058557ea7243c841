import type { Socket } from 'node:net';
import { Broker } from './broker.js';
import { createLogger } from './logger.js';
import { createTopology, deleteTopology } from './topology.js';
const t = createTopology({ prefix: 'probe-' + process.pid });
const b = new Broker({ url: 'amqp://guest:guest@127.0.0.1:5672', topology: t, logger: createLogger({ service: 'p', level: 'debug', format: 'json' }), service: 'probe', reconnectInitialMs: 50 });
const t0 = Date.now();
b.on('connected', () => console.log('connected', Date.now() - t0));
b.on('disconnected', () => console.log('disconnected', Date.now() - t0));
await b.start();
const model = (b as unknown as { model: { connection: { stream: Socket } } }).model;
model.connection.stream.destroy(process.argv[2] === 'err' ? new Error('simulated') : undefined);
await new Promise((r) => setTimeout(r, 3000));
console.log('connected?', b.connected);
if (process.argv[3] === 'close') {
  const m2 = (b as unknown as { model: { connection: { stream: Socket } } }).model;
  m2.connection.stream.destroy();
  const tc = Date.now();
  await b.close();
  console.log('closed after', Date.now() - tc);
}
await b.close();
console.log('done');
process.exit(0);
