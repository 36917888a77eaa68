/**
 * image-build through its committed bundle with a recorded stand-in `docker`
 * on PATH (no Docker engine runs here): the exact argument arrays per
 * platform, docker login on stdin, the platform check, and the outputs read
 * from buildx's metadata file.
 */
import { beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../harness.js';

const IMAGE = 'us-central1-docker.pkg.dev/p1/runners/mlabs-runner';
const TOKEN = 'ya29.federated-token-for-tests-1234567890';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGESTS: Record<string, string> = {
  'linux/amd64': 'sha256:' + 'a'.repeat(64),
  'linux/arm64': 'sha256:' + 'b'.repeat(64),
};

let dir: string;
let bin: string;
let tokenFile: string;

/** A stand-in docker: appends {argv, stdin} to $DOCKER_RECORD; writes a metadata file for buildx build. */
const STANDIN = `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
let stdin = '';
try { if (argv.includes('--password-stdin')) stdin = fs.readFileSync(0, 'utf8'); } catch {}
fs.appendFileSync(process.env.DOCKER_RECORD, JSON.stringify({ argv, stdin }) + '\\n');
if (argv[0] === 'buildx' && argv[1] === 'inspect') process.exit(process.env.STANDIN_NO_BUILDER === '1' ? 1 : 0);
if (argv[0] === 'buildx' && argv[1] === 'build') {
  const file = argv[argv.indexOf('--metadata-file') + 1];
  const platform = argv[argv.indexOf('--platform') + 1];
  const digests = ${JSON.stringify(DIGESTS)};
  if (process.env.STANDIN_NO_DIGEST !== '1') fs.writeFileSync(file, JSON.stringify({ 'buildx.build.ref': 'mlabs/mlabs0/x', 'containerimage.digest': digests[platform], 'image.name': process.env.STANDIN_IMAGE }));
  console.log('#1 [internal] load build definition from Dockerfile');
}
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlabs-build-'));
  bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'docker'), STANDIN);
  chmodSync(join(bin, 'docker'), 0o755);
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
});


interface Call {
  argv: string[];
  stdin: string;
}

async function build(arch: string, inputs: Record<string, string> = {}, extraEnv: Record<string, string> = {}) {
  const record = join(dir, `record-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(record, '');
  const run = await runAction('image-build', {
    inputs: { image: IMAGE, context: 'runner-image', version: '2.329.0', ...inputs },
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      RUNNER_ARCH: arch,
      DOCKER_RECORD: record,
      STANDIN_IMAGE: IMAGE,
      SOURCE_DATE_EPOCH: '1767225600',
      GITHUB_SHA: SHA,
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
      ...extraEnv,
    },
  });
  const calls = readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call);
  return { run, calls };
}

function expectedBuild(platform: string, slug: string, metadataFile: string): string[] {
  return [
    'buildx', 'build',
    '--builder', 'mlabs',
    '--platform', platform,
    '--label', 'org.opencontainers.image.source=https://github.com/mlabs/platform',
    '--label', `org.opencontainers.image.revision=${SHA}`,
    '--label', 'org.opencontainers.image.created=2026-01-01T00:00:00Z',
    '--label', 'org.opencontainers.image.version=2.329.0',
    '--cache-from', `type=registry,ref=${IMAGE}:buildcache-${slug}`,
    '--cache-to', `type=registry,ref=${IMAGE}:buildcache-${slug},mode=max,image-manifest=true,oci-mediatypes=true`,
    '--provenance', 'mode=max',
    '--sbom', 'false',
    '--output', `type=image,name=${IMAGE},push-by-digest=true,name-canonical=true,push=true`,
    '--metadata-file', metadataFile,
    'runner-image',
  ];
}

function metadataFileOf(call: Call | undefined): string {
  const argv = call?.argv ?? [];
  return argv[argv.indexOf('--metadata-file') + 1] ?? '';
}

