/**
 * scripts/runner-host/runner-host.sh, run as a person runs it, against the recorded stand-ins for
 * docker, nvidia-smi, systemctl, systemd-run and the WSL probes (test/support/runner-host.ts), a machine root of
 * files in a temp folder (MLABS_HOST_ROOT), and the sandbox's GitHub REST API. Each missing
 * prerequisite gives its message and changes nothing; a second set-up changes nothing; undo removes
 * the service and this machine's registrations, and no other; upgrade moves the service to a new
 * digest only once the new runner is online, and refuses what it cannot run, changing nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import { ROOT, runProgram } from '../harness.js';
import { hostMachine, registerOnline, runHost, RUNNER_HOST_SCRIPT as SCRIPT, type HostRun, type Machine } from '../support/runner-host.js';

const IMAGE = `us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner/mlabs-runner@sha256:${'a'.repeat(64)}`;
const HOST = hostname();

let sb: Sandbox;
let gh: GithubRestService;
let TOKEN: string;
beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  TOKEN = (sb.state.github as GithubSeed).tokens[0]?.token as string;
});
afterAll(async () => sb.stop());
beforeEach(() => gh.reset());

type Run = HostRun;
const machine = (kind: 'wsl2' | 'dgx' | 'agx', opts: { without?: string[] } = {}): Machine => hostMachine(kind, TOKEN, opts);
const run = (m: Machine, args: string[], env: Record<string, string> = {}): Promise<Run> => runHost(m, args, sb.env.GITHUB_API_URL as string, env);

const setupArgs = (m: Machine, kind: string) => ['setup', '--machine', kind, '--scope', 'mlabs/platform', '--image', IMAGE, '--token-file', m.tokenFile];
const unitPath = (m: Machine, kind: string) => join(m.root, `etc/systemd/system/mlabs-runner-${kind}.service`);
const envPath = (m: Machine, kind: string) => join(m.root, `etc/mlabs-runner/${kind}.env`);
const argsOf = (r: Run, tool: string) => r.calls.filter((c) => c.tool === tool).map((c) => c.args);
const githubCalls = (from = 0) => sb.requests.slice(from).filter((q) => q.path.startsWith('/github/'));

/**
 * A dgx machine as set-up leaves it, for tests that start from there: set-up runs once per label set
 * (asserted to succeed), and each such test gets a fresh machine with a copy of what it wrote (the
 * files and systemd's state). The unit names the machine's own docker, as set-up there writes it.
 */
const setUpOnce = new Map<string, Promise<Machine>>();
async function setUp(labels = ''): Promise<Machine> {
  const template = await getOrStart(setUpOnce, labels, async () => {
    const t = machine('dgx');
    const r = await run(t, [...setupArgs(t, 'dgx'), ...(labels ? ['--labels', labels] : [])]);
    assert.equal(r.code, 0, r.out);
    return t;
  });
  const m = machine('dgx');
  for (const p of ['etc', 'var/lib/mlabs-runner', 'usr', '.systemd.json']) cpSync(join(template.root, p), join(m.root, p), { recursive: true });
  writeFileSync(unitPath(m, 'dgx'), readFileSync(unitPath(template, 'dgx'), 'utf8').replaceAll(template.bin, m.bin));
  return m;
}
function getOrStart<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) cache.set(key, (p = make()));
  return p;
}

/** Everything the script could have written, with its modification time. */
function written(m: Machine): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = statSync(p).mtimeMs;
    }
  };
  walk(join(m.root, 'etc/systemd'));
  walk(join(m.root, 'etc/mlabs-runner'));
  return out;
}

