#!/bin/sh
# Puts the mlabs GitHub Actions runner on one machine (wsl2, dgx or agx) as a systemd service, and
# takes it off again. A person runs it once per machine, as root (sudo):
#
#   sudo scripts/runner-host/runner-host.sh check --machine dgx
#   sudo scripts/runner-host/runner-host.sh setup --machine dgx --scope OWNER/REPO \
#        --image REGION-docker.pkg.dev/PROJECT/mlabs-runner/mlabs-runner@sha256:DIGEST [--token-file F]
#   sudo scripts/runner-host/runner-host.sh undo  --machine dgx --scope OWNER/REPO [--token-file F]
#   sudo scripts/runner-host/runner-host.sh upgrade --machine dgx --image REGION-docker.pkg.dev/.../mlabs-runner@sha256:DIGEST
#
# Why a POSIX shell script: it runs on a machine that has nothing of this repository's toolchain yet
# (no Node on a fresh Jetson or DGX), only sh, curl and the Docker it checks for; every step is one
# of those programs, called with its arguments as separate words.
#
# setup checks everything first (check), and changes nothing when anything is missing: each
# missing thing is one line saying what and how to fix it. Then it writes the token file, the unit,
# and enables the service; each write happens only when the content differs, so a second run changes
# nothing. undo stops and removes the service and its files, then deletes this machine's runner
# registrations through GitHub's REST API (DELETE .../actions/runners/{id}).
#
# upgrade moves the service to a new image digest without leaving the machine without a runner, and
# works when the job asking for it runs inside the very container it replaces (the runner-upgrade
# workflow): see do_upgrade. The job cannot reach systemd from its container, so set-up also installs
# a systemd path unit that watches one request file in a folder the runner's container mounts; the
# job writes the image reference there, and the host runs this script's upgrade verb as root, which
# validates the request (digest form, same repository, pullable) before changing anything.
#
# The token (a fine-grained token with Administration: write on the repository, or an organisation
# token with Self-hosted runners: write) comes from --token-file or a prompt on the terminal: never
# from the command line, never printed. It is kept in a root-only env file that only Docker reads.
#
# Test hooks (the tests run the script against stand-ins): MLABS_HOST_ROOT prefixes every file the
# script reads or writes (/etc, /usr/lib/wsl, /dev/dxg, /proc, /var/lib, /usr/local/sbin); GITHUB_API_URL
# points at another API; MLABS_UPGRADE_POLL_SECONDS and MLABS_UPGRADE_WAIT_SECONDS shorten upgrade's wait.
set -eu
set +x # never trace: the token passes through a variable

ROOT="${MLABS_HOST_ROOT:-}"
API="${GITHUB_API_URL:-https://api.github.com}"
API="${API%/}"
MIN_DISK_GB="${MLABS_MIN_DISK_GB:-80}"
MIN_WSL_MEMORY_GB=16

say() { printf 'runner-host: %s\n' "$*" >&2; }
die() { say "$*"; exit 64; }
usage() {
  die "usage: runner-host.sh check|setup|undo|upgrade --machine wsl2|dgx|agx [--scope OWNER/REPO|ORG] [--image REF@sha256:DIGEST] [--token-file FILE] [--labels a,b] [--request FILE] [--wait SECONDS]"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
machine="" scope="" image="" token_file="" extra_labels="" request="" wait_s="${MLABS_UPGRADE_WAIT_SECONDS:-600}"
while [ $# -gt 0 ]; do
  case "$1" in
    --machine) machine="${2:-}"; shift 2 ;;
    --scope) scope="${2:-}"; shift 2 ;;
    --image) image="${2:-}"; shift 2 ;;
    --token-file) token_file="${2:-}"; shift 2 ;;
    --labels) extra_labels="${2:-}"; shift 2 ;;
    --request) request="${2:-}"; shift 2 ;;
    --wait) wait_s="${2:-}"; shift 2 ;;
    --token|--token=*) die "--token is not accepted: a token on the command line lands in shell history and ps. Use --token-file FILE, or leave it out to be asked." ;;
    *) usage ;;
  esac
done

case "$cmd" in check|setup|undo|upgrade) ;; *) usage ;; esac
case "$machine" in
  wsl2|dgx|agx) ;;
  *) die "--machine is '$machine': expected wsl2 (the Windows laptop), dgx (DGX Spark) or agx (Jetson AGX Orin)." ;;
