import type { ConsumerHandle } from '@sje/core';

/**
 * Pauses and resumes a set of consumers, one change at a time: calls are
 * coalesced into the last wanted state, so a burst of pause/resume never
 * leaves a consumer doubled or stuck.
 */
export class ConsumerSwitch {
  private wanted: boolean;
  private applied: boolean;
  private running: Promise<void> | undefined;
  private locked = false;

  /**
   * @param handles - the consumers to switch.
   * @param initiallyOn - whether they consume now.
   * @param onError - told about a failed pause or resume (the switch carries on).
   */
  constructor(
    private readonly handles: ConsumerHandle[],
    initiallyOn: boolean,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.wanted = initiallyOn;
    this.applied = initiallyOn;
  }

  /** Whether the consumers are wanted on. */
  get on(): boolean {
    return this.wanted;
  }

  /** Wants the consumers on (`true`) or paused (`false`); ignored once {@link lockOff} was called. */
  set(on: boolean): Promise<void> {
    if (this.locked) on = false;
    this.wanted = on;
    return this.settle();
  }

  /** Pauses the consumers for good (shutdown). */
  lockOff(): Promise<void> {
    this.locked = true;
    return this.set(false);
  }

  /** Resolves once the applied state matches the wanted one. */
  settle(): Promise<void> {
    if (this.running) return this.running;
    if (this.applied === this.wanted) return Promise.resolve();
    this.running = this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.applied !== this.wanted) {
      const target = this.wanted;
      try {
        await Promise.all(this.handles.map((h) => (target ? h.resume() : h.pause())));
      } catch (err) {
        this.onError(err);
      }
      this.applied = target;
    }
    // Cleared in the same turn as the last check: a later set() starts a new loop.
    this.running = undefined;
  }
}
