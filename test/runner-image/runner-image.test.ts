/**
 * runner-image/: the Dockerfile, versions.json and install-tool.sh read together
 * (every download pinned and checksum-verified per architecture, base pinned by
 * digest, non-root final user, OCI labels), install-tool.sh run for real against
 * local files, and the entrypoint run against a stand-in GitHub API.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runProgram } from '../harness.js';

const DIR = join(ROOT, 'runner-image');
const dockerfile = readFileSync(join(DIR, 'Dockerfile'), 'utf8');
const installer = readFileSync(join(DIR, 'install-tool.sh'), 'utf8');

interface Tool {
  version: string;
  url: string;
  arch: Record<string, string>;
  sha256: Record<string, string>;
  install: { type: 'binary' | 'tar' | 'zip'; path?: string; dir?: string; strip?: number; links?: string[] };
}
interface Versions {
  base: { image: string; digest: string };
  architectures: string[];
  tools: Record<string, Tool>;
}
const versions = JSON.parse(readFileSync(join(DIR, 'versions.json'), 'utf8')) as Versions;

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  const out: Array<{ op: string; args: string }> = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line.startsWith('#') || line === '')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const m = /^(\w+)\s+(.*)$/.exec(current);
      if (m) out.push({ op: (m[1] as string).toUpperCase(), args: m[2] as string });
      current = '';
    }
  }
  return out;
}
const steps = instructions(dockerfile);

test('the base image is pinned by digest, and it is the one versions.json names', () => {
  const arg = steps.find((s) => s.op === 'ARG' && s.args.startsWith('BASE_IMAGE='));
  assert.ok(arg, 'ARG BASE_IMAGE=...');
  const base = arg.args.slice('BASE_IMAGE='.length);
  assert.match(base, /^[^@\s]+@sha256:[a-f0-9]{64}$/);
  assert.equal(base, `${versions.base.image}@${versions.base.digest}`);
  const froms = steps.filter((s) => s.op === 'FROM');
  assert.deepEqual(froms.map((f) => f.args), ['${BASE_IMAGE}'], 'one stage, from the pinned base');
});

test('versions.json pins every tool with an https URL and a sha256 for every architecture', () => {
  assert.deepEqual(versions.architectures, ['amd64', 'arm64']);
  const names = Object.keys(versions.tools);
  for (const expected of ['actions-runner', 'gcloud', 'gke-gcloud-auth-plugin', 'kubectl', 'helm', 'minikube', 'terraform', 'docker', 'buildx', 'node', 'uv']) {
    assert.ok(names.includes(expected), `${expected} is pinned`);
  }
  for (const [name, tool] of Object.entries(versions.tools)) {
    assert.match(tool.version, /^[0-9][0-9A-Za-z.+-]*$/, `${name}: a version, not a channel`);
    assert.match(tool.url, /^https:\/\//, `${name}: https`);
    assert.ok(tool.url.includes('{arch}') && tool.url.includes('{version}'), `${name}: the URL depends on version and architecture`);
    for (const arch of versions.architectures) {
      assert.ok(tool.arch[arch], `${name}: upstream name for ${arch}`);
      assert.match(tool.sha256[arch] ?? '', /^[a-f0-9]{64}$/, `${name}: sha256 for ${arch}`);
    }
    assert.deepEqual(Object.keys(tool.sha256).sort(), [...versions.architectures].sort(), `${name}: no checksum for an unknown architecture`);
  }
});

test('the Dockerfile installs exactly the tools of versions.json, each through install-tool.sh, and downloads nothing else', () => {
  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  const installed = runs.flatMap((r) => [...r.matchAll(/\/opt\/mlabs\/install-tool\.sh\s+([a-z0-9-]+)/g)].map((m) => m[1] as string));
  assert.deepEqual([...installed].sort(), Object.keys(versions.tools).sort());
  assert.equal(new Set(installed).size, installed.length, 'each tool once');
  for (const s of steps) {
    if (s.op === 'RUN') assert.doesNotMatch(s.args, /\b(curl|wget)\s+-|\bwget\s|https?:\/\//, `no direct download in RUN ${s.args.slice(0, 60)}`);
    if (s.op === 'ADD') assert.doesNotMatch(s.args, /https?:\/\//, 'no ADD of a URL');
  }
  assert.ok(steps.some((s) => s.op === 'COPY' && /versions\.json/.test(s.args) && /install-tool\.sh/.test(s.args)));
  assert.ok(steps.some((s) => s.op === 'ARG' && s.args === 'TARGETARCH'), 'ARG TARGETARCH');
});

test('install-tool.sh verifies the per-architecture sha256 before anything is unpacked, and refuses placeholders', () => {
  const check = installer.indexOf('sha256sum --check');
  assert.ok(check > 0);
  assert.ok(installer.indexOf('curl -fsSL') < check);
  for (const unpack of ['install -D', 'tar -xf', 'unzip -q']) assert.ok(installer.indexOf(unpack) > check, `${unpack} after the check`);
  assert.match(installer, /\.sha256\[\$a\]/, 'the checksum is chosen by TARGETARCH');
  assert.match(installer, /--proto '=https'/);
});

test('the final user is not root, and the OCI labels come from build arguments', () => {
  const users = steps.filter((s) => s.op === 'USER').map((s) => s.args);
  const last = users.at(-1) ?? 'root';
  assert.ok(!['root', '0', '0:0'].includes(last), `final USER ${last}`);
  const labels = steps.filter((s) => s.op === 'LABEL').map((s) => s.args).join(' ');
  for (const [label, arg] of [['source', 'SOURCE'], ['revision', 'REVISION'], ['version', 'VERSION'], ['created', 'CREATED']]) {
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${label}="\\$\\{${arg}\\}"`));
    assert.ok(steps.some((s) => s.op === 'ARG' && s.args.startsWith(`${arg}=`)), `ARG ${arg}`);
  }
  assert.match(dockerfile, /NVIDIA Container Toolkit/, 'the GPU expectation is documented');
  assert.ok(!/nvidia-driver|cuda-drivers/.test(dockerfile), 'no driver in the image');
});

// ---- install-tool.sh for real, with a stand-in curl that serves local files ----

function sha(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function installerSandbox() {
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-install-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // curl stand-in: `-o FILE URL` copies files/<basename of URL> to FILE and logs the URL.
  writeFileSync(
    join(bin, 'curl'),
    `#!/usr/bin/env bash\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; --proto|--retry) shift 2;; -*) shift;; *) url="$1"; shift;; esac; done\necho "$url" >> "${dir}/urls"\ncp "${dir}/files/$(basename "$url")" "$out"\n`,
  );
  chmodSync(join(bin, 'curl'), 0o755);
  mkdirSync(join(dir, 'files'));
  return { dir, bin };
}

function runInstaller(box: { dir: string; bin: string }, name: string, versionsFile: string, arch: string) {
  return spawnSync('bash', [join(DIR, 'install-tool.sh'), name, versionsFile], {
    encoding: 'utf8',
    env: { PATH: `${box.bin}:${process.env.PATH}`, TARGETARCH: arch, MLABS_BIN_DIR: join(box.dir, 'usr-bin') },
  });
}

test('install-tool.sh installs with the right checksum for the architecture, and fails closed on a wrong one', () => {
  const box = installerSandbox();
  const amd = Buffer.from('#!/bin/sh\necho kubectl-amd64\n');
  const arm = Buffer.from('#!/bin/sh\necho kubectl-arm64\n');
  writeFileSync(join(box.dir, 'files', 'kubectl-amd64'), amd);
  writeFileSync(join(box.dir, 'files', 'kubectl-arm64'), arm);
  const target = join(box.dir, 'opt', 'kubectl');
  const file = join(box.dir, 'versions.json');
  const write = (sums: Record<string, string>) =>
    writeFileSync(
      file,
      JSON.stringify({
        tools: {
          kubectl: { version: '1.33.5', url: 'https://dl.example/v{version}/kubectl-{arch}', arch: { amd64: 'amd64', arm64: 'arm64' }, sha256: sums, install: { type: 'binary', path: target } },
        },
      }),
    );
  write({ amd64: sha(amd), arm64: sha(arm) });
  const ok = runInstaller(box, 'kubectl', file, 'arm64');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(readFileSync(target, 'utf8'), arm.toString(), 'the arm64 build was installed');
  assert.match(readFileSync(join(box.dir, 'urls'), 'utf8'), /https:\/\/dl\.example\/v1\.33\.5\/kubectl-arm64/);

  write({ amd64: sha(arm), arm64: sha(amd) }); // swapped: each arch gets the other's checksum
  const target2 = join(box.dir, 'opt', 'kubectl');
  const bad = runInstaller(box, 'kubectl', file, 'amd64');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout + bad.stderr, /FAILED/);
  assert.equal(readFileSync(target2, 'utf8'), arm.toString(), 'nothing was replaced');

  write({ amd64: '0'.repeat(64), arm64: '0'.repeat(64) });
  const placeholder = runInstaller(box, 'kubectl', file, 'amd64');
  assert.notEqual(placeholder.status, 0);
  assert.match(placeholder.stderr, /no real checksum/);

  const noArch = runInstaller(box, 'kubectl', file, 'riscv64');
  assert.notEqual(noArch.status, 0);
  assert.match(noArch.stderr, /no build for riscv64/);
});

test('install-tool.sh unpacks a verified tarball and links its binaries', () => {
  const box = installerSandbox();
  const src = join(box.dir, 'src', 'helm-linux-arm64');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'helm'), '#!/bin/sh\necho helm\n');
  chmodSync(join(src, 'helm'), 0o755);
  const tgz = join(box.dir, 'files', 'helm-v3.19.0-linux-arm64.tar.gz');
  assert.equal(spawnSync('tar', ['-czf', tgz, '-C', join(box.dir, 'src'), 'helm-linux-arm64']).status, 0);
  const file = join(box.dir, 'versions.json');
  const dir = join(box.dir, 'opt', 'helm');
  writeFileSync(
    file,
    JSON.stringify({
      tools: {
        helm: { version: '3.19.0', url: 'https://get.helm.sh/helm-v{version}-linux-{arch}.tar.gz', arch: { amd64: 'amd64', arm64: 'arm64' }, sha256: { amd64: 'f'.repeat(64), arm64: sha(readFileSync(tgz)) }, install: { type: 'tar', dir, strip: 1, links: ['helm'] } },
      },
    }),
  );
  const r = runInstaller(box, 'helm', file, 'arm64');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'helm')));
  assert.equal(spawnSync(join(box.dir, 'usr-bin', 'helm'), { encoding: 'utf8' }).stdout, 'helm\n');
});

// ---- the entrypoint against a stand-in GitHub API ----

interface Recorded {
  method: string;
  url: string;
  auth: string;
  body: string;
}

async function githubStandIn(status = 201) {
  const calls: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization ?? '', body });
      if (req.method === 'POST' && req.url?.endsWith('/actions/runners/generate-jitconfig')) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 201 ? JSON.stringify({ runner: { id: 42, name: 'x' }, encoded_jit_config: 'ENCODED-JIT-CONFIG' }) : JSON.stringify({ message: 'Resource not accessible by integration' }));
      } else if (req.method === 'DELETE') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { calls, url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

function runEntrypoint(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProgram('bash', [join(DIR, 'entrypoint.sh')], { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env });
}

const TOKEN = 'ghs_registration-token-for-tests-0123456789';
const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';

function runnerHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'mlabs-runner-home-'));
  writeFileSync(join(home, 'run.sh'), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${home}/args"\nenv > "${home}/env"\nexit 0\n`);
  chmodSync(join(home, 'run.sh'), 0o755);
  return home;
}

test('the entrypoint registers a JIT runner with the machine labels, runs it once, and removes it; the token never reaches a log or the runner', async () => {
  const gh = await githubStandIn();
  const home = runnerHome();
  try {
    const r = await runEntrypoint({ RUNNER_TOKEN: TOKEN, RUNNER_SCOPE: 'mlabs/platform', MLABS_MACHINE: 'dgx', RUNNER_NAME: 'dgx-test', GITHUB_API_URL: gh.url, RUNNER_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(gh.calls.length, 2);
    const [post, del] = gh.calls as [Recorded, Recorded];
    assert.equal(post.method, 'POST');
    assert.equal(post.url, '/repos/mlabs/platform/actions/runners/generate-jitconfig');
    assert.equal(post.auth, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(post.body), { name: 'dgx-test', runner_group_id: 1, labels: ['self-hosted', 'linux', ARCH, 'dgx'], work_folder: '_work' });
    assert.deepEqual(readFileSync(join(home, 'args'), 'utf8').trim().split('\n'), ['--jitconfig', 'ENCODED-JIT-CONFIG']);
    assert.equal(del.method, 'DELETE');
    assert.equal(del.url, '/repos/mlabs/platform/actions/runners/42');
    assert.ok(!(r.stdout + r.stderr).includes(TOKEN), 'token not logged');
    assert.ok(!readFileSync(join(home, 'env'), 'utf8').includes(TOKEN), 'the runner and its jobs do not inherit the token');
    assert.match(r.stderr, /runner 42 removed/);
  } finally {
    await gh.close();
  }
});

test('an organisation scope uses the organisation endpoint; extra labels are added', async () => {
  const gh = await githubStandIn();
  try {
    const r = await runEntrypoint({ RUNNER_TOKEN: TOKEN, RUNNER_SCOPE: 'mlabs', MLABS_MACHINE: 'agx', RUNNER_EXTRA_LABELS: 'jetson,orin', GITHUB_API_URL: gh.url, RUNNER_HOME: runnerHome() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(gh.calls[0]?.url, '/orgs/mlabs/actions/runners/generate-jitconfig');
    assert.deepEqual(JSON.parse(gh.calls[0]?.body ?? '{}').labels, ['self-hosted', 'linux', ARCH, 'agx', 'jetson', 'orin']);
    assert.equal(gh.calls[1]?.url, '/orgs/mlabs/actions/runners/42');
  } finally {
    await gh.close();
  }
});

test('the entrypoint refuses a wrong machine label before calling GitHub, and reports a refused registration without the token', async () => {
  const gh = await githubStandIn(403);
  try {
    const wrong = await runEntrypoint({ RUNNER_TOKEN: TOKEN, RUNNER_SCOPE: 'mlabs/platform', MLABS_MACHINE: 'laptop', GITHUB_API_URL: gh.url, RUNNER_HOME: runnerHome() });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /expected wsl2, dgx or agx/);
    assert.equal(gh.calls.length, 0);
    const refused = await runEntrypoint({ RUNNER_TOKEN: TOKEN, RUNNER_SCOPE: 'mlabs/platform', MLABS_MACHINE: 'wsl2', GITHUB_API_URL: gh.url, RUNNER_HOME: runnerHome() });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /generate-jitconfig answered 403: Resource not accessible by integration/);
    assert.ok(!(refused.stdout + refused.stderr).includes(TOKEN));
    assert.equal(gh.calls.length, 1, 'nothing to remove when nothing was registered');
  } finally {
    await gh.close();
  }
});
