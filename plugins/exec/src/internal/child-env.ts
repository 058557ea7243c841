/**
 * The environment of a run: nothing of the worker's own environment but the
 * variables `env_allow` names, then the fixed `env`, then what the task set
 * (only names `env_allow_params` lists; checked with the params).
 */
import type { ExecOptions } from '../exec-options.js';

/**
 * Builds a run's environment from scratch.
 * @example
 * ```ts
 * buildChildEnv({ env_allow: ['PATH'], env: { OMP_NUM_THREADS: '4' } }, {}, process.env);
 * // { PATH: '/usr/bin:/bin', OMP_NUM_THREADS: '4' }
 * ```
 */
export function buildChildEnv(
  options: Pick<ExecOptions, 'env_allow' | 'env'>,
  fromTask: Readonly<Record<string, string>>,
  workerEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of options.env_allow) {
    const value = workerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env, fromTask);
  return env;
}
