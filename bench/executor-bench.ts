/**
 * `pnpm bench:executor`: the executor's own CPU per submitted task, without
 * a broker. Serves the real REST application in this process, from the
 * executor's own server (`createApiServer`), with a broker
 * stand-in that confirms every publish at once (it serialises the command, as
 * the real one does), sends `POST /submit` over keep-alive HTTP from this
 * process, and prints CPU microseconds per task (client and server together)
 * for batches and for one task per request, best of N rounds; then the
 * latency of one task per request (round trip, and from the request's
 * arrival to its publish) back to back and with pauses before each request.
 * Flags: --batch N (500 tasks per request) --requests N (200 batch requests a round)
 *   --singles N (2000 one-task requests a round) --rounds N (3)
 *   --params-bytes N (0: each task's params hold a string of about N characters)
 *   --pauses 0,10 (ms before each request of the latency phase) --samples N (500 per pause)
 */
import { parseArgs } from 'node:util';
import { createRuntime, loadConfig, type SjeConfig } from '../packages/core/src/index.js';
import type { BrokerPort } from '../packages/executor/src/app-deps.js';
import { createApp } from '../packages/executor/src/app.js';
import { createApiServer } from '../packages/executor/src/internal/api-server.js';
import { HttpClient } from './http-client.js';
import { echoTask } from './payload.js';
import { percentiles } from './stats.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '500' },
    requests: { type: 'string', default: '200' },
    singles: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    pauses: { type: 'string', default: '0,10' },
    samples: { type: 'string', default: '500' },
    'params-bytes': { type: 'string', default: '0' },
  },
});
const batch = Number(values.batch);
const requests = Number(values.requests);
const singles = Number(values.singles);
const rounds = Number(values.rounds);
const pauses = values.pauses.split(',').map(Number);
const samples = Number(values.samples);
const paramsBytes = Number(values['params-bytes']);

const config: SjeConfig = loadConfig({ env: {}, overrides: { log: { level: 'error' }, plugins: [] } });
const rt = await createRuntime('executor', config);
/** When the request being timed arrived, and how long after it its command was published. */
let arrivedAt = 0;
const toPublish: number[] = [];
const broker: BrokerPort = {
  connected: true,
  topology: rt.broker.topology,
  publish: async (_exchange: string, _routingKey: string, body: unknown) => {
    toPublish.push(performance.now() - arrivedAt);
    void Buffer.from(JSON.stringify(body));
  },
  request: () => Promise.reject(new Error('no task-manager in this benchmark')),
};
const app = createApp({ config, logger: rt.logger, broker, plugins: rt.plugins, metrics: rt.metrics });
// The server the executor runs: its requests and responses born with the app's prototypes.
const server = createApiServer(undefined, app, config.executor.keep_alive_timeout_ms, { request: app.request, response: app.response });
server.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
server.prependListener('request', () => (arrivedAt = performance.now()));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/submit`;
const http = new HttpClient();

/** CPU µs per task over `n` requests of `body`, each holding `tasks` tasks. */
async function cpuPerTask(body: unknown, n: number, tasks: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const res = await http.send('POST', url, body);
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${res.text}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (n * tasks);
}

const task = echoTask(paramsBytes);
const batchBody = { tasks: Array.from({ length: batch }, () => task) };
const singleBody = task;
try {
  await cpuPerTask(batchBody, Math.ceil(requests / 4), batch);
  await cpuPerTask(singleBody, Math.ceil(singles / 4), 1);
  let bestBatch = Number.POSITIVE_INFINITY;
  let bestSingle = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    bestBatch = Math.min(bestBatch, await cpuPerTask(batchBody, requests, batch));
    bestSingle = Math.min(bestSingle, await cpuPerTask(singleBody, singles, 1));
  }
  process.stdout.write(
    `executor CPU per task (µs, client and server, best of ${rounds} rounds): batches of ${batch} ${bestBatch.toFixed(1)}, one task per request ${bestSingle.toFixed(1)}\n`,
  );
  for (const pause of pauses) {
    const roundTrips: number[] = [];
    toPublish.length = 0;
    for (let i = 0; i < samples; i++) {
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      const s = performance.now();
      await http.send('POST', url, singleBody);
      roundTrips.push(performance.now() - s);
    }
    const rtt = percentiles(roundTrips);
    const pub = percentiles(toPublish);
    process.stdout.write(
      `one task per request, ${pause} ms pause before each (ms, p50 / p99): round trip ${rtt.p50} / ${rtt.p99}, arrival to publish ${pub.p50} / ${pub.p99}\n`,
    );
  }
} finally {
  http.close();
  server.close();
  await rt.plugins.close();
}
