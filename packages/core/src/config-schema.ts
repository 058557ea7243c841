/**
 * The convict schema of every SJE setting. `config/default.yaml` mirrors it
 * and `docs/configuration.md` is generated from it (`pnpm docs:config`).
 * Every key can be overridden by an `SJE_*` environment variable named after
 * its path (`amqp.url` → `SJE_AMQP_URL`).
 * @module
 */
import { SERVER_KEEP_ALIVE_TIMEOUT_MS } from './http-keep-alive.js';

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

const isSqlitePageSize = named('power of two, 512-65536', (value: unknown): void => {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= 512 && value <= 65536 && (value & (value - 1)) === 0;
  if (!ok) throw new Error('must be a power of two from 512 to 65536');
});

function isStringList(value: unknown): void {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new Error('must be a list of non-empty strings');
  }
}

/** The scopes an API key can hold (`admin` implies every other and sees every tenant). */
export const API_KEY_SCOPES = ['submit', 'read', 'cancel', 'admin'] as const;

/** One of {@link API_KEY_SCOPES}. */
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * An API key of the executor, as configured. Exactly one of `key_sha256`,
 * `key_file` and `key_env` says where the key is; the key itself is never
 * written in the configuration.
 */
export interface ApiKeyEntry {
  /** Name of the key, shown in logs and metrics instead of the key. */
  id: string;
  /** Lower-case hex SHA-256 of the key. */
  key_sha256?: string;
  /** A file holding the key (surrounding white space ignored). */
  key_file?: string;
  /** An environment variable holding the key. */
  key_env?: string;
  /** What the key may do. */
  scopes: ApiKeyScope[];
  /** The tenant whose tasks the key sees and submits; optional only for `admin` keys. */
  tenant?: string;
}

/** Pattern of API key ids and tenant names. */
export const NAME_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

/** A format function with a human name for the docs. */
function named<T extends (value: unknown) => void>(typeName: string, fn: T): T & { typeName: string } {
  return Object.assign(fn, { typeName });
}

const isApiKeyList = named('list of API keys', (value: unknown): void => {
  if (!Array.isArray(value)) throw new Error('must be a list of { id, key_sha256 | key_file | key_env, scopes, tenant }');
  const ids = new Set<string>();
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`entry ${i} must be a mapping`);
    const e = entry as Record<string, unknown>;
    const id = e['id'];
    if (typeof id !== 'string' || !NAME_PATTERN.test(id)) throw new Error(`entry ${i} needs an 'id' of 1-100 characters of [A-Za-z0-9._:-]`);
    if (ids.has(id)) throw new Error(`key id '${id}' appears twice`);
    ids.add(id);
    for (const k of Object.keys(e)) {
      if (!['id', 'key_sha256', 'key_file', 'key_env', 'scopes', 'tenant'].includes(k)) throw new Error(`key '${id}': unknown field '${k}'`);
    }
    const sources = ['key_sha256', 'key_file', 'key_env'].filter((k) => e[k] !== undefined);
    if (sources.length !== 1) throw new Error(`key '${id}' needs exactly one of key_sha256, key_file, key_env`);
    if (e['key_sha256'] !== undefined && (typeof e['key_sha256'] !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e['key_sha256']))) {
      throw new Error(`key '${id}': key_sha256 must be 64 hex digits (the SHA-256 of the key)`);
    }
    for (const k of ['key_file', 'key_env']) {
      if (e[k] !== undefined && (typeof e[k] !== 'string' || e[k] === '')) throw new Error(`key '${id}': ${k} must be a non-empty string`);
    }
    const scopes = e['scopes'];
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((sc) => !(API_KEY_SCOPES as readonly unknown[]).includes(sc))) {
      throw new Error(`key '${id}': scopes must be a non-empty list of ${API_KEY_SCOPES.join(', ')}`);
    }
    const tenant = e['tenant'];
    if (tenant !== undefined && (typeof tenant !== 'string' || !NAME_PATTERN.test(tenant))) {
      throw new Error(`key '${id}': tenant must be 1-100 characters of [A-Za-z0-9._:-]`);
    }
    if (tenant === undefined && !scopes.includes('admin')) throw new Error(`key '${id}' needs a tenant (only admin keys may have none)`);
  });
});

const isHttpUrlList = named('list of http(s) URLs', (value: unknown): void => {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !/^https?:\/\/[^\s/]+/i.test(v))) throw new Error('must be a list of http:// or https:// base URLs');
});

const isNonNegativeNumber = named('number ≥ 0', (value: unknown): void => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error('must be a number ≥ 0');
});

