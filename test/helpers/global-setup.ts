/**
 * Vitest global setup: finds the test broker once for the whole run. When it
 * had to start a container, every test process gets its URL through
 * `AMQP_URL`, and the container is stopped at the end. When there is no
 * broker at all, nothing fails here: tests that need one fail fast with the
 * explanation from `getBrokerUrl()`, the others still run.
 * @module
 */
import { resolveBroker, type ResolvedBroker } from './broker.js';

/** Resolves the broker; returns the teardown that stops a started container. */
export default async function setup(): Promise<() => Promise<void>> {
  let broker: ResolvedBroker | undefined;
  try {
    broker = await resolveBroker();
  } catch {
    broker = undefined;
  }
  if (broker?.source === 'container') process.env['AMQP_URL'] = broker.url;
  return async () => {
    await broker?.stop();
  };
}
