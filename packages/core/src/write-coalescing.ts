/**
 * One socket write per event-loop turn instead of one per AMQP frame: the
 * client library writes every frame (method, header, body, ack) on its own,
 * and on a busy service those small writes — each a system call and a TCP
 * segment the broker must read — cost more than the work they carry.
 * @module
 */
import type { Writable } from 'node:stream';

/**
 * Corks `stream` at its first write in a turn and uncorks it on the next
 * tick, so everything written in between leaves as one `writev`. Frames keep
 * their order; nothing waits for a timer.
 */
export function coalesceWrites(stream: Writable): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]) => {
    if (!corked && !stream.destroyed) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Writable['write'];
}