/** The schema, as convict takes it. */
export const configSchema = {
  amqp: {
    url: { doc: 'AMQP URL of RabbitMQ (amqp:// or amqps://).', format: String, default: 'amqp://guest:guest@127.0.0.1:5672', sensitive: true },
    heartbeat_s: { doc: 'AMQP heartbeat interval in seconds.', format: 'nat', default: 10 },
    reconnect_initial_ms: { doc: 'First delay before reconnecting to the broker.', format: 'nat', default: 100 },
    reconnect_max_ms: { doc: 'Largest delay between reconnection attempts.', format: 'nat', default: 5000 },
    url_file: { doc: 'A file holding the AMQP URL (with its credentials); when set it replaces amqp.url. Read at start-up.', format: String, default: '' },
    tls: {
      ca_file: { doc: 'PEM file of the CA(s) that signed the broker certificate (amqps:// URLs); empty: the system CAs.', format: String, default: '' },
      cert_file: { doc: 'PEM client certificate, for brokers that authenticate clients by certificate.', format: String, default: '' },
      key_file: { doc: 'PEM private key of cert_file.', format: String, default: '' },
      passphrase_env: { doc: 'Environment variable holding the passphrase of key_file, if it is encrypted.', format: String, default: '' },
      servername: { doc: 'Server name to check the broker certificate against (SNI); empty: the URL host.', format: String, default: '' },
      reject_unauthorized: { doc: 'Refuse a broker certificate that does not verify. Turn off only to debug.', format: Boolean, default: true },
    },
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
    keep_alive_timeout_ms: {
      doc: 'How long an idle keep-alive connection to the REST API stays open. Longer than the idle timeout of the clients and load balancers in front (60 s for many), so the executor never closes a connection while a client reuses it.',
      format: 'nat',
      default: SERVER_KEEP_ALIVE_TIMEOUT_MS,
    },
    task_manager_urls: {
      doc: 'Base URLs of the task-managers\' ops endpoints (GET /tasks/:id), in order of preference: /status reads a task from the first that answers within 1 s (the active task-manager; a standby answers 503), before the broker query or as its fallback (see status_reads). Empty: never.',
      format: isHttpUrlList,
      default: ['http://127.0.0.1:8081'],
    },
    status_reads: {
      doc: 'Where /status reads a task first: store_first (the task store itself, once the active task-manager\'s ops endpoint has named it and what this executor reaches holds the store id it named: the SQLite file, read-only, when this host can open it, or the PostgreSQL tables through this executor\'s own task_manager.postgres_url; otherwise as ops_first), ops_first (the task-managers\' ops endpoints over keep-alive HTTP, the broker query when none answers) or broker_first (the query over RabbitMQ, the ops endpoints only when the broker is away or the query times out).',
      format: ['store_first', 'ops_first', 'broker_first'],
      default: 'store_first',
    },
    tls: {
      cert_file: { doc: 'PEM certificate (chain) of the REST API; with key_file set, the executor serves HTTPS only.', format: String, default: '' },
      key_file: { doc: 'PEM private key of the REST API certificate.', format: String, default: '' },
    },
  },
  task_manager: {
    store: { doc: 'Task store: sqlite (embedded file, one task-manager) or postgres (shared server; allows a standby task-manager).', format: ['sqlite', 'postgres'], default: 'sqlite' },
    postgres_url: { doc: 'PostgreSQL connection string for store: postgres.', format: String, default: 'postgres://postgres@127.0.0.1:5432/postgres', sensitive: true },
    postgres_table_prefix: { doc: 'Prefix of the PostgreSQL table names (several installations in one database).', format: String, default: 'sje_' },
    data_dir: { doc: 'Directory of the embedded task store (SQLite file tasks.db).', format: String, default: './data' },
    sqlite_page_size: {
      doc: 'Page size in bytes of a new embedded task store (a power of two, 512-65536); a file that exists keeps its own.',
      format: isSqlitePageSize,
      default: 4096,
    },
    sqlite_checkpoint_ms: {
      doc: "Time between two checkpoints of the embedded store's write-ahead log by a thread of its own, so that commits do not wait for one (0: SQLite checkpoints inside the commits).",
      format: 'nat',
      default: 100,
    },
    ops_port: { doc: 'Port of /healthz, /readyz and /metrics of the task-manager (0: any free port).', format: 'port', default: 8081 },
    ops_host: { doc: 'Address of the task-manager ops endpoint.', format: String, default: '0.0.0.0' },
    prefetch: { doc: 'Commands and reports taken from the broker at once.', format: 'nat', default: 500 },
    worker_timeout_ms: { doc: 'A worker with no heartbeat for this long is lost; its running tasks are re-queued.', format: 'nat', default: 15_000 },
    assign_at_idle: {
      doc: "Hands a due task straight to a worker of its pool with a free slot (already granted: no claim, no pool queue write) while nothing waits in the pool's queue; off, every task goes through the queue and a claim.",
      format: Boolean,
      default: true,
    },
    hold_limit: {
      doc: "Due tasks the task-manager holds itself when its pool's workers have no free slot, each handed to the first worker whose slot frees (no pool queue write, no claim); past this many held tasks, or with 0, they wait in the pool's queue instead. Needs assign_at_idle.",
      format: 'nat',
      default: 100_000,
    },
    max_deliveries: { doc: 'Times a task is handed to a worker that is then lost before it fails as poison.', format: 'nat', default: 5 },
    scheduler_tick_ms: { doc: 'Largest wait of the delay/backoff scheduler between checks.', format: 'nat', default: 1000 },
    record_cache_size: {
      doc: 'Records of live (not yet final) tasks the command loop keeps in memory after committing them, so claims and outcomes need not read them back (0: none).',
      format: 'nat',
      default: 20000,
    },
  },
  worker: {
    id: { doc: 'Worker id (default: host-pid-random).', format: String, default: '' },
    queues: { doc: 'Worker pools (task queues) this worker takes tasks from.', format: isStringList, default: ['default'] },
    concurrency: { doc: 'Tasks run at once (hard cap; the task-queue prefetch is sized from it).', format: 'nat', default: 4 },
    handlers: { doc: 'Modules (package names or paths) whose exported handlers this worker registers.', format: isStringList, default: ['@sje/examples'] },
    heartbeat_ms: { doc: 'Interval of worker heartbeats.', format: 'nat', default: 2000 },
    grace_ms: { doc: 'On SIGTERM, how long running tasks may take before they are aborted and re-queued.', format: 'nat', default: 30_000 },
    ops_port: { doc: 'Port of /healthz, /readyz and /metrics of the worker (0: any free port).', format: 'port', default: 8082 },
    ops_host: { doc: 'Address of the worker ops endpoint.', format: String, default: '0.0.0.0' },
    max_result_bytes: { doc: 'Largest task result (bytes of JSON); a larger one fails the task with SJE_ERR_RESULT_TOO_LARGE, never cut.', format: 'nat', default: 1_048_576 },
    report_receipts: {
      doc: "At idle (no other report message of this worker awaiting its confirm), sends a run's report transient on the claims queue and lets go of it once the task-manager answers that it is stored (no quorum write between a run's end and its state event); without an answer within 1 s it is sent the durable way. Off: every report goes through the durable commands queue.",
      format: Boolean,
      default: true,
    },
  },
  security: {
    auth: {
      doc: 'REST API authentication: keys (Authorization: Bearer <key>, refuse to start without keys), none (open API), or auto (keys when any is configured, else none with a warning).',
      format: ['auto', 'keys', 'none'],
      default: 'auto',
    },
    api_keys: {
      doc: 'API keys of the REST API: a list of { id, key_sha256 | key_file | key_env, scopes: [submit, read, cancel, admin], tenant }. Only the key id is ever logged.',
      format: isApiKeyList,
      default: [] as ApiKeyEntry[],
      sensitive: true,
    },
    metrics_open: { doc: "The executor's GET /metrics answers without a key; when false it needs an API key or the ops token.", format: Boolean, default: true },
    max_params_bytes: { doc: 'Largest params of one task (bytes of JSON); larger → 413 naming the task.', format: 'nat', default: 262_144 },
    rate_limit: {
      per_second: { doc: 'POST /submit requests per second allowed per API key (token bucket, per executor replica); 0: no limit.', format: isNonNegativeNumber, default: 0 },
      burst: { doc: 'Requests a key may send at once before the rate applies; 0: max(1, per_second).', format: 'nat', default: 0 },
    },
    strict_functions: { doc: "Refuse (400) a submit whose function no worker of the task's queue has registered.", format: Boolean, default: false },
    functions_cache_ms: { doc: 'How long the executor reuses the list of registered functions (security.strict_functions).', format: 'nat', default: 5000 },
    ops_token: {
      doc: 'When set, the ops endpoints (all but /healthz and /readyz) of the task-manager and workers require Authorization: Bearer <ops_token>.',
      format: String,
      default: '',
      sensitive: true,
    },
  },
  workflows: {
    doc: 'Workflow templates, by name: { description?, params? (defaults), tasks: [task specs whose strings may hold ${params.x} placeholders] }. Submitted with POST /submit { "workflow": name, "params": {...} }; checked at executor start-up.',
    // A plain mapping for convict (so it is not read as nested keys); the executor checks each template at start-up.
    format: Object,
    default: {} as Record<string, unknown>,
  },
  plugins: {
    doc: 'Plugins loaded by every service, in order: a list of { name, options }. Names are package names or paths.',
    format: isPluginList,
    default: [] as PluginEntry[],
  },
} as const;
