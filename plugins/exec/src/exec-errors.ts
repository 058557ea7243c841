/**
 * The error codes of the `exec` plugin. They travel in a task's `error.code`;
 * match on them, never on message text.
 * @module
 */

/**
 * Codes of the errors the `exec` handler raises. Refusals of the task's
 * params are `NonRetryableError`s (`retryable: false`): the same params would
 * be refused again. A failed, timed-out or unstartable run is retryable, so a
 * task's retry policy decides.
 * @example
 * ```ts
 * if (serialized.code === ExecErrorCode.EXIT) console.log(serialized.data?.exit_code);
 * ```
 */
export const ExecErrorCode = {
  /** `params` is not an object, has an unknown key, or a field of the wrong type. Not retryable. */
  INVALID_PARAMS: 'SJE_ERR_EXEC_INVALID_PARAMS',
  /** `command` is not a key of the configured `commands`. Not retryable. */
  COMMAND_NOT_ALLOWED: 'SJE_ERR_EXEC_COMMAND_NOT_ALLOWED',
  /** `args` is not a list of strings within the limits (count, length, no NUL). Not retryable. */
  INVALID_ARGS: 'SJE_ERR_EXEC_INVALID_ARGS',
  /** `cwd` leaves the task's working directory (`..`, absolute, or a symlink resolving outside). Not retryable. */
  PATH_ESCAPE: 'SJE_ERR_EXEC_PATH_ESCAPE',
  /** `env` names a variable that `env_allow_params` does not list, or has a bad value. Not retryable. */
  ENV_NOT_ALLOWED: 'SJE_ERR_EXEC_ENV_NOT_ALLOWED',
  /** The program exited with a non-zero status or was killed by a signal. Retryable. */
  EXIT: 'SJE_ERR_EXEC_EXIT',
  /** The command's own `timeout_ms` passed; its process group was stopped. Retryable. */
  TIMEOUT: 'SJE_ERR_EXEC_TIMEOUT',
  /** The program could not be started on this worker (missing, not executable). Retryable. */
  SPAWN: 'SJE_ERR_EXEC_SPAWN',
  /** The task's working directory could not be created (permissions, disk full). Retryable. */
  WORKDIR: 'SJE_ERR_EXEC_WORKDIR',
} as const;

/** One of the codes of {@link ExecErrorCode}. */
export type ExecErrorCode = (typeof ExecErrorCode)[keyof typeof ExecErrorCode];
