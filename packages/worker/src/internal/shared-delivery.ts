/**
 * One delivery, several tasks: a `dispatches` message is acknowledged or
 * requeued once, when every task in it is settled.
 */

/** How one task of a delivery ended on this worker, as far as the delivery is concerned. */
export type PartOutcome =
  /** Its claim was answered (granted or refused), or it was a duplicate: the broker may forget it. */
  | 'done'
  /** This worker gives it back unclaimed (shutdown, claim given up): another worker must get it. */
  | 'give-back';

/** One task's share of a delivery. */
export interface DeliveryPart {
  /** Settles this share; later calls are ignored. */
  settle(outcome: PartOutcome): void;
  /** Whether this share is settled. */
  readonly settled: boolean;
}

/**
 * Splits a delivery into `count` parts. When the last part settles, `finish`
 * is called once: with `false` (acknowledge) when every part is `done`, with
 * `true` (requeue the whole delivery) when any part was given back. A
 * requeued group is safe: the task-manager refuses a claim for a lease that
 * is already granted or stale, so the tasks that did start here are not run
 * again by the worker that gets the group next.
 * @param count - tasks in the delivery (at least 1).
 * @param finish - acknowledges (`false`) or requeues (`true`) the delivery.
 */
export function shareDelivery(count: number, finish: (requeue: boolean) => void): DeliveryPart[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`a delivery holds at least one task, got ${count}`);
  let open = count;
  let giveBack = false;
  const settleOne = (outcome: PartOutcome): void => {
    if (outcome === 'give-back') giveBack = true;
    open -= 1;
    if (open === 0) finish(giveBack);
  };
  return Array.from({ length: count }, () => {
    let settled = false;
    return {
      get settled() {
        return settled;
      },
      settle(outcome: PartOutcome) {
        if (settled) return;
        settled = true;
        settleOne(outcome);
      },
    };
  });
}
