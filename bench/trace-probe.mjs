/**
 * `pnpm bench:trace --processes`: loaded into each service with
 * `node --import`, it notes when the process hands a message to amqplib
 * (`publish`), when amqplib hands one to the process (`deliver`) and when an
 * HTTP request arrives (`request`), each with the wall-clock time in
 * milliseconds (comparable between processes of one machine), the message's
 * `type`, `status` and first `task_id`. Lines go, tab-separated, to the file
 * `BENCH_TRACE_PROBE_FILE` names, every 200 ms. Bench-only: it wraps two
 * methods of amqplib's channel, which are not part of its public API.
 */
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

const file = process.env.BENCH_TRACE_PROBE_FILE;
if (file) {
  // amqplib as @sje/core resolves it: the same module, so the services' channels are the ones changed here.
  const require = createRequire(new URL('../packages/core/package.json', import.meta.url));
  // Its package exports name no inner files: the file is found beside the package's main one.
  const { Channel, BaseChannel } = require(join(dirname(require.resolve('amqplib')), 'lib', 'channel.js'));
  const lines = [];
  const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
  /** The message's `type`, `status` and first `task_id`, from the start of its JSON. */
  const describe = (content) => {
    const head = content ? content.toString('latin1', 0, Math.min(content.length, 600)) : '';
    return ['type', 'status', 'task_id'].map((field) => new RegExp(`"${field}":"([^"]+)"`).exec(head)?.[1] ?? '');
  };
  const sendMessage = Channel.prototype.sendMessage;
  Channel.prototype.sendMessage = function (fields, properties, content) {
    lines.push(['publish', now(), ...describe(content)].join('\t'));
    return sendMessage.call(this, fields, properties, content);
  };
  const dispatchMessage = BaseChannel.prototype.dispatchMessage;
  BaseChannel.prototype.dispatchMessage = function (fields, message) {
    if (message) lines.push(['deliver', now(), ...describe(message.content)].join('\t'));
    return dispatchMessage.call(this, fields, message);
  };
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, req) {
    if (event === 'request') lines.push(['request', now(), `${req.method} ${req.url}`, '', ''].join('\t'));
    return emit.apply(this, arguments);
  };
  const flush = () => {
    if (lines.length === 0) return;
    appendFileSync(file, `${lines.join('\n')}\n`);
    lines.length = 0;
  };
  setInterval(flush, 200).unref();
  process.on('exit', flush);
}