esac
if [ "$cmd" = setup ] || [ "$cmd" = undo ]; then
  if printf '%s' "$scope" | grep -Eq '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'; then base="repos/$scope"
  elif printf '%s' "$scope" | grep -Eq '^[A-Za-z0-9_.-]+$'; then base="orgs/$scope"
  else die "--scope is '$scope': expected OWNER/REPO for a repository runner, or an organisation name."
  fi
fi
if [ "$cmd" = upgrade ]; then
  case "$wait_s" in
    ''|*[!0-9]*) die "--wait is '$wait_s': expected whole seconds, 0 or more (how long upgrade waits for the new runner to come online; MLABS_UPGRADE_WAIT_SECONDS sets the default, 600)." ;;
  esac
fi
by_digest() { printf '%s\n' "$1" | grep -Eq '^([a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@)?sha256:[0-9a-f]{64}$'; }
if [ "$cmd" = setup ]; then
  # By digest: the service runs exactly the image that was built and checked, and runner-upgrade
  # moves it on by changing this one line.
  # The first runner of a team that has no registry yet runs an image built on the machine itself:
  # its local image id (docker build --iidfile), sha256:<64 hex>, is a digest too.
  by_digest "$image" ||
    die "--image is '$image': expected a reference by digest, REGISTRY/PATH/mlabs-runner@sha256:<64 hex> (the build-mlabs-runner summary's digest), or the sha256:<64 hex> image id of a local build (docker build --iidfile) for the first runner."
  [ -z "$extra_labels" ] || printf '%s\n' "$extra_labels" | grep -Eq '^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$' ||
    die "--labels is '$extra_labels': expected comma-separated labels of letters, digits, '.', '_' or '-'."
fi
# The label every registration of a service carries: the first 12 hex digits of the image's digest,
# so GitHub's runner list says which image each runner runs (runner-upgrade's verify job reads it).
image_label() { printf 'mlabs-image-%s' "$(printf '%s' "${1##*sha256:}" | sed 's/^\(.\{12\}\).*/\1/')"; }
# The image's entrypoint names each registration <machine>-<hostname>-<random> (the container shares
# the host's network, so its hostname); undo finds this machine's by that prefix.
name="$machine-$(hostname)"

unit_name="mlabs-runner-$machine.service"
unit_file="$ROOT/etc/systemd/system/$unit_name"
conf_dir="$ROOT/etc/mlabs-runner"
env_file="$conf_dir/$machine.env"
next_env="$conf_dir/$machine.next.env"
# upgrade's new runner, alongside the service until it has served its one job (see do_upgrade).
next_unit="mlabs-runner-$machine-next.service"
# The upgrade hook: a folder the runner's container mounts at /run/mlabs-runner-upgrade, where a job
# writes a request (one image reference) and reads the host's answer (status); a path unit starts
# the upgrade service when the request changes, and the service runs the copy of this script.
hook_dir="/var/lib/mlabs-runner/$machine/upgrade"
hook_path="mlabs-runner-upgrade-$machine.path"
hook_service="mlabs-runner-upgrade-$machine.service"
installed=/usr/local/sbin/mlabs-runner-host

# ---- checks: report every missing thing, change nothing ----
missing=0
lack() { say "missing: $1"; say "  fix: $2"; missing=$((missing + 1)); }

check_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    lack "Docker (the docker command is not on PATH)" "install Docker Engine (https://docs.docker.com/engine/install/), then re-run."
    return
  fi
  if ! docker info --format '{{json .Runtimes}}' >"$tmp/runtimes" 2>"$tmp/docker-err"; then
    lack "a running Docker daemon ($(head -n 1 "$tmp/docker-err"))" "sudo systemctl enable --now docker, then re-run."
    return
  fi
  grep -q '"nvidia"' "$tmp/runtimes" ||
    lack "the nvidia runtime in Docker (docker info lists no 'nvidia' runtime)" "install the NVIDIA Container Toolkit and run: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker."
  root_dir="$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)"
  free_kb="$(df -Pk "$root_dir" 2>/dev/null | awk 'NR==2 {print $4}')"
  if [ -z "$free_kb" ]; then
    lack "free disk space (df could not read $root_dir)" "check that $root_dir exists and re-run."
  elif [ "$free_kb" -lt $((MIN_DISK_GB * 1024 * 1024)) ]; then
    lack "disk space: $((free_kb / 1024 / 1024)) GiB free under $root_dir, the runner image and minikube need $MIN_DISK_GB GiB" "free space (docker system prune, old minikube profiles) or move Docker's data-root to a larger disk."
  fi
}

check_gpu() {
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    lack "the NVIDIA driver (nvidia-smi is not on PATH)" "$1"
  elif ! nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$tmp/gpu" 2>&1; then
    lack "a working NVIDIA driver (nvidia-smi: $(head -n 1 "$tmp/gpu"))" "$1"
  fi
}

check_systemd() {
  state="$(systemctl is-system-running 2>/dev/null || true)"
  case "$state" in
    running|degraded) ;;
    *) lack "systemd as the init system (systemctl is-system-running: '${state:-no answer}')" "$1" ;;
  esac
}

