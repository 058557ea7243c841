#!/usr/bin/env bash
# Installs what SJE needs on a fresh machine: the pinned pnpm and the
# workspace's dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PNPM_VERSION=12.21.0
[ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ] || npm install -g "pnpm@$PNPM_VERSION"
# better-sqlite3 compiles from source when no prebuilt binary can be fetched:
# point node-gyp at the installed Node headers when they are there.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
pnpm install --frozen-lockfile
