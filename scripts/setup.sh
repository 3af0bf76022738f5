#!/usr/bin/env bash
# Installs what a fresh machine lacks to build sluice: cmake (Pingora's zlib-ng build needs it);
# with the argument `test`, also redis-server (the shared-limits end-to-end tests run a real one),
# postgresql (the store tests start a throwaway cluster), chromium and chromium-driver (the
# admin page is tested in a real headless browser) and npm (test.sh installs Claude Code with
# it, for the Claude Code end-to-end tests).
# Run by demo.sh and (with `test`) test.sh; safe to run again.
set -euo pipefail
missing=()
if ! command -v cmake >/dev/null 2>&1; then
  echo "setup: installing cmake (needed by Pingora's zlib-ng build)" >&2
  missing+=(cmake)
fi
if [ "${1:-}" = "test" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: installing redis-server (the shared-limits tests run one)" >&2
  missing+=(redis-server)
fi
if [ "${1:-}" = "test" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "setup: installing postgresql (the store tests start a throwaway cluster)" >&2
  missing+=(postgresql)
fi
if [ "${1:-}" = "test" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (the admin page is tested in it)" >&2
  missing+=(chromium)
fi
if [ "${1:-}" = "test" ] && ! command -v chromedriver >/dev/null 2>&1; then
  echo "setup: installing chromium-driver (Selenium drives chromium through it)" >&2
  missing+=(chromium-driver)
fi
if [ "${1:-}" = "test" ] && ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing npm (test.sh installs Claude Code with it)" >&2
  missing+=(npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
