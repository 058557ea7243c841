/**
 * Writes docs/configuration.md from core's configuration schema
 * (`pnpm docs:config`). A unit test in packages/cli fails when the committed
 * file differs from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc } from '../packages/cli/src/config-docs.js';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigurationDoc());
process.stdout.write(`wrote ${target}\n`);
