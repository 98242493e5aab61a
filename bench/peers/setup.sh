#!/usr/bin/env bash
# Installs the peers the bench compares against, outside the project's dependencies:
# serverless v3 + serverless-offline into bench/peers/node_modules (from its own lockfile),
# and Debian's pushpin (with zurl) where missing. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
if ! command -v pushpin >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pushpin
fi
echo "peers ready: serverless $(node -p "require('./node_modules/serverless/package.json').version"), serverless-offline $(node -p "require('./node_modules/serverless-offline/package.json').version"), $(pushpin --version 2>/dev/null | head -1)"
