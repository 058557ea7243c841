/**
 * The least-privilege RabbitMQ permissions of each SJE service, as
 * `docs/security.md` gives them: `rabbitmqctl set_permissions` regexes
 * (configure, write, read) derived from the installation's topology prefix.
 * The security tests create users with exactly these and run the services
 * on them.
 *
 * @example
 * ```ts
 * const p = brokerPermissions('sje');
 * // rabbitmqctl set_permissions -p sje sje-worker "${p.worker.configure}" "${p.worker.write}" "${p.worker.read}"
 * ```
 * @module
 */

/** The three regexes of one user. */
export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

/** Who connects to the broker. */
export type BrokerUser = 'executor' | 'task-manager' | 'worker' | 'events-subscriber';

/** Escapes a prefix for use in a regex. */
function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The permissions of every kind of user of the installation with topology prefix `prefix`. */
export function brokerPermissions(prefix: string): Record<BrokerUser, Permissions> {
  const p = esc(prefix);
  // Every service declares the shared topology on each (re)connect.
  const shared = `${p}\\.(commands|tasks|events|control|dead-letter|task-manager\\.(commands|workers|claims|queries))`;
  const tmQueues = `${p}\\.task-manager\\.(commands|workers|claims|queries)`;
  return {
    executor: {
      configure: `^${shared}$`,
      write: `^(${p}\\.(commands|dead-letter)|${tmQueues})$`,
      read: `^(${p}\\.(commands|dead-letter)|amq\\.rabbitmq\\.reply-to)$`,
    },
    'task-manager': {
      configure: `^(${shared}|${p}\\.tasks\\..+)$`,
      write: `^(${p}\\.(tasks|events|control|dead-letter)|${tmQueues}|${p}\\.tasks\\..+|amq\\.default)$`,
      read: `^(${p}\\.(commands|tasks|dead-letter)|${tmQueues})$`,
    },
    worker: {
      configure: `^(${shared}|${p}\\.tasks\\..+|${p}\\.worker\\..+\\.control)$`,
      write: `^(${p}\\.(commands|dead-letter)|${tmQueues}|${p}\\.tasks\\..+|${p}\\.worker\\..+\\.control)$`,
      read: `^(${p}\\.(commands|tasks|control|dead-letter)|${p}\\.tasks\\..+|${p}\\.worker\\..+\\.control)$`,
    },
    'events-subscriber': {
      configure: '^amq\\.gen-.*$',
      write: '^amq\\.gen-.*$',
      read: `^(amq\\.gen-.*|${p}\\.events)$`,
    },
  };
}
