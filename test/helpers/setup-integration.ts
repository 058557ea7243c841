/**
 * Vitest setup of the integration project: after a failed test, print what
 * the spawned services wrote; after each file, stop every service still
 * running and delete the file's topologies and temporary directories.
 * @module
 */
import { afterAll, afterEach } from 'vitest';
import { disposeAll, reportServiceOutput } from './stack.js';

afterEach(({ task }) => {
  if (task.result?.state === 'fail') reportServiceOutput();
});

afterAll(async () => {
  await disposeAll();
});
