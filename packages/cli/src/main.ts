/**
 * Entry point of the `sje` command (`bin/sje.mjs`, or `tsx packages/cli/src/main.ts`).
 */
import { defaultDeps, runCli } from './program.js';

process.exitCode = await runCli(process.argv, defaultDeps());
