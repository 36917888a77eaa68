#!/usr/bin/env bash
# mlabs-runner entrypoint: registers one ephemeral just-in-time runner, runs it for one job,
# and removes the registration on exit (also when stopped before a job arrived).
#
# Environment:
#   RUNNER_TOKEN      token that may manage self-hosted runners (repository administration or
#                     organisation self-hosted-runners write). Read once, never printed, never
#                     passed on to the runner or its jobs.
#   RUNNER_SCOPE      owner/repo for a repository runner, or org for an organisation runner.
#   MLABS_MACHINE     wsl2, dgx or agx: the machine label jobs route by.
#   RUNNER_NAME       default <machine>-<hostname>-<random>.
#   RUNNER_GROUP_ID   default 1 (Default group).
#   RUNNER_EXTRA_LABELS  comma-separated extra labels.
#   GITHUB_API_URL    default https://api.github.com (GitHub Enterprise: https://HOST/api/v3).
#   RUNNER_HOME       default /opt/actions-runner.
set -euo pipefail
set +x  # never trace: the token is in a variable

log() { printf 'mlabs-runner: %s\n' "$*" >&2; }
die() { log "$*"; exit 64; }

token="${RUNNER_TOKEN:-}"
unset RUNNER_TOKEN
[[ -n "$token" ]] || die "RUNNER_TOKEN is empty: give a token that may register self-hosted runners."
scope="${RUNNER_SCOPE:-}"
machine="${MLABS_MACHINE:-}"
api="${GITHUB_API_URL:-https://api.github.com}"
api="${api%/}"
home="${RUNNER_HOME:-/opt/actions-runner}"
group="${RUNNER_GROUP_ID:-1}"

case "$machine" in
  wsl2|dgx|agx) ;;
  *) die "MLABS_MACHINE is '${machine}': expected wsl2, dgx or agx." ;;
esac
if [[ "$scope" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
  base="repos/$scope"
elif [[ "$scope" =~ ^[A-Za-z0-9_.-]+$ ]]; then
  base="orgs/$scope"
else
  die "RUNNER_SCOPE is '${scope}': expected owner/repo or an organisation name."
fi
[[ "$group" =~ ^[0-9]+$ ]] || die "RUNNER_GROUP_ID is '${group}': expected a number."

case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported machine architecture $(uname -m)" ;;
esac
name="${RUNNER_NAME:-${machine}-$(hostname)-${RANDOM}}"

labels=(self-hosted linux "$arch" "$machine")
IFS=',' read -r -a extra <<<"${RUNNER_EXTRA_LABELS:-}"
for l in "${extra[@]}"; do [[ -n "$l" ]] && labels+=("$l"); done

# One GitHub API call; the token travels in a header read from a file descriptor, never on argv.
# Writes the body to $4 (default: discarded) and the HTTP status to $status.
status=0
github() {
  local method="$1" path="$2" body="${3:-}" out="${4:-/dev/null}"
  local args=(-sS -X "$method" -o "$out" -w '%{http_code}'
    -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28')
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  status="$(curl "${args[@]}" -H @<(printf 'Authorization: Bearer %s\n' "$token") "$api/$path")" || status=000
}

request="$(jq -cn --arg name "$name" --argjson group "$group" --arg labels "$(IFS=,; echo "${labels[*]}")" \
  '{name: $name, runner_group_id: $group, labels: ($labels | split(",")), work_folder: "_work"}')"
log "registering ${name} in ${scope} with labels ${labels[*]}"
response_file="$(mktemp)"
github POST "$base/actions/runners/generate-jitconfig" "$request" "$response_file"
response="$(cat "$response_file")"
rm -f "$response_file"
if [[ "$status" != 201 ]]; then
  message="$(jq -r '.message // empty' <<<"$response" 2>/dev/null || true)"
  die "generate-jitconfig answered ${status}${message:+: $message} (check the token's permission to manage self-hosted runners in ${scope})."
fi
runner_id="$(jq -er '.runner.id' <<<"$response")"
jitconfig="$(jq -er '.encoded_jit_config' <<<"$response")"
unset response

child=0
cleanup() {
  local rc=$?
  if [[ "$child" != 0 ]] && kill -0 "$child" 2>/dev/null; then kill -TERM "$child" 2>/dev/null || true; wait "$child" || true; fi
  github DELETE "$base/actions/runners/$runner_id"
  case "$status" in
    204|404) log "runner ${runner_id} removed" ;;
    *) log "could not remove runner ${runner_id} (HTTP ${status}); GitHub drops offline ephemeral runners on its own" ;;
  esac
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

log "runner ${runner_id} registered; waiting for one job"
env -u RUNNER_TOKEN "$home/run.sh" --jitconfig "$jitconfig" &
child=$!
unset jitconfig
set +e
wait "$child"
rc=$?
set -e
child=0
exit "$rc"
