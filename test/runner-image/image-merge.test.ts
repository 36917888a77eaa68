/**
 * image-merge against a real registry: Debian's docker-registry on loopback,
 * single-platform images written here as OCI layouts and pushed by digest with
 * skopeo, the action run from its committed bundle, and the result read back
 * with skopeo (an independent client).
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../harness.js';
import { inspectRaw, listTags, makeLayout, pushByDigest, sha256, startRegistry, type Registry } from './registry.js';

const env = { MLABS_RETRY_BASE_MS: '1' };

interface IndexJson {
  mediaType: string;
  manifests: Array<{ mediaType: string; digest: string; size: number; platform: { os: string; architecture: string; variant?: string } }>;
}

function errorOf(run: Awaited<ReturnType<typeof runAction>>): string {
  return run.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
}

describe('image-merge with an open registry', () => {
  let reg: Registry;
  let work: string;
  let amd64: string;
  let arm64: string;
  let amd64b: string;
  let repo: string;

  beforeAll(async () => {
    reg = await startRegistry();
    work = mkdtempSync(join(tmpdir(), 'mlabs-merge-'));
    repo = `${reg.host}/mlabs-runner`;
    amd64 = pushByDigest(makeLayout(work, { architecture: 'amd64' }), repo);
    arm64 = pushByDigest(makeLayout(work, { architecture: 'arm64', variant: 'v8' }), repo);
    amd64b = pushByDigest(makeLayout(work, { architecture: 'amd64' }, '-second-build'), repo);
  });
  afterAll(async () => {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the images were pushed by digest only: the repository has no tags yet', () => {
    assert.deepEqual(listTags(repo), []);
  });

  test('a missing platform fails before any tag is written', async () => {
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: amd64, tags: 'v1-missing' } });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /linux\/arm64 is missing.*No tag was written/s);
    assert.deepEqual(listTags(repo), []);
  });

  test('a duplicated platform fails before any tag is written', async () => {
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: [amd64, arm64, amd64b].join('\n'), tags: 'v1-dup' } });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /linux\/amd64 appears 2 times/);
    assert.ok(errorOf(run).includes(amd64) && errorOf(run).includes(amd64b), errorOf(run));
    assert.deepEqual(listTags(repo), []);
  });

  test('a digest the registry does not have fails before any tag is written', async () => {
    const ghost = sha256('no such manifest');
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: `${amd64},${arm64},${ghost}`, tags: 'v1-ghost' } });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), new RegExp(`no manifest ${ghost}`));
    assert.deepEqual(listTags(repo), []);
  });

  test('an unexpected extra platform fails too', async () => {
    const ppc = pushByDigest(makeLayout(work, { architecture: 'ppc64le' }), repo);
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: `${amd64},${arm64},${ppc}`, tags: 'v1-extra' } });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /linux\/ppc64le .* is not an expected platform/);
    assert.deepEqual(listTags(repo), []);
  });

  test('inputs are validated before the registry is called', async () => {
    for (const [inputs, re] of [
      [{ image: `${repo}:latest`, digests: amd64, tags: 'x' }, /Input "image"/],
      [{ image: repo, digests: 'sha256:abc', tags: 'x' }, /Input "digests"/],
      [{ image: repo, digests: amd64, tags: '-bad' }, /Input "tags"/],
      [{ image: repo, digests: amd64, tags: 'x', username: 'ci' }, /Input "password"/],
    ] as const) {
      const run = await runAction('image-merge', { env, inputs });
      assert.equal(run.exitCode, 1);
      assert.match(errorOf(run), re);
    }
    assert.deepEqual(listTags(repo), []);
  });

  let firstDigest = '';

  test('two platforms become one OCI index, tagged; skopeo reads back both platforms and the right digests', async () => {
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: `${amd64}\n${arm64}`, tags: '2.329.0,sha-0123abc,latest' } });
    assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
    firstDigest = run.outputs.digest as string;
    assert.match(firstDigest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(run.outputs.tags, '2.329.0,sha-0123abc,latest');
    assert.equal(run.outputs.reference, `${repo}@${firstDigest}`);
    assert.deepEqual(listTags(repo).sort(), ['2.329.0', 'latest', 'sha-0123abc']);
    for (const tag of ['2.329.0', 'sha-0123abc', 'latest']) {
      const got = inspectRaw(`${repo}:${tag}`);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(sha256(got.raw), firstDigest, `${tag} is the index`);
      const index = got.json as unknown as IndexJson;
      assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.deepEqual(
        index.manifests.map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]),
        [
          ['linux/amd64', amd64],
          ['linux/arm64', arm64],
        ],
      );
      for (const m of index.manifests) {
        const child = inspectRaw(`${repo}@${m.digest}`);
        assert.equal(m.size, Buffer.byteLength(child.raw), 'descriptor size is the manifest size');
        assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      }
    }
    assert.match(run.summary, /\| Platform \| Digest \| Size \(bytes\) \|/);
    assert.match(run.summary, new RegExp(`\\| linux/amd64 \\| \`${amd64}\` \\| \\d+ \\|`));
    assert.match(run.summary, new RegExp(`\\| linux/arm64 \\| \`${arm64}\` \\| \\d+ \\|`));
  });

  test('re-running with the same digests (in any order) writes the same index digest', async () => {
    assert.ok(firstDigest, 'the merge test ran first');
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: `${arm64}, ${amd64}`, tags: 'latest,rerun' } });
    assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
    assert.equal(run.outputs.digest, firstDigest);
    assert.equal(sha256(inspectRaw(`${repo}:rerun`).raw), firstDigest);
    assert.equal(sha256(inspectRaw(`${repo}:latest`).raw), firstDigest);
  });
});

describe('image-merge with a registry that requires Basic auth (htpasswd, bcrypt)', () => {
  // bcrypt of "mlabs-test-password-1" (cost 5), made once with libxcrypt; docker-registry only reads bcrypt.
  const password = 'mlabs-test-password-1';
  const htpasswd = 'ci:$2b$05$vQHzqqPqf.4DEGAolxn3IOw5SkywWOt/IlP3pVe.xx.mkyfnmgoqq\n';
  const creds = `ci:${password}`;
  let reg: Registry;
  let work: string;
  let repo: string;
  let digests: string[];

  beforeAll(async () => {
    reg = await startRegistry({ htpasswd });
    work = mkdtempSync(join(tmpdir(), 'mlabs-merge-auth-'));
    repo = `${reg.host}/team/mlabs-runner`;
    digests = [pushByDigest(makeLayout(work, { architecture: 'arm64' }), repo, creds), pushByDigest(makeLayout(work, { architecture: 'amd64' }), repo, creds)];
  });
  afterAll(async () => {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('without credentials it fails with what to do, and writes nothing', async () => {
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: digests.join(','), tags: 'v1' } });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /requires credentials.*\nFix: Give `username` and `password`/s);
    assert.deepEqual(listTags(repo, creds), []);
  });

  test('a wrong password is refused, and is never printed', async () => {
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: digests.join(','), tags: 'v1', username: 'ci', password: 'wrong-password-xyz' } });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /refused the credentials of "ci"/);
    assert.deepEqual(run.leaks('wrong-password-xyz'), []);
    assert.deepEqual(listTags(repo, creds), []);
  });

  test('with username and password the index is written; the password never reaches a log, output or summary', async () => {
    const run = await runAction('image-merge', { env, inputs: { image: repo, digests: digests.join(','), tags: 'v1', username: 'ci', password } });
    assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
    assert.deepEqual(run.leaks(password), []);
    assert.deepEqual(run.leaks(Buffer.from(creds).toString('base64')), []);
    const index = inspectRaw(`${repo}:v1`, creds);
    assert.equal(index.code, 0, index.stderr);
    assert.equal(sha256(index.raw), run.outputs.digest);
    const platforms = (index.json as unknown as IndexJson).manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`);
    assert.deepEqual(platforms, ['linux/amd64', 'linux/arm64'], 'ordered by the expected platforms, not by input order');
  });
});
