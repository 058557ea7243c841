/**
 * The convict schema of every SJE setting. `config/default.yaml` mirrors it
 * and `docs/configuration.md` is generated from it (`pnpm docs:config`).
 * Every key can be overridden by an `SJE_*` environment variable named after
 * its path (`amqp.url` → `SJE_AMQP_URL`).
 * @module
 */

/** A plugin entry in the YAML: a package name or path, with its options. */
export interface PluginEntry {
  name: string;
  options?: Record<string, unknown>;
}

function isPluginList(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be a list of plugin entries');
  value.forEach((entry, i) => {
    const name = typeof entry === 'string' ? entry : (entry as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name.length === 0) throw new Error(`entry ${i} needs a 'name' (package name or path)`);
    const options = typeof entry === 'object' && entry !== null ? (entry as { options?: unknown }).options : undefined;
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      throw new Error(`entry ${i} ('${name}'): 'options' must be a mapping`);
    }
  });
}

function isStringList(value: unknown): void {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new Error('must be a list of non-empty strings');
  }
}

/** The schema, as convict takes it. */
export const configSchema = {
  amqp: {
    url: { doc: 'AMQP URL of RabbitMQ (amqp:// or amqps://).', format: String, default: 'amqp://guest:guest@127.0.0.1:5672', sensitive: true },
    heartbeat_s: { doc: 'AMQP heartbeat interval in seconds.', format: 'nat', default: 10 },
    reconnect_initial_ms: { doc: 'First delay before reconnecting to the broker.', format: 'nat', default: 100 },
    reconnect_max_ms: { doc: 'Largest delay between reconnection attempts.', format: 'nat', default: 5000 },
  },
  topology: {
    prefix: { doc: 'Prefix of every exchange and queue name; separate installations on one broker use different prefixes.', format: String, default: 'sje' },
    queue_type: { doc: 'Type of the durable queues: quorum (replicated, recommended) or classic (supports broker-side priorities).', format: ['quorum', 'classic'], default: 'quorum' },
    delivery_limit: { doc: 'Deliveries of one message before the broker dead-letters it (quorum queues).', format: 'nat', default: 20 },
  },
  log: {
    level: { doc: 'Log level.', format: ['error', 'warn', 'info', 'debug'], default: 'info' },
    format: { doc: 'json (one JSON object a line), pretty (readable), or auto (pretty on a TTY, else json).', format: ['auto', 'json', 'pretty'], default: 'auto' },
  },
  executor: {
    host: { doc: 'Address the REST API listens on.', format: String, default: '0.0.0.0' },
    port: { doc: 'Port of the REST API.', format: 'port', default: 8080 },
    body_limit: { doc: 'Largest request body accepted (bytes); larger → 413.', format: 'nat', default: 1_048_576 },
    max_batch: { doc: 'Most tasks in one POST /submit.', format: 'nat', default: 10_000 },
    publish_timeout_ms: { doc: 'How long /submit waits for the broker before answering 503.', format: 'nat', default: 5000 },
    query_timeout_ms: { doc: 'How long /status waits for the task-manager before answering 503.', format: 'nat', default: 3000 },
    retry_after_s: { doc: 'Retry-After sent with 503 answers.', format: 'nat', default: 1 },
    shutdown_grace_ms: { doc: 'On SIGTERM, how long in-flight requests may take to finish.', format: 'nat', default: 10_000 },
  },
  task_manager: {
    store: { doc: 'Task store: sqlite (embedded file, one task-manager) or postgres (shared server; allows a standby task-manager).', format: ['sqlite', 'postgres'], default: 'sqlite' },
    postgres_url: { doc: 'PostgreSQL connection string for store: postgres.', format: String, default: 'postgres://postgres@127.0.0.1:5432/postgres', sensitive: true },
    postgres_table_prefix: { doc: 'Prefix of the PostgreSQL table names (several installations in one database).', format: String, default: 'sje_' },
    data_dir: { doc: 'Directory of the embedded task store (SQLite file tasks.db).', format: String, default: './data' },
    ops_port: { doc: 'Port of /healthz, /readyz and /metrics of the task-manager (0: any free port).', format: 'port', default: 8081 },
    ops_host: { doc: 'Address of the task-manager ops endpoint.', format: String, default: '0.0.0.0' },
    prefetch: { doc: 'Commands and reports taken from the broker at once.', format: 'nat', default: 500 },
    worker_timeout_ms: { doc: 'A worker with no heartbeat for this long is lost; its running tasks are re-queued.', format: 'nat', default: 15_000 },
    max_deliveries: { doc: 'Times a task is handed to a worker that is then lost before it fails as poison.', format: 'nat', default: 5 },
    scheduler_tick_ms: { doc: 'Largest wait of the delay/backoff scheduler between checks.', format: 'nat', default: 1000 },
  },
  worker: {
    id: { doc: 'Worker id (default: host-pid-random).', format: String, default: '' },
    queues: { doc: 'Worker pools (task queues) this worker takes tasks from.', format: isStringList, default: ['default'] },
    concurrency: { doc: 'Tasks run at once (hard cap; prefetch matches it).', format: 'nat', default: 4 },
    handlers: { doc: 'Modules (package names or paths) whose exported handlers this worker registers.', format: isStringList, default: ['@sje/examples'] },
    heartbeat_ms: { doc: 'Interval of worker heartbeats.', format: 'nat', default: 2000 },
    grace_ms: { doc: 'On SIGTERM, how long running tasks may take before they are aborted and re-queued.', format: 'nat', default: 30_000 },
    ops_port: { doc: 'Port of /healthz, /readyz and /metrics of the worker (0: any free port).', format: 'port', default: 8082 },
    ops_host: { doc: 'Address of the worker ops endpoint.', format: String, default: '0.0.0.0' },
  },
  plugins: {
    doc: 'Plugins loaded by every service, in order: a list of { name, options }. Names are package names or paths.',
    format: isPluginList,
    default: [] as PluginEntry[],
  },
} as const;
