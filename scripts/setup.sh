#!/usr/bin/env bash
# Installs what a fresh machine lacks to build sluice: cmake (Pingora's zlib-ng build needs it).
# Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail
if ! command -v cmake >/dev/null 2>&1; then
  echo "setup: installing cmake (needed by Pingora's zlib-ng build)" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq cmake >/dev/null
fi