describe('set-up', () => {
  test('dgx: checks, then a root-only token file and a unit running the image by digest with GPU, Docker socket, volumes and host network; enabled and started', async () => {
    const m = machine('dgx');
    const mark = sb.requests.length;
    const r = await run(m, setupArgs(m, 'dgx'));
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(argsOf(r, 'docker'), [['info', '--format', '{{json .Runtimes}}'], ['info', '--format', '{{.DockerRootDir}}']]);
    assert.deepEqual(argsOf(r, 'nvidia-smi'), [['--query-gpu=name,driver_version', '--format=csv,noheader']]);
    assert.deepEqual(argsOf(r, 'systemctl'), [
      ['is-system-running'],
      ['daemon-reload'],
      ['restart', 'mlabs-runner-dgx.service'],
      ['is-enabled', '--quiet', 'mlabs-runner-dgx.service'],
      ['enable', 'mlabs-runner-dgx.service'],
      ['is-active', '--quiet', 'mlabs-runner-dgx.service'],
      ['is-enabled', '--quiet', 'mlabs-runner-upgrade-dgx.path'],
      ['enable', '--now', 'mlabs-runner-upgrade-dgx.path'],
    ]);
    const unit = readFileSync(unitPath(m, 'dgx'), 'utf8');
    const start = unit.split('\n').find((l) => l.startsWith('ExecStart='));
    assert.equal(
      start,
      `ExecStart=${join(m.bin, 'docker')} run --rm --name mlabs-runner-dgx --env-file /etc/mlabs-runner/dgx.env --gpus all --network host -v /var/run/docker.sock:/var/run/docker.sock --group-add 0 -v mlabs-runner-toolcache:/opt/hostedtoolcache -v mlabs-runner-minikube:/home/runner/.minikube -v mlabs-runner-kube:/home/runner/.kube -v /var/lib/mlabs-runner/dgx/upgrade:/run/mlabs-runner-upgrade ${IMAGE}`,
    );
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    for (const why of [/--network host: minikube/, /docker\.sock .*jobs build images/, /Named volumes/, /by digest/, /--env-file: RUNNER_TOKEN/]) assert.match(unit, why);
    const env = readFileSync(envPath(m, 'dgx'), 'utf8');
    assert.match(env, new RegExp(`^RUNNER_TOKEN=${TOKEN}$`, 'm'));
    assert.match(env, /^RUNNER_SCOPE=mlabs\/platform$/m);
    assert.match(env, /^MLABS_MACHINE=dgx$/m);
    assert.match(env, /^RUNNER_EXTRA_LABELS=mlabs-image-aaaaaaaaaaaa$/m, 'registrations carry the digest');
    assert.match(env, /^MLABS_RUNNER_UPGRADE_DIR=\/run\/mlabs-runner-upgrade$/m);
    // The upgrade hook: a path unit on the request file the container can write, and its service.
    assert.match(readFileSync(join(m.root, 'etc/systemd/system/mlabs-runner-upgrade-dgx.path'), 'utf8'), /^PathChanged=\/var\/lib\/mlabs-runner\/dgx\/upgrade\/request$/m);
    assert.match(readFileSync(join(m.root, 'etc/systemd/system/mlabs-runner-upgrade-dgx.service'), 'utf8'), /^ExecStart=\/bin\/sh \/usr\/local\/sbin\/mlabs-runner-host upgrade --machine dgx --request \/var\/lib\/mlabs-runner\/dgx\/upgrade\/request$/m);
    assert.equal(readFileSync(join(m.root, 'usr/local/sbin/mlabs-runner-host'), 'utf8'), readFileSync(SCRIPT, 'utf8'));
    assert.equal(statSync(envPath(m, 'dgx')).mode & 0o777, 0o600, 'the token file is root-only');
    // The token: never printed, never on a command line of anything the script ran, never in the unit.
    assert.ok(!r.out.includes(TOKEN));
    assert.ok(!JSON.stringify(r.calls).includes(TOKEN));
    assert.ok(!unit.includes(TOKEN));
    // It was checked against GitHub with one read.
    assert.deepEqual(githubCalls(mark).map((q) => `${q.method} ${q.path} ${q.status}`), ['GET /github/repos/mlabs/platform/actions/runners 200']);
  });

  test('a second set-up changes nothing: no file rewritten, only read-only systemctl queries', async () => {
    const m = machine('dgx');
    assert.equal((await run(m, setupArgs(m, 'dgx'))).code, 0);
    const before = written(m);
    const again = await run(m, setupArgs(m, 'dgx'));
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already runs .*nothing changed/);
    assert.deepEqual(written(m), before);
    assert.deepEqual(argsOf(again, 'systemctl'), [['is-system-running'], ['is-enabled', '--quiet', 'mlabs-runner-dgx.service'], ['is-active', '--quiet', 'mlabs-runner-dgx.service'], ['is-enabled', '--quiet', 'mlabs-runner-upgrade-dgx.path']]);
  });

  test('a new image digest rewrites the unit and restarts the service', async () => {
    const m = await setUp();
    const next = IMAGE.replace(/a{64}$/, 'b'.repeat(64));
    const r = await run(m, ['setup', '--machine', 'dgx', '--scope', 'mlabs/platform', '--image', next, '--token-file', m.tokenFile]);
    assert.equal(r.code, 0, r.out);
    assert.ok(readFileSync(unitPath(m, 'dgx'), 'utf8').includes(next));
    assert.deepEqual(argsOf(r, 'systemctl').slice(1, 3), [['daemon-reload'], ['restart', 'mlabs-runner-dgx.service']]);
  });

  test('wsl2: systemd, CUDA on WSL, /dev/dxg and .wslconfig memory checked; agx: the L4T release; both set up with their GPU flag', async () => {
    const w = machine('wsl2');
    const rw = await run(w, setupArgs(w, 'wsl2'));
    assert.equal(rw.code, 0, rw.out);
    assert.deepEqual(argsOf(rw, 'wslvar'), [['USERPROFILE']]);
    assert.deepEqual(argsOf(rw, 'wslpath'), [['-u', 'C:\\Users\\alice']]);
    assert.match(readFileSync(unitPath(w, 'wsl2'), 'utf8'), / --gpus all /);
    const a = machine('agx');
    const ra = await run(a, setupArgs(a, 'agx'));
    assert.equal(ra.code, 0, ra.out);
    assert.match(ra.out, /Jetson L4T R36\.4\.3 \(JetPack 6\)/);
    assert.deepEqual(argsOf(ra, 'nvidia-smi'), [], 'the Jetson is checked through its L4T release');
    assert.match(readFileSync(unitPath(a, 'agx'), 'utf8'), / --runtime nvidia /);
  });
});