check_wsl() {
  if ! grep -Eqi '^[[:space:]]*systemd[[:space:]]*=[[:space:]]*true' "$ROOT/etc/wsl.conf" 2>/dev/null; then
    lack "systemd in WSL (/etc/wsl.conf has no 'systemd=true' under [boot])" "add [boot] systemd=true to /etc/wsl.conf, run 'wsl --shutdown' in Windows, reopen the distribution and re-run."
  else
    check_systemd "run 'wsl --shutdown' in Windows so that systemd starts, then re-run."
  fi
  # CUDA on WSL: the Windows NVIDIA driver shares libcuda and the GPU device with the distribution;
  # no Linux driver is installed inside WSL (and none must be).
  [ -e "$ROOT/usr/lib/wsl/lib/libcuda.so.1" ] || [ -e "$ROOT/usr/lib/wsl/lib/libcuda.so" ] ||
    lack "CUDA on WSL (/usr/lib/wsl/lib/libcuda.so is absent)" "install the NVIDIA Windows driver with WSL support (https://developer.nvidia.com/cuda/wsl) in Windows, not a Linux driver; then 'wsl --shutdown'."
  [ -e "$ROOT/dev/dxg" ] ||
    lack "the GPU in WSL (/dev/dxg is absent)" "update WSL in Windows (wsl --update) and the NVIDIA Windows driver; then 'wsl --shutdown'."
  check_gpu "install the NVIDIA Windows driver with WSL support; nvidia-smi comes from /usr/lib/wsl/lib."
  # .wslconfig lives in the Windows user's profile: memory for minikube and the jobs; the GPU needs
  # no key there (it is on unless the driver lacks WSL support), so memory is what is checked.
  profile=""
  if command -v wslvar >/dev/null 2>&1 && command -v wslpath >/dev/null 2>&1; then
    profile="$(wslpath -u "$(wslvar USERPROFILE 2>/dev/null)" 2>/dev/null || true)"
  fi
  if [ -z "$profile" ]; then
    lack "the Windows profile folder (wslvar/wslpath from the wslu package)" "sudo apt-get install -y wslu, then re-run."
  else
    mem="$(sed -n '/^\[wsl2\]/,/^\[/ s/^[[:space:]]*memory[[:space:]]*=[[:space:]]*\([0-9][0-9]*\)[[:space:]]*GB.*/\1/Ip' "$ROOT$profile/.wslconfig" 2>/dev/null | head -n 1)"
    if [ -z "$mem" ] || [ "$mem" -lt "$MIN_WSL_MEMORY_GB" ]; then
      said="not set"
      [ -z "$mem" ] || said="${mem}GB"
      lack "WSL memory for minikube and the jobs (${profile}/.wslconfig [wsl2] memory is $said)" "set [wsl2] memory=${MIN_WSL_MEMORY_GB}GB or more in ${profile}/.wslconfig, then 'wsl --shutdown'."
    fi
  fi
}

check_jetson() {
  # Container images on a Jetson must match its L4T release (the NVIDIA runtime mounts the host's
  # L4T libraries into them): say which one this is, and refuse what the image is not built for.
  rel="$ROOT/etc/nv_tegra_release"
  if [ ! -r "$rel" ]; then
    lack "the Jetson L4T release (/etc/nv_tegra_release is absent: not a JetPack system)" "flash JetPack 6 (L4T R36) with NVIDIA SDK Manager, then re-run."
    return
  fi
  major="$(sed -n 's/^# R\([0-9][0-9]*\) (release), REVISION: \([0-9.]*\).*/\1/p' "$rel" | head -n 1)"
  revision="$(sed -n 's/^# R\([0-9][0-9]*\) (release), REVISION: \([0-9.]*\).*/\2/p' "$rel" | head -n 1)"
  if [ -z "$major" ]; then
    lack "a readable L4T release in /etc/nv_tegra_release ($(head -n 1 "$rel"))" "reinstall the nvidia-l4t-core package of your JetPack."
  elif [ "$major" -lt 36 ]; then
    lack "JetPack 6 (L4T R36): this Jetson has L4T R$major.$revision, and the runner image's Jetson builds (Ollama's L4T images) are built for R36" "upgrade to JetPack 6 with NVIDIA SDK Manager."
  else
    say "Jetson L4T R$major.$revision (JetPack 6)"
  fi
  check_systemd "boot the Jetson with systemd (the JetPack default)."
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run_checks() {
  check_docker
  case "$machine" in
    wsl2) check_wsl ;;
    dgx) check_gpu "install the NVIDIA driver of DGX OS (sudo apt-get install nvidia-driver-580-open or the DGX OS update), then reboot."; check_systemd "boot with systemd (the DGX OS default)." ;;
    agx) check_jetson ;;
  esac
  if [ "$missing" -gt 0 ]; then
    say "$missing thing(s) missing on this $machine machine; nothing was changed."
    exit 1
  fi
  say "every check passed on this $machine machine"
}

