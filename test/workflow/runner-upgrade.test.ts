/**
 * runner-upgrade end to end through the local workflow runner, against the sandbox's GitHub API and
 * three machines set up by scripts/runner-host (their files in temp roots, docker and systemd as
 * recorded stand-ins). The test plays what each machine does on its own: systemd's path unit runs
 * `runner-host.sh upgrade --request` when a leg writes the request, the new runner's container
 * registers (just in time, with the labels of the env file upgrade wrote for it) and comes online,
 * and the old ephemeral runner's registration goes once the leg that asked is done.
 */
import { afterAll, afterEach, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../harness.js';
import { hostMachine, registerOnline, runHost, type HostRun, type Machine, type MachineKind } from '../support/runner-host.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';

let sb: Sandbox;
let gh: GithubRestService;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };
let TOKEN: string;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  defaults = sandboxDefaults(sb);
  TOKEN = (sb.state.github as GithubSeed).tokens[0]?.token as string;
});
afterAll(async () => sb.stop());

const HOST = hostname();
const REPO = 'us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner/mlabs-runner';
const OLD = `sha256:${'0'.repeat(64)}`;
const NEW = `sha256:${'e'.repeat(64)}`;
const KINDS: MachineKind[] = ['wsl2', 'dgx', 'agx'];
const api = () => sb.env.GITHUB_API_URL as string;

interface Host {
  m: Machine;
  upgrades: HostRun[];
  env: Record<string, string>;
}
let stopHosts: (() => void) | undefined;
afterEach(() => stopHosts?.());

/** The three machines, set up on the old image, and what each does by itself while the workflow runs. */
async function machines(kinds: MachineKind[], hostEnv: Partial<Record<MachineKind, Record<string, string>>> = {}): Promise<Partial<Record<MachineKind, Host>>> {
  gh.reset();
  const hosts: Partial<Record<MachineKind, Host>> = {};
  for (const kind of kinds) {
    const m = hostMachine(kind, TOKEN);
    const r = await runHost(m, ['setup', '--machine', kind, '--scope', 'mlabs/platform', '--image', `${REPO}@${OLD}`, '--token-file', m.tokenFile], api());
    assert.equal(r.code, 0, r.out);
    hosts[kind] = { m, upgrades: [], env: { MLABS_UPGRADE_POLL_SECONDS: '0.2', ...hostEnv[kind] } };
  }
  let busy = false;
  let bridges = 0;
  const timer = setInterval(() => {
    if (busy) return;
    for (const kind of kinds) {
      const h = hosts[kind] as Host;
      const request = join(h.m.root, `var/lib/mlabs-runner/${kind}/upgrade/request`);
      if (!existsSync(request)) continue;
      busy = true;
      // systemd's path unit: the request changed, the upgrade service runs.
      const upgrade = runHost(h.m, ['upgrade', '--machine', kind, '--request', request], api(), h.env);
      // Meanwhile the new runner's container (systemd-run's) registers and comes online.
      const bridge = setInterval(() => {
        const env = join(h.m.root, `etc/mlabs-runner/${kind}.next.env`);
        if (!existsSync(env) || !readFileSync(h.m.log, 'utf8').includes('"systemd-run"')) return;
        clearInterval(bridge);
        const extra = /^RUNNER_EXTRA_LABELS=(.*)$/m.exec(readFileSync(env, 'utf8'))?.[1] ?? '';
        void registerOnline(sb, TOKEN, `${kind}-${HOST}-${++bridges}`, ['self-hosted', 'linux', kind === 'wsl2' ? 'x64' : 'arm64', kind, ...extra.split(',').filter(Boolean)]);
      }, 50);
      void upgrade.then((r) => {
        clearInterval(bridge);
        h.upgrades.push(r);
        // The old runner is ephemeral: its registration goes when the leg that asked ends.
        if (r.code === 0 && r.calls.some((c) => c.tool === 'systemd-run')) {
          const seed = sb.state.github as GithubSeed;
          seed.runners = seed.runners.filter((x) => x.name !== `mlabs-${kind}`);
        }
        busy = false;
      });
      return;
    }
  }, 100);
  stopHosts = () => clearInterval(timer);
  return hosts;
}