describe('check alone', () => {
  test('reports and changes nothing, with or without what is missing', async () => {
    const m = machine('dgx');
    const ok = await run(m, ['check', '--machine', 'dgx']);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /every check passed on this dgx machine/);
    const bad = await run(m, ['check', '--machine', 'dgx'], { MLABS_STANDIN_NO_GPU: '1' });
    assert.equal(bad.code, 1);
    assert.match(bad.out, /missing: a working NVIDIA driver/);
    assert.deepEqual(written(m), {});
    assert.deepEqual([...argsOf(ok, 'systemctl'), ...argsOf(bad, 'systemctl')], [['is-system-running'], ['is-system-running']]);
  });
});

describe('each missing prerequisite: its message, and nothing changed', () => {
  const cases: { name: string; kind: 'wsl2' | 'dgx' | 'agx'; without?: string[]; env?: Record<string, string>; prepare?: (m: Machine) => void; says: RegExp }[] = [
    { name: 'no Docker', kind: 'dgx', without: ['docker'], says: /missing: Docker \(the docker command is not on PATH\)\n.*fix: install Docker Engine/ },
    { name: 'Docker daemon down', kind: 'dgx', env: { MLABS_STANDIN_DOCKER_DOWN: '1' }, says: /missing: a running Docker daemon \(Cannot connect to the Docker daemon.*\n.*fix: sudo systemctl enable --now docker/ },
    { name: 'no nvidia runtime in Docker', kind: 'dgx', env: { MLABS_STANDIN_DOCKER_RUNTIMES: '{"runc":{"path":"runc"}}' }, says: /missing: the nvidia runtime in Docker.*\n.*fix: install the NVIDIA Container Toolkit and run: sudo nvidia-ctk runtime configure --runtime=docker/ },
    { name: 'no nvidia-smi', kind: 'dgx', without: ['nvidia-smi'], says: /missing: the NVIDIA driver \(nvidia-smi is not on PATH\)/ },
    { name: 'a driver that does not answer', kind: 'dgx', env: { MLABS_STANDIN_NO_GPU: '1' }, says: /missing: a working NVIDIA driver \(nvidia-smi: NVIDIA-SMI has failed/ },
    { name: 'too little disk', kind: 'dgx', env: { MLABS_MIN_DISK_GB: '100000000' }, says: /missing: disk space: \d+ GiB free under .*, the runner image and minikube need 100000000 GiB\n.*fix: free space/ },
    { name: 'no systemd', kind: 'dgx', env: { MLABS_STANDIN_SYSTEM_STATE: 'offline' }, says: /missing: systemd as the init system/ },
    { name: 'WSL without systemd=true', kind: 'wsl2', prepare: (m) => writeFileSync(join(m.root, 'etc/wsl.conf'), '[boot]\n'), says: /missing: systemd in WSL \(\/etc\/wsl\.conf has no 'systemd=true' under \[boot\]\)\n.*fix: add \[boot\] systemd=true/ },
    { name: 'no CUDA on WSL', kind: 'wsl2', prepare: (m) => spawnSync('rm', [join(m.root, 'usr/lib/wsl/lib/libcuda.so.1')]), says: /missing: CUDA on WSL \(\/usr\/lib\/wsl\/lib\/libcuda\.so is absent\)\n.*fix: install the NVIDIA Windows driver with WSL support/ },
    { name: 'no /dev/dxg', kind: 'wsl2', prepare: (m) => spawnSync('rm', [join(m.root, 'dev/dxg')]), says: /missing: the GPU in WSL \(\/dev\/dxg is absent\)/ },
    { name: 'too little WSL memory', kind: 'wsl2', prepare: (m) => writeFileSync(join(m.root, 'mnt/c/Users/alice/.wslconfig'), '[wsl2]\nmemory=8GB\n'), says: /missing: WSL memory .*\[wsl2\] memory is 8GB\)\n.*fix: set \[wsl2\] memory=16GB or more in \/mnt\/c\/Users\/alice\/\.wslconfig/ },
    { name: 'no wslu', kind: 'wsl2', without: ['wslvar'], says: /missing: the Windows profile folder \(wslvar\/wslpath from the wslu package\)\n.*fix: sudo apt-get install -y wslu/ },
    { name: 'not a JetPack system', kind: 'agx', prepare: (m) => spawnSync('rm', [join(m.root, 'etc/nv_tegra_release')]), says: /missing: the Jetson L4T release \(\/etc\/nv_tegra_release is absent/ },
    { name: 'JetPack 5', kind: 'agx', prepare: (m) => writeFileSync(join(m.root, 'etc/nv_tegra_release'), '# R35 (release), REVISION: 5.0, GCID: 1, BOARD: t186ref, EABI: aarch64, DATE: x\n'), says: /missing: JetPack 6 \(L4T R36\): this Jetson has L4T R35\.5\.0/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const m = machine(c.kind, { without: c.without });
      c.prepare?.(m);
      const before = githubCalls().length;
      const r = await run(m, setupArgs(m, c.kind), c.env);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, c.says);
      assert.match(r.out, /thing\(s\) missing on this .* machine; nothing was changed/);
      assert.deepEqual(written(m), {}, 'no file written');
      assert.deepEqual(argsOf(r, 'systemctl').filter((a) => a[0] !== 'is-system-running'), [], 'systemd untouched');
      assert.equal(githubCalls().length, before, 'GitHub not asked');
    });
  }

  test('the token is never taken from argv; a missing token or one GitHub refuses changes nothing', async () => {
    const m = machine('dgx');
    const argv = await run(m, ['setup', '--machine', 'dgx', '--scope', 'mlabs/platform', '--image', IMAGE, '--token', TOKEN]);
    assert.equal(argv.code, 64);
    assert.match(argv.out, /--token is not accepted: a token on the command line lands in shell history and ps/);
    const none = await run(m, ['setup', '--machine', 'dgx', '--scope', 'mlabs/platform', '--image', IMAGE]);
    assert.equal(none.code, 64);
    assert.match(none.out, /no token: give --token-file FILE/);
    const good = readFileSync(m.tokenFile, 'utf8');
    writeFileSync(m.tokenFile, 'github_pat_11WRONG000000000000000000\n');
    const wrong = await run(m, setupArgs(m, 'dgx'));
    assert.equal(wrong.code, 64);
    assert.match(wrong.out, /GitHub refused the token \(401 Bad credentials\)/);
    assert.ok(!wrong.out.includes('github_pat_11WRONG'));
    assert.deepEqual(written(m), {});
    writeFileSync(m.tokenFile, good);
    const tag = await run(m, ['setup', '--machine', 'dgx', '--scope', 'mlabs/platform', '--image', 'ghcr.io/mlabs/mlabs-runner:latest', '--token-file', m.tokenFile]);
    assert.equal(tag.code, 64);
    assert.match(tag.out, /--image is 'ghcr\.io\/mlabs\/mlabs-runner:latest': expected a reference by digest/);
    // The first runner: a local build's image id is accepted.
    const local = await run(m, ['setup', '--machine', 'dgx', '--scope', 'mlabs/platform', '--image', `sha256:${'d'.repeat(64)}`, '--token-file', m.tokenFile]);
    assert.equal(local.code, 0, local.out);
    assert.match(readFileSync(unitPath(m, 'dgx'), 'utf8'), new RegExp(` sha256:${'d'.repeat(64)}\n`));
  });
});