# ---- the token: from a file or the terminal, into a variable only ----
read_token() {
  if [ -n "$token_file" ]; then
    [ -r "$token_file" ] || die "--token-file $token_file cannot be read."
    token="$(head -n 1 "$token_file" | tr -d '\r\n')"
  elif [ -r /dev/tty ] && [ -t 0 ]; then
    printf 'GitHub token for %s (Administration: write; not shown): ' "$scope" >/dev/tty
    stty -echo </dev/tty
    IFS= read -r token </dev/tty || token=""
    stty echo </dev/tty
    printf '\n' >/dev/tty
  else
    die "no token: give --token-file FILE (a file holding only the token, mode 600), or run on a terminal to be asked."
  fi
  [ -n "$token" ] || die "the token is empty."
  printf '%s' "$token" | grep -Eq '^[A-Za-z0-9_]+$' || die "the token holds characters no GitHub token has (letters, digits and '_' only); nothing was changed."
}

# One GitHub API call; the token goes in a header read from a file only this process can read,
# never on a command line. The body lands in $tmp/body; the HTTP status is printed.
github() {
  umask 077
  printf 'Authorization: Bearer %s\n' "$token" >"$tmp/auth"
  curl -sS -X "$1" -o "$tmp/body" -w '%{http_code}' -H 'Accept: application/vnd.github+json' \
    -H 'X-GitHub-Api-Version: 2022-11-28' -H @"$tmp/auth" "$API/$2" 2>"$tmp/curl-err" || echo 000
  rm -f "$tmp/auth"
}

# Write $2 to file $1 with mode $3 only when its content differs; say so, and remember it.
changed=0
put() {
  if [ -f "$1" ] && cmp -s "$2" "$1"; then return 0; fi
  mkdir -p "$(dirname "$1")"
  umask 077
  cp "$2" "$1"
  chmod "$3" "$1"
  say "wrote $(printf '%s' "$1" | sed "s|^$ROOT||")"
  changed=1
}

# The machine's GPU flag for docker run: the NVIDIA Container Toolkit on dgx; on the Jetson the
# nvidia runtime (it mounts the host's L4T libraries); on WSL2 the same toolkit over /dev/dxg.
gpu_args() {
  case "$machine" in
    agx) echo "--runtime nvidia" ;;
    *) echo "--gpus all" ;;
  esac
}

# The container's docker run arguments after the name and env file: the service's and upgrade's
# new runner alongside it run the same way (explained in the unit's comments).
run_args() {
  sock_gid="$(stat -c %g "$ROOT/var/run/docker.sock" 2>/dev/null || echo 0)"
  echo "$(gpu_args) --network host -v /var/run/docker.sock:/var/run/docker.sock --group-add $sock_gid -v mlabs-runner-toolcache:/opt/hostedtoolcache -v mlabs-runner-minikube:/home/runner/.minikube -v mlabs-runner-kube:/home/runner/.kube -v $hook_dir:/run/mlabs-runner-upgrade"
}

