#!/usr/bin/env bash
# Builds what the web pages need from npm (chart library), once; nothing to do if no page
# declares npm packages yet or they are already installed.
set -euo pipefail
web=agent_desktop_api/web
[[ -f $web/package.json ]] || exit 0
if [[ ! -d $web/node_modules || $web/package.json -nt $web/node_modules ]]; then
  (cd $web && npm install --no-audit --no-fund --loglevel=error)
  touch $web/node_modules
fi