describe('undo', () => {
  test('stops and removes the service and its files, and deletes this machine\'s registrations only; a second undo has nothing left to do', async () => {
    const m = await setUp();
    // Registrations as the image's entrypoint makes them (<machine>-<hostname>-<random>), and one of another machine.
    const register = async (name: string) => {
      const res = await fetch(`${sb.env.GITHUB_API_URL}/repos/mlabs/platform/actions/runners/generate-jitconfig`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, runner_group_id: 1, labels: ['self-hosted', 'linux', 'x64', 'dgx'] }),
      });
      assert.equal(res.status, 201);
      return ((await res.json()) as { runner: { id: number } }).runner.id;
    };
    const mine = [await register(`dgx-${HOST}-1234`), await register(`dgx-${HOST}-99`)];
    const other = await register('agx-jetson-7');
    const mark = sb.requests.length;
    const r = await run(m, ['undo', '--machine', 'dgx', '--scope', 'mlabs/platform', '--token-file', m.tokenFile]);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(argsOf(r, 'systemctl'), [['disable', '--now', 'mlabs-runner-dgx.service'], ['disable', '--now', 'mlabs-runner-upgrade-dgx.path'], ['is-active', '--quiet', 'mlabs-runner-dgx-next.service'], ['daemon-reload']]);
    assert.equal(existsSync(unitPath(m, 'dgx')), false);
    assert.deepEqual(readdirSync(join(m.root, 'etc/systemd/system')), [], 'the upgrade hook\'s units are gone too');
    assert.equal(existsSync(join(m.root, 'var/lib/mlabs-runner')), false);
    assert.equal(existsSync(join(m.root, 'usr/local/sbin/mlabs-runner-host')), false);
    assert.equal(existsSync(envPath(m, 'dgx')), false);
    const runners = (sb.state.github as GithubSeed).runners.map((x) => x.id);
    for (const id of mine) assert.ok(!runners.includes(id), `registration ${id} deleted: ${r.out}`);
    assert.ok(runners.includes(other), 'another machine\'s registration is kept');
    assert.ok(!r.out.includes(TOKEN));
    const deletes = sb.requests.slice(mark).filter((q) => q.rpc === 'runners.delete');
    assert.deepEqual(deletes.map((q) => q.status), [204, 204]);

    const again = await run(m, ['undo', '--machine', 'dgx', '--scope', 'mlabs/platform', '--token-file', m.tokenFile]);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(argsOf(again, 'systemctl'), [['is-enabled', '--quiet', 'mlabs-runner-dgx.service'], ['is-active', '--quiet', 'mlabs-runner-dgx-next.service'], ['daemon-reload']]);
    assert.equal(sb.requests.slice(mark).filter((q) => q.rpc === 'runners.delete').length, 2, 'nothing more to delete');
  });
});