write_unit() {
  docker_bin="$(command -v docker)"
  sock_gid="$(stat -c %g "$ROOT/var/run/docker.sock" 2>/dev/null || echo 0)"
  labels="$extra_labels"
  cat >"$tmp/unit" <<EOF
# Written by scripts/runner-host/runner-host.sh setup --machine $machine; removed by its undo.
[Unit]
Description=mlabs GitHub Actions runner ($machine)
Documentation=https://github.com/mlabs/mlabs-actions/blob/main/docs/from-nothing.md
# Docker must be up before the runner's container can start.
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target

[Service]
# One job per container: the image's entrypoint registers a just-in-time runner through GitHub's
# REST API (POST /$base/actions/runners/generate-jitconfig, labels self-hosted, linux, the
# architecture, $machine${labels:+, $labels}), runs exactly one job and deletes the registration.
# Restart=always then starts the next one, and brings the runner back after a crash or a reboot
# (the unit is enabled for multi-user.target).
Restart=always
RestartSec=10
# A container of that name left by a crash would block the next start.
ExecStartPre=-$docker_bin rm -f mlabs-runner-$machine
# After an upgrade, the new image's first runner runs alongside (mlabs-runner-$machine-next, started
# by runner-host.sh upgrade) until it has served its one job: the service's next container waits for
# it, so the machine has one idle runner, not two. No such container: docker wait fails at once.
ExecStartPre=-$docker_bin wait mlabs-runner-$machine-next
TimeoutStartSec=infinity
# --env-file: RUNNER_TOKEN and the scope come from a root-only file, never from this command line
#   (which ps and systemctl show).
# $(gpu_args): GPU access for jobs that use the GPU directly.
# --network host: minikube (docker driver) publishes its API server on the host's 127.0.0.1, and
#   jobs reach it, and the local stack's NodePorts, only from the host's network.
# /var/run/docker.sock and --group-add $sock_gid (the socket's group): jobs build images and run
#   minikube on the host's Docker. Whoever runs a job here can control the host's Docker: only
#   trusted repositories may use these runners.
# Named volumes, kept across containers and reboots: the tool cache (setup-* actions download once),
#   ~/.minikube (the cluster's certificates and profile, so a job finds the cluster the last one
#   left) and ~/.kube (the kubeconfig that points at it). Always at the same path, because the
#   kubeconfig names its certificates by absolute path.
# $hook_dir at /run/mlabs-runner-upgrade: where a runner-upgrade job asks for a new image
#   (mlabs-runner-upgrade-$machine.path watches it; the host validates what it reads there).
# The image by digest: exactly the image that was built and checked; runner-upgrade changes it.
ExecStart=$docker_bin run --rm --name mlabs-runner-$machine --env-file /etc/mlabs-runner/$machine.env $(run_args) $image
# A stop gives the entrypoint time to delete the registration.
ExecStop=$docker_bin stop --time 30 mlabs-runner-$machine
TimeoutStopSec=60

[Install]
WantedBy=multi-user.target
EOF
  put "$unit_file" "$tmp/unit" 0644
}

# The upgrade hook: the folder, a copy of this script the service runs, the path unit and its service.
write_hook() {
  mkdir -p "$ROOT$hook_dir"
  chmod 0700 "$ROOT$hook_dir"
  # The container's user (runner, uid 1001 in the image) writes the request; only root and it can.
  if [ "$(id -u)" = 0 ]; then chown 1001 "$ROOT$hook_dir"; fi
  put "$ROOT$installed" "$0" 0755
  cat >"$tmp/path" <<EOF
# Written by scripts/runner-host/runner-host.sh setup --machine $machine; removed by its undo.
[Unit]
Description=mlabs runner upgrade requests ($machine)

[Path]
# A runner-upgrade job writes the image it asks for here (from inside the runner's container).
PathChanged=$hook_dir/request
Unit=$hook_service

[Install]
WantedBy=multi-user.target
EOF
  put "$ROOT/etc/systemd/system/$hook_path" "$tmp/path" 0644
  cat >"$tmp/hook" <<EOF
# Written by scripts/runner-host/runner-host.sh setup --machine $machine; removed by its undo.
[Unit]
Description=mlabs runner upgrade ($machine)

[Service]
Type=oneshot
ExecStart=/bin/sh $installed upgrade --machine $machine --request $hook_dir/request
EOF
  put "$ROOT/etc/systemd/system/$hook_service" "$tmp/hook" 0644
}

