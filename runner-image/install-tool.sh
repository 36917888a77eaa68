#!/usr/bin/env bash
# install-tool.sh NAME [VERSIONS_FILE]
# Installs one tool pinned in versions.json for TARGETARCH (set by buildx): downloads the
# file, verifies its sha256 for this architecture, and only then unpacks it. Every
# download in the image goes through here.
set -euo pipefail

name="${1:?usage: install-tool.sh NAME [VERSIONS_FILE]}"
versions="${2:-/opt/mlabs/versions.json}"
arch="${TARGETARCH:?TARGETARCH is not set (buildx sets it; pass --build-arg TARGETARCH=amd64|arm64 otherwise)}"

tool="$(jq -e --arg n "$name" '.tools[$n]' "$versions")" || { echo "install-tool: $name is not in $versions" >&2; exit 1; }
version="$(jq -r '.version' <<<"$tool")"
upstream_arch="$(jq -er --arg a "$arch" '.arch[$a]' <<<"$tool")" || { echo "install-tool: $name has no build for $arch" >&2; exit 1; }
sha256="$(jq -er --arg a "$arch" '.sha256[$a]' <<<"$tool")" || { echo "install-tool: $name has no sha256 for $arch" >&2; exit 1; }
url="$(jq -r '.url' <<<"$tool")"
url="${url//\{version\}/$version}"
url="${url//\{arch\}/$upstream_arch}"
kind="$(jq -r '.install.type' <<<"$tool")"
bin_dir="${MLABS_BIN_DIR:-/usr/local/bin}"

if [[ ! "$sha256" =~ ^[0-9a-f]{64}$ ]] || [[ "$sha256" =~ ^0+$ ]]; then
  echo "install-tool: $name $version ($arch) has no real checksum in $versions; run runner-image/refresh-checksums.ts" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
file="$tmp/download"
echo "install-tool: $name $version for $arch from $url"
curl -fsSL --retry 5 --retry-all-errors --proto '=https' --tlsv1.2 -o "$file" "$url"
echo "$sha256  $file" | sha256sum --check --strict -

case "$kind" in
  binary)
    dest="$(jq -r '.install.path' <<<"$tool")"
    install -D -m 0755 "$file" "$dest"
    ;;
  tar)
    dir="$(jq -r '.install.dir' <<<"$tool")"
    strip="$(jq -r '.install.strip // 0' <<<"$tool")"
    mkdir -p "$dir"
    tar -xf "$file" -C "$dir" --strip-components="$strip" --no-same-owner
    ;;
  zip)
    dir="$(jq -r '.install.dir' <<<"$tool")"
    mkdir -p "$dir"
    unzip -q -o "$file" -d "$dir"
    ;;
  *)
    echo "install-tool: unknown install type $kind for $name" >&2
    exit 1
    ;;
esac

if [[ "$kind" != binary ]]; then
  while IFS= read -r link; do
    [[ -n "$link" ]] || continue
    mkdir -p "$bin_dir" && ln -sf "$dir/$link" "$bin_dir/$(basename "$link")"
  done < <(jq -r '.install.links[]?' <<<"$tool")
fi
echo "install-tool: $name $version installed"
