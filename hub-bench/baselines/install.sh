#!/usr/bin/env bash
# Installs the Node.js baseline's dependencies (ws, pinned in package-lock.json) for the load
# generator's node target and compare mode. Needs node >= 18 and npm. Re-running is harmless.
set -euo pipefail
cd "$(dirname "$0")/node-relay"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install.sh: node and npm are needed (e.g. apt-get install nodejs npm); the load generator" >&2
  echo "skips the Node baseline without them." >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
echo "Node relay ready: $(node --version), ws $(node -p "require('ws/package.json').version")"