function upgrade(hosts: Partial<Record<MachineKind, Host>>, inputs: Record<string, string> = {}): Promise<WorkflowRunResult> {
  return runWorkflow({
    file: join(ROOT, 'workflows/runner-upgrade.yml'),
    inputs,
    env: sb.env,
    // What each machine's runner container gives its jobs (the env file runner-host wrote).
    machineEnv: Object.fromEntries(
      Object.values(hosts).map((h) => [h.m.kind, { MLABS_RUNNER_IMAGE_REF: imageOf(h) ?? '', MLABS_RUNNER_UPGRADE_DIR: join(h.m.root, `var/lib/mlabs-runner/${h.m.kind}/upgrade`) }]),
    ),
    vars: { ...defaults.vars, MLABS_RUNNER_DIGEST: NEW },
    secrets: defaults.secrets,
  });
}
const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log}`)])].join('\n');
const imageOf = (h: Host) => /^MLABS_RUNNER_IMAGE_REF=(.*)$/m.exec(readFileSync(join(h.m.root, `etc/mlabs-runner/${h.m.kind}.env`), 'utf8'))?.[1];
const online = () => (sb.state.github as GithubSeed).runners.filter((r) => r.status === 'online');

test('each machine in turn: its new runner online before the service follows, then one runner per machine on the new digest', async () => {
  const hosts = (await machines(KINDS)) as Record<MachineKind, Host>;
  const r = await upgrade(hosts);
  assert.equal(r.conclusion, 'success', explain(r));
  assert.deepEqual(r.jobs.map((j) => `${j.name} ${j.result}`), ['plan success', 'upgrade (wsl2) success', 'upgrade (dgx) success', 'upgrade (agx) success', 'verify success']);
  for (const kind of KINDS) {
    const h = hosts[kind];
    assert.equal(h.upgrades.length, 1, kind);
    assert.equal(imageOf(h), `${REPO}@${NEW}`);
    assert.ok(readFileSync(join(h.m.root, `etc/systemd/system/mlabs-runner-${kind}.service`), 'utf8').includes(`${REPO}@${NEW}\n`));
    // The new runner was started alongside, and the service only reloaded (its container was serving the leg).
    assert.deepEqual(h.upgrades[0]?.calls.filter((c) => c.tool === 'systemd-run').map((c) => c.args[1]), [`mlabs-runner-${kind}-next.service`]);
    assert.ok(!h.upgrades[0]?.calls.some((c) => c.tool === 'systemctl' && ['restart', 'stop'].includes(c.args[0] ?? '')));
  }
  const verify = r.jobs.find((j) => j.name === 'verify');
  for (const kind of KINDS) assert.match(verify?.summary ?? '', new RegExp(`\\| ${kind} \\| ok \\| ${kind}-${HOST}-\\d+ \\|`));
  assert.deepEqual(online().map((x) => x.name).sort(), [`agx-${HOST}-3`, `dgx-${HOST}-2`, `wsl2-${HOST}-1`]);
  for (const x of online()) assert.ok(x.labels.some((l) => l.name === 'mlabs-image-eeeeeeeeeeee'), x.name);
});

test('a machine with no runner online is reported and not waited for; the others are upgraded', async () => {
  const hosts = (await machines(['dgx', 'agx'])) as Record<'dgx' | 'agx', Host>;
  const agx = (sb.state.github as GithubSeed).runners.find((x) => x.name === 'mlabs-agx');
  assert.ok(agx);
  agx.status = 'offline';
  const r = await upgrade(hosts, { machines: 'dgx,agx' });
  assert.equal(r.conclusion, 'failure', explain(r));
  assert.deepEqual(r.jobs.map((j) => `${j.name} ${j.result}`), ['plan success', 'upgrade (dgx) success', 'verify failure']);
  assert.match(r.jobs[0]?.steps[0]?.log ?? '', /Warning: No runner online on agx: not upgraded/);
  assert.match(r.jobs.at(-1)?.steps[0]?.log ?? '', /Error: agx: no runner online: not upgraded/);
  assert.equal(hosts.agx.upgrades.length, 0);
  assert.equal(imageOf(hosts.agx), `${REPO}@${OLD}`);
  assert.equal(imageOf(hosts.dgx), `${REPO}@${NEW}`);
});

test('a machine whose host cannot pull the image fails its leg, the machines after it are not touched, and verify says so', async () => {
  const hosts = (await machines(['dgx', 'agx'], { dgx: { MLABS_STANDIN_DOCKER_NO_PULL: '1' } })) as Record<'dgx' | 'agx', Host>;
  const r = await upgrade(hosts, { machines: 'dgx, agx' });
  assert.equal(r.conclusion, 'failure', explain(r));
  const leg = r.jobs.find((j) => j.name === 'upgrade (dgx)');
  assert.equal(leg?.result, 'failure');
  assert.match(leg?.steps[0]?.log ?? '', /Error: dgx: docker cannot pull .*manifest unknown.*nothing was changed/);
  assert.notEqual(r.jobs.find((j) => j.name === 'upgrade (agx)')?.result, 'success', 'fail-fast: agx is not upgraded');
  assert.equal(hosts.agx.upgrades.length, 0);
  assert.equal(imageOf(hosts.dgx), `${REPO}@${OLD}`);
  const verify = r.jobs.find((j) => j.name === 'verify');
  assert.equal(verify?.result, 'failure');
  assert.match(verify?.steps[0]?.log ?? '', /Error: dgx: 0 runners online on the new image/);
  assert.match(verify?.steps[0]?.log ?? '', /Error: agx: 0 runners online on the new image/);
});

test('a digest or machine list that is not one is refused before any machine is asked', async () => {
  const hosts = (await machines(['dgx'])) as Record<'dgx', Host>;
  const cases: [Record<string, string>, RegExp][] = [
    [{ digest: 'sha256:1234' }, /Error: digest is 'sha256:1234': expected sha256:<64 hex>/],
    [{ digest: `${REPO}:latest` }, /Error: digest is '.*:latest': expected sha256:<64 hex>/],
    [{ machines: 'dgx,h100' }, /Error: machines is 'dgx,h100': h100 is not a machine; expected a comma-separated list of wsl2, dgx, agx/],
    [{ machines: 'dgx,dgx' }, /Error: machines is 'dgx,dgx': a machine is named twice/],
  ];
  for (const [inputs, says] of cases) {
    const r = await upgrade(hosts, inputs);
    assert.equal(r.conclusion, 'failure', explain(r));
    assert.deepEqual(r.jobs.map((j) => `${j.name} ${j.result}`), ['plan failure', 'upgrade skipped', 'verify skipped']);
    assert.match(r.jobs[0]?.steps[0]?.log ?? '', says);
  }
  assert.equal(hosts.dgx.upgrades.length, 0);
});