# The env file's content in $tmp/env (for the image in $image).
make_env() {
  umask 077
  {
    printf 'RUNNER_TOKEN=%s\n' "$token"
    printf 'RUNNER_SCOPE=%s\n' "$scope"
    printf 'MLABS_MACHINE=%s\n' "$machine"
    printf 'RUNNER_EXTRA_LABELS=%s\n' "${extra_labels:+$extra_labels,}$(image_label "$image")"
    printf 'RUNNER_TOOL_CACHE=/opt/hostedtoolcache\n'
    # What the service runs, for runner-health to compare with the team's current digest.
    printf 'MLABS_RUNNER_IMAGE_REF=%s\n' "$image"
    # Where jobs ask for an upgrade (the hook folder, as the container mounts it).
    printf 'MLABS_RUNNER_UPGRADE_DIR=/run/mlabs-runner-upgrade\n'
    [ "$API" = https://api.github.com ] || printf 'GITHUB_API_URL=%s\n' "$API"
  } >"$tmp/env"
}
write_env() {
  make_env
  put "$env_file" "$tmp/env" 0600
}

do_setup() {
  run_checks
  read_token
  # The token can manage this scope's runners (a read, which registers nothing).
  status="$(github GET "$base/actions/runners?per_page=1")"
  case "$status" in
    200) ;;
    401) die "GitHub refused the token (401 Bad credentials): make a new one; nothing was changed." ;;
    403|404) die "the token may not manage self-hosted runners of $scope (HTTP $status: $(sed -n 's/.*"message": *"\([^"]*\)".*/\1/p' "$tmp/body" | head -n 1)); it needs Administration: write on the repository (or Self-hosted runners: write on the organisation). Nothing was changed." ;;
    *) die "GitHub answered $status to GET /$base/actions/runners ($(head -n 1 "$tmp/curl-err" 2>/dev/null)); nothing was changed." ;;
  esac
  write_env
  write_unit
  service_changed="$changed"
  write_hook
  if [ "$changed" = 1 ]; then systemctl daemon-reload; fi
  # A changed image or token takes effect now; the container's stop deletes its registration.
  if [ "$service_changed" = 1 ]; then systemctl restart "$unit_name"; fi
  if ! systemctl is-enabled --quiet "$unit_name"; then systemctl enable "$unit_name"; changed=1; fi
  if ! systemctl is-active --quiet "$unit_name"; then systemctl start "$unit_name"; changed=1; fi
  if ! systemctl is-enabled --quiet "$hook_path"; then systemctl enable --now "$hook_path"; changed=1; fi
  if [ "$changed" = 1 ]; then say "$unit_name runs $image"; else say "$unit_name already runs $image: nothing changed"; fi
}

do_undo() {
  read_token
  if [ -f "$unit_file" ] || systemctl is-enabled --quiet "$unit_name"; then
    systemctl disable --now "$unit_name"
    say "stopped and disabled $unit_name"
  fi
  if [ -f "$ROOT/etc/systemd/system/$hook_path" ]; then
    systemctl disable --now "$hook_path"
    say "stopped and disabled $hook_path"
  fi
  # A runner an upgrade started alongside that has not served its job yet (a transient unit: it
  # has no file). Its container's stop deletes its registration; the clean-up below catches a leftover.
  if systemctl is-active --quiet "$next_unit"; then
    systemctl stop "$next_unit"
    say "stopped $next_unit"
  fi
  for f in "$unit_file" "$env_file" "$next_env" "$ROOT/etc/systemd/system/$hook_path" "$ROOT/etc/systemd/system/$hook_service" "$ROOT$installed"; do
    if [ -f "$f" ]; then rm -f "$f"; say "removed $(printf '%s' "$f" | sed "s|^$ROOT||")"; fi
  done
  rm -rf "$ROOT$hook_dir"
  rmdir "$conf_dir" "$ROOT/var/lib/mlabs-runner/$machine" "$ROOT/var/lib/mlabs-runner" 2>/dev/null || true
  systemctl daemon-reload
  # Registrations this machine left (a container killed before its clean-up): runners named after
  # the machine, deleted by id. The volumes (tool cache, minikube) stay: docker volume rm to drop them.
  page=1 left=0 removed=0
  while :; do
    status="$(github GET "$base/actions/runners?per_page=100&page=$page")"
    [ "$status" = 200 ] || die "GitHub answered $status listing the runners of $scope: the service is removed, the registrations are not (delete runners named $name-* in Settings > Actions > Runners)."
    # Each runner object starts with its id and name (labels are objects of id and name too, but no
    # label carries the machine's runner-name prefix).
    tr -d '\n' <"$tmp/body" | sed 's/{[[:space:]]*"id"/\n{"id"/g' |
      sed -n 's/^{"id":[[:space:]]*\([0-9][0-9]*\),[[:space:]]*"name":[[:space:]]*"\([^"]*\)".*/\1 \2/p' >"$tmp/runners"
    total="$(tr -d '\n\t ' <"$tmp/body" | sed -n 's/^{"total_count":\([0-9][0-9]*\).*/\1/p')"
    while read -r id rname; do
      case "$rname" in
        "$name"|"$name"-*)
          status="$(github DELETE "$base/actions/runners/$id")"
          case "$status" in
            204|404) say "deleted runner $rname ($id)"; removed=$((removed + 1)) ;;
            *) say "could not delete runner $rname ($id): HTTP $status (busy with a job? re-run undo once it ends)"; left=$((left + 1)) ;;
          esac ;;
      esac
    done <"$tmp/runners"
    [ $((page * 100)) -lt "${total:-0}" ] || break
    page=$((page + 1))
  done
  [ "$left" = 0 ] || { say "$left registration(s) remain."; exit 1; }
  say "undone: no service and no registration of $name left${removed:+ ($removed deleted)}"
}