describe('the service\'s container', () => {
  test('the image\'s entrypoint, given the env file set-up wrote, registers a just-in-time runner with the machine\'s labels through the sandbox\'s GitHub API and removes it after its job', async () => {
    const m = await setUp('gpu-gb10');
    const env = Object.fromEntries(readFileSync(envPath(m, 'dgx'), 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const home = mkdtempSync(join(tmpdir(), 'runner-home-'));
    // The runner itself: records its arguments and asserts the registration exists while it runs.
    writeFileSync(join(home, 'run.sh'), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${home}/args"\n`, { mode: 0o755 });
    const mark = sb.requests.length;
    const r = await runProgram('bash', [join(ROOT, 'runner-image/entrypoint.sh')], { ...env, PATH: process.env.PATH ?? '', HOME: home, RUNNER_HOME: home, GITHUB_API_URL: sb.env.GITHUB_API_URL as string });
    assert.equal(r.code, 0, r.stderr);
    const calls = githubCalls(mark);
    assert.deepEqual(calls.map((q) => `${q.method} ${q.rpc} ${q.status}`), ['POST runners.generateJitconfig 201', `DELETE runners.delete 204`]);
    assert.match(r.stderr, new RegExp(`registering dgx-${HOST}-\\d+ in mlabs/platform with labels self-hosted linux (x64|arm64) dgx gpu-gb10 mlabs-image-aaaaaaaaaaaa`));
    assert.match(readFileSync(join(home, 'args'), 'utf8'), /^--jitconfig\n[A-Za-z0-9+/=]+\n$/);
    assert.ok(!(sb.state.github as GithubSeed).runners.some((x) => x.name.startsWith(`dgx-${HOST}-`)), 'the registration is gone after the job');
    assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN));
  });
});

describe('upgrade', () => {
  const NEXT = IMAGE.replace(/a{64}$/, 'b'.repeat(64));
  const hookDir = (m: Machine) => join(m.root, 'var/lib/mlabs-runner/dgx/upgrade');
  const request = (m: Machine, image: string) => {
    writeFileSync(join(hookDir(m), 'request'), `${image}\n`);
    return ['upgrade', '--machine', 'dgx', '--request', join(hookDir(m), 'request')];
  };
  const fast = { MLABS_UPGRADE_POLL_SECONDS: '0.2' };
  /**
   * The new runner's container as the machine would run it: once systemd-run has started it, its
   * entrypoint registers a just-in-time runner with the labels of the env file upgrade wrote for it,
   * and the runner comes online.
   */
  function newRunnerComesOnline(m: Machine): { stop: () => void } {
    const timer = setInterval(() => {
      const file = join(m.root, 'etc/mlabs-runner/dgx.next.env');
      if (!existsSync(file) || !readFileSync(m.log, 'utf8').includes('"systemd-run"')) return;
      clearInterval(timer);
      const extra = /^RUNNER_EXTRA_LABELS=(.*)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
      void registerOnline(sb, TOKEN, `dgx-${HOST}-777`, ['self-hosted', 'linux', 'x64', 'dgx', ...extra.split(',').filter(Boolean)]);
    }, 50);
    return { stop: () => clearInterval(timer) };
  }

  test('asked through the hook: the new image\'s runner starts alongside, and once GitHub lists it online with the machine\'s and the digest\'s labels the service follows, without stopping the runner serving the job; asked again, nothing changes', async () => {
    const m = await setUp('gpu-gb10');
    const sim = newRunnerComesOnline(m);
    const r = await run(m, request(m, NEXT), fast).finally(sim.stop);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(argsOf(r, 'docker'), [['pull', NEXT]]);
    assert.deepEqual(argsOf(r, 'systemd-run'), [[
      '--unit', 'mlabs-runner-dgx-next.service', '--collect', '--property', 'Restart=no', '--description', 'mlabs GitHub Actions runner (dgx, new image)',
      join(m.bin, 'docker'), 'run', '--rm', '--name', 'mlabs-runner-dgx-next', '--env-file', '/etc/mlabs-runner/dgx.next.env',
      '--gpus', 'all', '--network', 'host', '-v', '/var/run/docker.sock:/var/run/docker.sock', '--group-add', '0',
      '-v', 'mlabs-runner-toolcache:/opt/hostedtoolcache', '-v', 'mlabs-runner-minikube:/home/runner/.minikube', '-v', 'mlabs-runner-kube:/home/runner/.kube',
      '-v', '/var/lib/mlabs-runner/dgx/upgrade:/run/mlabs-runner-upgrade', NEXT,
    ]]);
    // The service is only reloaded: its container, serving the job that asked, is neither stopped nor restarted.
    const sys = argsOf(r, 'systemctl');
    assert.ok(sys.every((a) => a[0] === 'is-active' || a[0] === 'daemon-reload'), JSON.stringify(sys));
    assert.ok(sys.every((a) => !a.includes('mlabs-runner-dgx.service')));
    assert.deepEqual(sys.at(-1), ['daemon-reload']);
    const unit = readFileSync(unitPath(m, 'dgx'), 'utf8');
    assert.ok(unit.split('\n').find((l) => l.startsWith('ExecStart='))?.endsWith(` ${NEXT}`));
    assert.match(unit, /^ExecStartPre=-\S+ wait mlabs-runner-dgx-next$/m, 'the service\'s next container waits for the new runner\'s one job');
    const env = readFileSync(envPath(m, 'dgx'), 'utf8');
    assert.match(env, new RegExp(`^MLABS_RUNNER_IMAGE_REF=${NEXT.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(env, /^RUNNER_EXTRA_LABELS=gpu-gb10,mlabs-image-bbbbbbbbbbbb$/m);
    assert.match(env, new RegExp(`^RUNNER_TOKEN=${TOKEN}$`, 'm'));
    assert.equal(existsSync(join(m.root, 'etc/mlabs-runner/dgx.next.env')), false);
    assert.equal(existsSync(join(hookDir(m), 'request')), false, 'the request is consumed');
    assert.equal(readFileSync(join(hookDir(m), 'status'), 'utf8'), `online ${NEXT} runner dgx-${HOST}-777\n`);
    assert.ok(!r.out.includes(TOKEN) && !JSON.stringify(r.calls).includes(TOKEN));

    const before = written(m);
    const again = await run(m, request(m, NEXT), fast);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already runs .*nothing changed/);
    assert.deepEqual(written(m), before);
    assert.deepEqual(again.calls, [], 'no program run: no pull, no unit started');
    assert.equal(readFileSync(join(hookDir(m), 'status'), 'utf8'), `unchanged ${NEXT} already runs this image\n`);
  });

  test('refused before anything changes: a digest not sha256:<64 hex>, a tag, another repository, an image Docker cannot pull, a machine not set up', async () => {
    const m = await setUp();
    const before = written(m);
    const repo = IMAGE.slice(0, IMAGE.indexOf('@'));
    const cases: { image: string; env?: Record<string, string>; code: number; says: RegExp }[] = [
      { image: `${repo}@sha256:${'b'.repeat(63)}`, code: 64, says: /--image is '.*@sha256:b{63}': expected REGISTRY\/PATH\/mlabs-runner@sha256:<64 hex>/ },
      { image: `${repo}:latest`, code: 64, says: /--image is '.*:latest': expected .*@sha256:<64 hex>/ },
      { image: `sha256:${'b'.repeat(64)}`, code: 64, says: /expected REGISTRY\/PATH\/mlabs-runner@sha256:<64 hex>/ },
      { image: `ghcr.io/someone/else@sha256:${'b'.repeat(64)}`, code: 64, says: /the service runs us-central1-docker\.pkg\.dev\/mlabs-demo\/mlabs-runner\/mlabs-runner, and upgrade moves it to another digest of that repository only/ },
      { image: NEXT, env: { MLABS_STANDIN_DOCKER_NO_PULL: '1' }, code: 1, says: /docker cannot pull .*manifest unknown.*nothing was changed/ },
    ];
    for (const c of cases) {
      const r = await run(m, request(m, c.image), { ...fast, ...c.env });
      assert.equal(r.code, c.code, `${c.image}: ${r.out}`);
      assert.match(r.out, c.says);
      assert.match(readFileSync(join(hookDir(m), 'status'), 'utf8'), /^failed /, 'the job that asked reads why');
      assert.deepEqual(written(m), before, `${c.image}: nothing written`);
      assert.deepEqual(argsOf(r, 'systemd-run'), []);
      assert.ok(argsOf(r, 'systemctl').every((a) => a[0] === 'is-active'), JSON.stringify(argsOf(r, 'systemctl')));
    }
    // The hook folder is the container user's: a request that is a link is refused unread, and a
    // planted status link is replaced, never written through.
    const outside = join(m.root, 'outside.txt');
    writeFileSync(outside, `${NEXT}\n`);
    symlinkSync(outside, join(hookDir(m), 'request'));
    rmSync(join(hookDir(m), 'status'), { force: true });
    symlinkSync(outside, join(hookDir(m), 'status'));
    const linked = await run(m, ['upgrade', '--machine', 'dgx', '--request', join(hookDir(m), 'request')], fast);
    assert.equal(linked.code, 64, linked.out);
    assert.match(linked.out, /the request at .* is not a plain file \(a link\?\): refused unread; nothing was changed/);
    assert.equal(readFileSync(outside, 'utf8'), `${NEXT}\n`, 'nothing written through the planted link');
    assert.equal(lstatSync(join(hookDir(m), 'status')).isSymbolicLink(), false);
    assert.match(readFileSync(join(hookDir(m), 'status'), 'utf8'), /^failed - /);
    assert.deepEqual(written(m), before);
    assert.deepEqual(linked.calls, []);

    for (const wait of ['soon', '-1', '']) {
      const r = await run(m, ['upgrade', '--machine', 'dgx', '--image', NEXT, '--wait', wait], fast);
      assert.equal(r.code, 64, r.out);
      assert.match(r.out, new RegExp(`--wait is '${wait}': expected whole seconds, 0 or more`));
      assert.deepEqual(r.calls, [], 'refused before any program runs');
      assert.deepEqual(written(m), before);
    }

    const bare = machine('dgx');
    const none = await run(bare, ['upgrade', '--machine', 'dgx', '--image', NEXT]);
    assert.equal(none.code, 64);
    assert.match(none.out, /mlabs-runner-dgx\.service is not set up on this machine: run runner-host\.sh setup first/);
    assert.deepEqual(written(bare), {});
  });

  test('a new runner that does not come online in time is stopped, and the service keeps its image', async () => {
    const m = await setUp();
    const before = written(m);
    const r = await run(m, ['upgrade', '--machine', 'dgx', '--image', NEXT, '--wait', '0'], fast);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`the new runner did not come online within 0s .*the service keeps running ${IMAGE.replace(/[.]/g, '\\.')}`));
    assert.deepEqual(argsOf(r, 'systemctl').filter((a) => a[0] !== 'is-active'), [['stop', 'mlabs-runner-dgx-next.service']]);
    assert.deepEqual(written(m), before, 'the service\'s files as they were, the new runner\'s env file removed');
  });

  test('while the runner the last upgrade started has not served its job, a new upgrade is refused, saying what to do, and changes nothing; undo then stops that runner and deletes its registration', async () => {
    const m = await setUp();
    const sim = newRunnerComesOnline(m);
    const first = await run(m, request(m, NEXT), fast).finally(sim.stop);
    assert.equal(first.code, 0, first.out);
    const state = () => JSON.parse(readFileSync(m.state, 'utf8')) as Record<string, { active: boolean }>;
    assert.equal(state()['mlabs-runner-dgx-next.service']?.active, true, 'the new runner waits for its one job');

    const before = written(m);
    const third = IMAGE.replace(/a{64}$/, 'c'.repeat(64));
    const r = await run(m, request(m, third), fast);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /the runner the last upgrade started \(mlabs-runner-dgx-next\.service, on the image the service now runs\) has not served its one job yet/);
    assert.match(r.out, /run a job on it \(runs-on: \[self-hosted, dgx\]\) and re-run the upgrade once it has, or stop it with sudo systemctl stop mlabs-runner-dgx-next\.service .* Nothing was changed\./);
    assert.match(readFileSync(join(hookDir(m), 'status'), 'utf8'), new RegExp(`^failed ${third.replace(/[.]/g, '\\.')} the runner the last upgrade started`), 'the job that asked reads why');
    assert.deepEqual(written(m), before, 'nothing written');
    assert.deepEqual(r.calls.map((c) => c.tool), ['systemctl'], 'no pull, no unit started');
    assert.deepEqual(argsOf(r, 'systemctl'), [['is-active', '--quiet', 'mlabs-runner-dgx-next.service']]);
    assert.ok(readFileSync(unitPath(m, 'dgx'), 'utf8').includes(NEXT));

    const mark = sb.requests.length;
    const undo = await run(m, ['undo', '--machine', 'dgx', '--scope', 'mlabs/platform', '--token-file', m.tokenFile]);
    assert.equal(undo.code, 0, undo.out);
    assert.deepEqual(argsOf(undo, 'systemctl'), [
      ['disable', '--now', 'mlabs-runner-dgx.service'],
      ['disable', '--now', 'mlabs-runner-upgrade-dgx.path'],
      ['is-active', '--quiet', 'mlabs-runner-dgx-next.service'],
      ['stop', 'mlabs-runner-dgx-next.service'],
      ['daemon-reload'],
    ]);
    assert.match(undo.out, /stopped mlabs-runner-dgx-next\.service/);
    assert.equal(state()['mlabs-runner-dgx-next.service']?.active, false);
    assert.deepEqual(readdirSync(join(m.root, 'etc/systemd/system')), [], 'the service and the upgrade hook\'s path unit and service are gone');
    assert.equal(existsSync(join(m.root, 'var/lib/mlabs-runner')), false, 'the hook folder is gone');
    assert.equal(existsSync(join(m.root, 'usr/local/sbin/mlabs-runner-host')), false, 'the hook\'s copy of the script is gone');
    assert.equal(existsSync(join(m.root, 'etc/mlabs-runner')), false);
    assert.ok(!(sb.state.github as GithubSeed).runners.some((x) => x.name === `dgx-${HOST}-777`), `the new runner's registration is deleted: ${undo.out}`);
    assert.deepEqual(sb.requests.slice(mark).filter((q) => q.rpc === 'runners.delete').map((q) => q.status), [204]);
  });

  test('run by hand, the idle service is restarted onto the new image once the new runner is online', async () => {
    const m = await setUp();
    const sim = newRunnerComesOnline(m);
    const r = await run(m, ['upgrade', '--machine', 'dgx', '--image', NEXT], fast).finally(sim.stop);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(argsOf(r, 'systemctl').filter((a) => a[0] !== 'is-active'), [['daemon-reload'], ['restart', 'mlabs-runner-dgx.service']]);
  });
});