test('amd64 on an X64 runner: login with the federated token on stdin, the exact buildx arguments, digest and platform out, logout in post', async () => {
  const { run, calls } = await build('X64');
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  assert.deepEqual(calls[0], { argv: ['login', 'us-central1-docker.pkg.dev', '--username', 'oauth2accesstoken', '--password-stdin'], stdin: TOKEN });
  assert.deepEqual(calls[1]?.argv, ['buildx', 'inspect', '--bootstrap', 'mlabs']);
  const metadata = metadataFileOf(calls[2]);
  assert.ok(metadata.startsWith(run.runnerTemp), 'metadata file lives in RUNNER_TEMP');
  assert.deepEqual(calls[2]?.argv, expectedBuild('linux/amd64', 'amd64', metadata));
  assert.deepEqual(calls[3]?.argv, ['logout', 'us-central1-docker.pkg.dev'], 'post logs out');
  assert.equal(calls.length, 4);
  assert.equal(run.outputs.digest, DIGESTS['linux/amd64']);
  assert.equal(run.outputs.platform, 'linux/amd64');
  assert.equal(run.outputs.reference, `${IMAGE}@${DIGESTS['linux/amd64']}`);
  assert.deepEqual(run.leaks(TOKEN), []);
  assert.match(run.summary, /\| linux\/amd64 \|.*\| yes \|/);
});

test('arm64 on an ARM64 runner: the same arguments for linux/arm64 with its own cache', async () => {
  const { run, calls } = await build('ARM64');
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  const b = calls.find((c) => c.argv[1] === 'build');
  assert.deepEqual(b?.argv, expectedBuild('linux/arm64', 'arm64', metadataFileOf(b)));
  assert.equal(run.outputs.digest, DIGESTS['linux/arm64']);
  assert.equal(run.outputs.platform, 'linux/arm64');
});

test('a requested platform that is not the runner\'s is refused before docker is called', async () => {
  const { run, calls } = await build('X64', { platform: 'linux/arm64' });
  assert.equal(run.exitCode, 1);
  const err = run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
  assert.match(err, /This runner is linux\/amd64; building linux\/arm64 here would run under emulation/);
  assert.match(err, /Fix: .*allow_emulation: true/);
  assert.equal(calls.filter((c) => c.argv[0] !== 'logout').length, 0, 'no login, no build');
});

test('allow_emulation: true builds the requested platform with a warning', async () => {
  const { run, calls } = await build('X64', { platform: 'linux/arm64', allow_emulation: 'true' });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  assert.ok(run.main.annotations.some((a) => a.level === 'warning' && /under emulation/.test(a.message)));
  const b = calls.find((c) => c.argv[1] === 'build');
  assert.deepEqual(b?.argv, expectedBuild('linux/arm64', 'arm64', metadataFileOf(b)));
  assert.equal(run.outputs.platform, 'linux/arm64');
  assert.match(run.summary, /no \(emulated\)/);
});

test('a missing builder is created (docker-container driver); a username and password log in instead of the token', async () => {
  const { run, calls } = await build('ARM64', { username: 'robot', password: 's3cret-registry-password', cache: 'false', build_args: 'RUNNER_VERSION=2.329.0\nTARGET_LIST=a,b' }, { STANDIN_NO_BUILDER: '1' });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  assert.deepEqual(calls[0], { argv: ['login', 'us-central1-docker.pkg.dev', '--username', 'robot', '--password-stdin'], stdin: 's3cret-registry-password' });
  assert.deepEqual(calls[2]?.argv, ['buildx', 'create', '--name', 'mlabs', '--driver', 'docker-container', '--bootstrap']);
  const b = calls[3]?.argv ?? [];
  assert.ok(!b.includes('--cache-from') && !b.includes('--cache-to'), 'cache: false');
  assert.deepEqual(b.slice(6, 10), ['--build-arg', 'RUNNER_VERSION=2.329.0', '--build-arg', 'TARGET_LIST=a,b']);
  assert.deepEqual(run.leaks('s3cret-registry-password'), []);
});

test('no digest in buildx metadata fails the step', async () => {
  const { run } = await build('X64', {}, { STANDIN_NO_DIGEST: '1' });
  assert.equal(run.exitCode, 1);
  assert.match(run.main.annotations.find((a) => a.level === 'error')?.message ?? '', /metadata/);
});
