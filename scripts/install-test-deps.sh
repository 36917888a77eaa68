#!/usr/bin/env bash
# Installs what the tests need on a fresh machine: the npm packages (npm ci) and the
# Debian packages of the real tools some tests drive (an OCI registry and skopeo; awscli and
# rclone against the sandbox's MinIO stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

need=()
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
# Debian's own builds, at /usr/bin (the tests call them there: another aws on PATH may be a different major version).
[ -x /usr/bin/aws ] || need+=(awscli)
[ -x /usr/bin/rclone ] || need+=(rclone)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "Installing Debian packages for the tests: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

for tool in gcloud kubectl gke-gcloud-auth-plugin terraform openssl skopeo; do
  command -v "$tool" >/dev/null 2>&1 || echo "warning: $tool is not on PATH; the tests that drive it will fail" >&2
done