# ---- upgrade: a new image digest, the new runner online before the old one goes ----
#
# The job that asks for an upgrade (runner-upgrade's leg on this machine) runs inside the service's
# container, the one being replaced, so nothing here may stop that container. The order:
#   1. refuse, changing nothing: a request that is not REF@sha256:<64 hex>, an image of another
#      repository than the service runs, an image Docker cannot pull;
#   2. start the new image's runner alongside, as a transient unit (systemd-run, gone at reboot)
#      with a fresh just-in-time registration and the new digest's label;
#   3. wait until GitHub lists it online with this machine's labels (else stop it and leave the
#      service as it was: the old runner keeps serving);
#   4. only then write the env file and the unit with the new image (daemon-reload, no restart).
# The old runner goes by itself: it is ephemeral (one job per container), so it exits, and GitHub
# drops its registration, once its current job (the upgrade job) ends. Restart=always would then
# start the service's next container, now on the new image, but its ExecStartPre waits for the
# runner of step 2 to serve its one job first, so the machine keeps exactly one idle runner, on
# the new digest. Chosen over a timer that stops the old container: a timer would have to guess
# when the job ends, and stopping a container mid-job loses the job.
# Run by hand (no --request), the service is restarted at step 4 instead: its container then is an
# idle runner (or a job that GitHub re-queues, as set-up's restart does).
# A second upgrade to the same image changes nothing.
status_file=""
# The answer for the job that asked. The folder is the container user's: the answer goes into a
# file mktemp has just made (never a name that user could have planted as a symlink), renamed over.
report() {
  [ -n "$status_file" ] || return 0
  answer="$(mktemp "$(dirname "$status_file")/.status.XXXXXX")" || return 0
  printf '%s %s %s\n' "$1" "${image:--}" "$2" >"$answer"
  chmod 0644 "$answer"
  mv -f "$answer" "$status_file"
}
fail_upgrade() { say "$1"; report failed "$1"; exit "${2:-1}"; }
env_value() { sed -n "s/^$1=//p" "$env_file" | head -n 1; }

# Prints the name of each runner of this machine (<machine>-<hostname>-*) GitHub lists online with
# the machine's label and label $1. GitHub's JSON is split at each object's "id"; a runner's object
# has "os", the label objects that follow it do not. The first 100 runners are read.
online_with_label() {
  [ "$(github GET "$base/actions/runners?per_page=100")" = 200 ] || return 0
  tr -d '\n' <"$tmp/body" | sed 's/{[[:space:]]*"id"/\n{"id"/g' | awk -v want="$1" -v m="$machine" -v prefix="$name-" '
    function val(key,   r) {
      if (!match($0, "\"" key "\"[[:space:]]*:[[:space:]]*\"[^\"]*\"")) return ""
      r = substr($0, RSTART, RLENGTH); sub(/^[^:]*:[[:space:]]*"/, "", r); sub(/"$/, "", r); return r
    }
    function check() { if (rname != "" && rstatus == "online" && haswant && hasm && index(rname, prefix) == 1) print rname }
    /"os"[[:space:]]*:/ { check(); rname = val("name"); rstatus = val("status"); haswant = 0; hasm = 0; next }
    { l = val("name"); if (l == want) haswant = 1; if (l == m) hasm = 1 }
    END { check() }'
}

