/**
 * A machine for scripts/runner-host/runner-host.sh, as the tests run it: its files under a temp root
 * (MLABS_HOST_ROOT), the recorded stand-ins for docker, nvidia-smi, systemctl, systemd-run and the WSL
 * probes, and only the system tools the script may use on PATH. Used by test/runner-host/ and by the
 * runner-upgrade workflow's test, which plays each machine's host.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { ROOT, runProgram } from '../harness.js';

export const RUNNER_HOST_SCRIPT = join(ROOT, 'scripts/runner-host/runner-host.sh');
const STAND_INS = join(ROOT, 'scripts/workflow/stand-ins');
/** The programs the script may use besides the stand-ins: nothing else of this machine is on PATH. */
const SYSTEM_TOOLS = ['sh', 'bash', 'node', 'env', 'curl', 'sed', 'grep', 'awk', 'tr', 'head', 'cmp', 'cp', 'chmod', 'mkdir', 'rm', 'rmdir', 'mktemp', 'cat', 'df', 'stat', 'hostname', 'dirname', 'wc', 'stty', 'id', 'chown', 'mv', 'date', 'sleep', 'tail'];

let toolPaths: [string, string][] | undefined;
/** Where this machine has each of SYSTEM_TOOLS (those it has): one shell for all, once per test process. */
function systemTools(): [string, string][] {
  if (!toolPaths) {
    // A line each, empty for a tool this machine lacks.
    const lines = spawnSync('sh', ['-c', 'for t in "$@"; do command -v "$t" || echo; done', 'sh', ...SYSTEM_TOOLS], { encoding: 'utf8' }).stdout.split('\n');
    toolPaths = SYSTEM_TOOLS.flatMap((t, i): [string, string][] => (lines[i] ? [[t, lines[i]]] : []));
  }
  return toolPaths;
}

export type MachineKind = 'wsl2' | 'dgx' | 'agx';

export interface Machine {
  kind: MachineKind;
  root: string;
  bin: string;
  log: string;
  state: string;
  tokenFile: string;
}

export interface HostRun {
  code: number;
  out: string;
  calls: { tool: string; args: string[] }[];
}

/** A machine: its files under root, the stand-ins (all but `without`) and the system tools on PATH. */
export function hostMachine(kind: MachineKind, token: string, opts: { without?: string[] } = {}): Machine {
  const root = mkdtempSync(join(tmpdir(), `runner-host-${kind}-`));
  const bin = join(root, '.bin');
  mkdirSync(bin);
  copyFileSync(join(STAND_INS, '_stand-in.mjs'), join(bin, '_stand-in.mjs'));
  for (const t of ['docker', 'nvidia-smi', 'systemctl', 'systemd-run', 'wslvar', 'wslpath']) {
    if (!opts.without?.includes(t)) copyFileSync(join(STAND_INS, t), join(bin, t));
  }
  for (const [t, found] of systemTools()) symlinkSync(found, join(bin, t));
  const file = (p: string, text = '') => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  mkdirSync(join(root, 'var/lib/docker'), { recursive: true });
  if (kind === 'wsl2') {
    file('etc/wsl.conf', '[boot]\nsystemd=true\n');
    file('usr/lib/wsl/lib/libcuda.so.1');
    file('dev/dxg');
    file('mnt/c/Users/alice/.wslconfig', '[wsl2]\nmemory=32GB\nprocessors=8\n');
  }
  if (kind === 'agx') file('etc/nv_tegra_release', '# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n');
  const tokenFile = join(root, '.token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return { kind, root, bin, log: join(root, '.calls.jsonl'), state: join(root, '.systemd.json'), tokenFile };
}

/**
 * What the container a unit starts does once running: its entrypoint registers a just-in-time
 * runner through the sandbox's GitHub API, and the runner comes online.
 */
export async function registerOnline(sb: Sandbox, token: string, name: string, labels: string[]): Promise<void> {
  const res = await fetch(`${sb.env.GITHUB_API_URL}/repos/mlabs/platform/actions/runners/generate-jitconfig`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, runner_group_id: 1, labels }),
  });
  if (res.status !== 201) throw new Error(`generate-jitconfig answered ${res.status}: ${await res.text()}`);
  const id = ((await res.json()) as { runner: { id: number } }).runner.id;
  const runner = (sb.state.github as GithubSeed).runners.find((x) => x.id === id);
  if (runner) runner.status = 'online';
}

/** The script as a person (or the machine's systemd) runs it, asynchronously; stdin is not a terminal. */
export async function runHost(m: Machine, args: string[], githubApiUrl: string, env: Record<string, string> = {}): Promise<HostRun> {
  writeFileSync(m.log, '');
  const r = await runProgram('sh', [RUNNER_HOST_SCRIPT, ...args], {
    PATH: m.bin,
    HOME: m.root,
    TMPDIR: tmpdir(),
    MLABS_HOST_ROOT: m.root,
    MLABS_STAND_IN_LOG: m.log,
    MLABS_STANDIN_SYSTEMD_STATE: m.state,
    MLABS_STANDIN_DOCKER_ROOT: join(m.root, 'var/lib/docker'),
    MLABS_MIN_DISK_GB: '0',
    GITHUB_API_URL: githubApiUrl,
    ...env,
  });
  const calls = readFileSync(m.log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { tool: string; args: string[] });
  return { code: r.code, out: `${r.stdout}${r.stderr}`, calls };
}
