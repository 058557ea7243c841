/**
 * How far a worker took in the `assign` messages of a task-manager process:
 * the mark its heartbeats carry, which confirms every assignment up to it.
 * It moves only over assigns taken in without a gap, so an assign lost on
 * the way (with the worker's control queue, in a broker restart) is never
 * confirmed by a later one: the task-manager hands its tasks on, and
 * confirms the later ones by the leases the heartbeats list.
 */
import type { AssignCommand, AssignmentMark } from '@sje/core';

/** The mark after taking in `msg`, from the mark before it (none: nothing taken in yet). */
export function nextAssignMark(mark: AssignmentMark | undefined, msg: Pick<AssignCommand, 'epoch' | 'seq' | 'base'>): AssignmentMark {
  const ours = mark?.epoch === msg.epoch ? mark : undefined;
  if (msg.base === undefined) {
    // A task-manager of an earlier version: the highest seq seen.
    return ours !== undefined && ours.seq >= msg.seq ? ours : { epoch: msg.epoch, seq: msg.seq };
  }
  // A new run of the sequence starts after everything before its base.
  const upTo = Math.max(ours?.seq ?? 0, msg.base - 1);
  const seq = msg.seq === upTo + 1 ? msg.seq : upTo;
  return ours?.seq === seq ? ours : { epoch: msg.epoch, seq };
}