do_upgrade() {
  if [ -n "$request" ]; then
    # Asked by a job through the hook: its answer goes next to the request. The request file is
    # written by the container's user: read one line, trust nothing in it until checked.
    status_file="$(dirname "$request")/status"
    if [ ! -e "$request" ] && [ ! -L "$request" ]; then say "no request at $request: nothing to do"; exit 0; fi
    # Read as root from a folder the container's user writes: only a plain file of its own, never
    # a symlink or a hard link to something else.
    if [ -L "$request" ] || [ ! -f "$request" ] || [ "$(stat -c %h "$request")" != 1 ]; then
      rm -f "$request"
      fail_upgrade "the request at $request is not a plain file (a link?): refused unread; nothing was changed." 64
    fi
    image="$(head -c 512 "$request" | head -n 1 | tr -cd 'A-Za-z0-9._:/@-')"
    rm -f "$request"
  fi
  [ -f "$env_file" ] && [ -f "$unit_file" ] || fail_upgrade "$unit_name is not set up on this machine: run runner-host.sh setup first." 64
  by_digest "$image" && [ "${image#sha256:}" = "$image" ] ||
    fail_upgrade "--image is '$image': expected REGISTRY/PATH/mlabs-runner@sha256:<64 hex> (the build-mlabs-runner summary's digest); nothing was changed." 64
  current="$(env_value MLABS_RUNNER_IMAGE_REF)"
  if [ "$current" = "$image" ]; then
    say "$unit_name already runs $image: nothing changed"
    report unchanged "already runs this image"
    exit 0
  fi
  case "$current" in
    sha256:*) ;; # the first runner's local build: any registry's image may follow it
    *) [ "${current%@*}" = "${image%@*}" ] ||
      fail_upgrade "--image is '$image': the service runs ${current%@*}, and upgrade moves it to another digest of that repository only (run setup to change the repository); nothing was changed." 64 ;;
  esac
  if systemctl is-active --quiet "$next_unit"; then
    # The last upgrade succeeded (a runner that did not come online is stopped): the service already
    # runs that runner's image. Stopping it is safe: its container deletes its registration, and the
    # service's next container (waiting on it) takes its place on the same image.
    fail_upgrade "the runner the last upgrade started ($next_unit, on the image the service now runs) has not served its one job yet (it may be serving this one): run a job on it (runs-on: [self-hosted, $machine]) and re-run the upgrade once it has, or stop it with sudo systemctl stop $next_unit (its container deletes its registration; the service's next container takes its place) and re-run. Nothing was changed."
  fi
  if ! docker pull "$image" >"$tmp/pull" 2>&1; then
    fail_upgrade "docker cannot pull $image ($(tail -n 1 "$tmp/pull")): check the digest and that this machine may read the registry; nothing was changed."
  fi
  token="$(env_value RUNNER_TOKEN)"
  scope="$(env_value RUNNER_SCOPE)"
  api_file="$(env_value GITHUB_API_URL)"
  [ -z "$api_file" ] || API="$api_file"
  case "$scope" in */*) base="repos/$scope" ;; *) base="orgs/$scope" ;; esac
  [ -n "$token" ] || fail_upgrade "$env_file holds no RUNNER_TOKEN: run setup again; nothing was changed." 64
  extra_labels="$(env_value RUNNER_EXTRA_LABELS | tr ',' '\n' | grep -v '^mlabs-image-' | tr '\n' ',' | sed 's/,*$//')"

  # 2. the new runner alongside, from its own env file (the service's stays as it is).
  make_env
  put "$next_env" "$tmp/env" 0600
  docker_bin="$(command -v docker)"
  # shellcheck disable=SC2046 # run_args is one word per argument, as in the unit
  systemd-run --unit "$next_unit" --collect --property Restart=no --description "mlabs GitHub Actions runner ($machine, new image)" \
    "$docker_bin" run --rm --name "mlabs-runner-$machine-next" --env-file "/etc/mlabs-runner/$machine.next.env" $(run_args) "$image" ||
    { rm -f "$next_env"; fail_upgrade "systemd-run could not start the new runner ($next_unit); nothing was changed."; }
  label="$(image_label "$image")"
  say "started $next_unit on $image; waiting up to ${wait_s}s for GitHub to list it online with labels $machine, $label"

  # 3. online, or back to how it was.
  deadline=$(($(date +%s) + wait_s))
  found=""
  while :; do
    found="$(online_with_label "$label" | head -n 1)"
    [ -z "$found" ] || break
    if ! systemctl is-active --quiet "$next_unit" || [ "$(date +%s)" -ge "$deadline" ]; then
      systemctl stop "$next_unit" 2>/dev/null || true
      rm -f "$next_env"
      fail_upgrade "the new runner did not come online within ${wait_s}s (journalctl -u $next_unit); it was stopped, and the service keeps running $current."
    fi
    sleep "${MLABS_UPGRADE_POLL_SECONDS:-5}"
  done
  say "runner $found is online on $image"

  # 4. the service follows the new image from its next container on.
  changed=0
  write_env
  write_unit
  rm -f "$next_env"
  systemctl daemon-reload
  if [ -z "$request" ]; then systemctl restart "$unit_name"; fi
  say "$unit_name now runs $image; the old runner leaves after its current job"
  report online "runner $found"
}

case "$cmd" in
  check) run_checks ;;
  setup) do_setup ;;
  undo) do_undo ;;
  upgrade) do_upgrade ;;
esac
