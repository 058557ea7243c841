/**
 * The part of a worker's task context the example handlers use. Declared
 * structurally so the examples depend on `@sje/core` only; the worker's
 * `TaskContext` satisfies it.
 */
export interface ExampleContext {
  /** Fired when the run is cancelled, times out or the worker shuts down. */
  readonly signal: AbortSignal;
  /** Reports progress, 0-100. */
  progress(pct: number): void;
  /** Results of the task's direct dependencies, keyed by task id, in `depends_on` order. */
  readonly dependencies?: Readonly<Record<string, unknown>>;
}
