#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium (apt, when missing) and playwright-core from
# package.json (npm ci, with Azurite). Tests find the browser through ENGAGEMENT_CHROMIUM or `chromium` on
# PATH. Idempotent; a warm run takes under a second.
#
#   bash scripts/test-setup.d/chromium.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version

[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
node -e "require('playwright-core'); console.log('playwright-core ' + require('playwright-core/package.json').version)"
