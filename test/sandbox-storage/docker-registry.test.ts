/**
 * The sandbox's Artifact Registry Docker host (LOCATION-docker.pkg.dev, the registry API v2) proved
 * with skopeo, a client nobody here wrote: copy an image in, inspect it, list tags, delete; one state
 * with the REST API (a pushed manifest is a version, a REST delete removes the manifest); token auth
 * as Artifact Registry does it; the spec's errors in their JSON shape. Then image-merge and
 * image-prune's reference check, from their committed bundles, against the same host.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, runProgram } from '../harness.js';
import { makeLayout, sha256 } from '../runner-image/registry.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { seedDigest } from '../../scripts/sandbox/apis/artifactregistry.js';

let sb: Sandbox;
let work: string;
let host: string;
const IMAGE_PATH = 'mlabs-demo/mlabs-runner/mlabs-runner';
const AR_IMAGE = `us-central1-docker.pkg.dev/${IMAGE_PATH}`;
const PKG = 'projects/mlabs-demo/locations/us-central1/repositories/mlabs-runner/packages/mlabs-runner';

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  work = mkdtempSync(join(tmpdir(), 'mlabs-docker-registry-'));
  const m = /us-central1-docker\.pkg\.dev=(127\.0\.0\.1:\d+)/.exec(sb.env.MLABS_DOCKER_REGISTRY_OVERRIDES ?? '');
  assert.ok(m, `MLABS_DOCKER_REGISTRY_OVERRIDES names the us-central1 host: ${sb.env.MLABS_DOCKER_REGISTRY_OVERRIDES}`);
  host = m[1] as string;
});
afterAll(async () => {
  await sb.stop();
  rmSync(work, { recursive: true, force: true });
});

/** skopeo, asynchronously (the sandbox answers from this process). */
async function skopeo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProgram('skopeo', args, { PATH: process.env.PATH ?? '', HOME: work });
}
const creds = () => ['--creds', `oauth2accesstoken:${sb.accessToken}`];
const ref = (suffix = '') => `docker://${host}/${IMAGE_PATH}${suffix}`;

async function rest(path: string, method = 'GET'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${sb.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY}v1/${path}`, { method, headers: { authorization: `Bearer ${sb.accessToken}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
const versionNames = async (): Promise<string[]> =>
  (((await rest(`${PKG}/versions?pageSize=1000`)).json.versions as Array<{ name: string }> | undefined) ?? []).map((v) => v.name.slice(v.name.lastIndexOf('/') + 1)).sort();

describe('skopeo against the Docker host', () => {
  test('copy an image in by tag: the manifest becomes an Artifact Registry version and the tag an AR tag; inspect and list-tags read it back', async () => {
    const layout = makeLayout(work, { architecture: 'arm64', variant: 'v8' });
    const before = await versionNames();
    const copy = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${sb.accessToken}`, `oci:${layout.dir}`, ref(':skopeo-1'));
    assert.equal(copy.code, 0, copy.stderr);
    assert.deepEqual(await versionNames(), [...before, layout.manifestDigest].sort());
    const tag = await rest(`${PKG}/tags/skopeo-1`);
    assert.equal(tag.json.version, `${PKG}/versions/${layout.manifestDigest}`);
    const version = await rest(`${PKG}/versions/${layout.manifestDigest}`);
    assert.equal((version.json.metadata as { mediaType: string }).mediaType, 'application/vnd.oci.image.manifest.v1+json');

    const inspect = await skopeo('inspect', '--tls-verify=false', ...creds(), ref(':skopeo-1'));
    assert.equal(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout) as { Digest: string; Architecture: string; Variant?: string; RepoTags: string[] };
    assert.equal(info.Digest, layout.manifestDigest);
    assert.equal(info.Architecture, 'arm64');
    assert.ok(info.RepoTags.includes('skopeo-1') && info.RepoTags.includes('latest'), info.RepoTags.join(','));

    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', ...creds(), ref(`@${layout.manifestDigest}`));
    assert.equal(sha256(raw.stdout), layout.manifestDigest, 'the bytes served are the bytes pushed');
    const seeded = await skopeo('inspect', '--raw', '--tls-verify=false', ...creds(), ref(':v1.4.0'));
    assert.equal(sha256(seeded.stdout), seedDigest('mlabs-runner:v1.4.0'), 'a seeded version serves content whose digest is its name');

    const back = await skopeo('copy', '--src-tls-verify=false', '--src-creds', `oauth2accesstoken:${sb.accessToken}`, ref(':skopeo-1'), `oci:${join(work, 'out')}:x`);
    assert.equal(back.code, 0, back.stderr);
  });

  test('list-tags matches the REST tags; delete by tag removes the version and its tags, in both APIs', async () => {
    const layout = makeLayout(work, { architecture: 'amd64' }, '-delete-me');
    assert.equal((await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${sb.accessToken}`, `oci:${layout.dir}`, ref(':delete-me'))).code, 0);
    const list = await skopeo('list-tags', '--tls-verify=false', ...creds(), ref());
    assert.equal(list.code, 0, list.stderr);
    const restTags = (((await rest(`${PKG}/tags?pageSize=1000`)).json.tags as Array<{ name: string }>) ?? []).map((t) => t.name.slice(t.name.lastIndexOf('/') + 1)).sort();
    assert.deepEqual((JSON.parse(list.stdout) as { Tags: string[] }).Tags.sort(), restTags);
    assert.ok(restTags.includes('delete-me'));

    const del = await skopeo('delete', '--tls-verify=false', ...creds(), ref(':delete-me'));
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!(await versionNames()).includes(layout.manifestDigest));
    assert.equal((await rest(`${PKG}/tags/delete-me`)).status, 404);
    const gone = await skopeo('inspect', '--raw', '--tls-verify=false', ...creds(), ref(`@${layout.manifestDigest}`));
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/);
  });

  test('a version deleted through the REST API is gone from the registry', async () => {
    const layout = makeLayout(work, { architecture: 'amd64' }, '-rest-delete');
    assert.equal((await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${sb.accessToken}`, `oci:${layout.dir}`, ref(`@${layout.manifestDigest}`))).code, 0);
    assert.equal((await skopeo('inspect', '--raw', '--tls-verify=false', ...creds(), ref(`@${layout.manifestDigest}`))).code, 0);
    const op = await rest(`${PKG}/versions/${layout.manifestDigest}`, 'DELETE');
    assert.equal(op.status, 200);
    for (let i = 0; i < 100 && (await versionNames()).includes(layout.manifestDigest); i++) await new Promise((r) => setTimeout(r, 20));
    const after = await skopeo('inspect', '--raw', '--tls-verify=false', ...creds(), ref(`@${layout.manifestDigest}`));
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /manifest unknown/);
  });

  test('without credentials skopeo is refused with Artifact Registry\'s words', async () => {
    const r = await skopeo('inspect', '--tls-verify=false', ref(':latest'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied: Unauthenticated request\. Unauthenticated requests do not have permission \\?"artifactregistry\.repositories\.downloadArtifacts\\?" on resource \\?"projects\/mlabs-demo\/locations\/us-central1\/repositories\/mlabs-runner\\?"/);
    const bad = await skopeo('inspect', '--tls-verify=false', '--creds', 'oauth2accesstoken:not-a-token', ref(':latest'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /No valid credential was supplied|401/);
  });
});

describe('IAM on the Docker host: pull, push and delete need the repository permissions Artifact Registry checks', () => {
  const ci = () => `oauth2accesstoken:${sb.ciToken}`;
  const REPO = 'projects/mlabs-demo/locations/us-central1/repositories/mlabs-runner';
  const grant = (...roles: string[]) => sb.iam.setPolicy({ project: roles.map((role) => ({ role, members: [`serviceAccount:${sb.ciServiceAccount}`] })) });

  test('the CI account pushes, reads and deletes under the Terraform policy (its Artifact Registry role)', async () => {
    const layout = makeLayout(work, { architecture: 'amd64' }, '-iam-ci');
    const copy = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', ci(), `oci:${layout.dir}`, ref(':iam-ci'));
    assert.equal(copy.code, 0, copy.stderr);
    const inspect = await skopeo('inspect', '--raw', '--tls-verify=false', '--creds', ci(), ref(':iam-ci'));
    assert.equal(inspect.code, 0, inspect.stderr);
    const del = await skopeo('delete', '--tls-verify=false', '--creds', ci(), ref(`@${layout.manifestDigest}`));
    assert.equal(del.code, 0, del.stderr);
  });

  test('a reader pulls but is refused a push (uploadArtifacts) and a delete (deleteArtifacts); without a role even a pull is refused (downloadArtifacts), in the registry\'s words', async () => {
    const layout = makeLayout(work, { architecture: 'amd64' }, '-iam-reader');
    assert.equal((await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${sb.accessToken}`, `oci:${layout.dir}`, ref(':iam-reader'))).code, 0);
    // skopeo prints `denied: MESSAGE` for a copy or inspect, the registry's JSON body (quotes escaped) for a delete.
    const q = '\\\\*"';
    const message = (permission: string) => `Permission ${q}artifactregistry\\.repositories\\.${permission}${q} denied on resource ${q}${REPO.replace(/\//g, '\\/')}${q} \\(or it may not exist\\)`;
    const denied = (permission: string) => new RegExp(`denied: ${message(permission)}`);
    try {
      grant('roles/artifactregistry.reader');
      const pull = await skopeo('inspect', '--raw', '--tls-verify=false', '--creds', ci(), ref(':iam-reader'));
      assert.equal(pull.code, 0, pull.stderr);
      const other = makeLayout(work, { architecture: 'arm64' }, '-iam-refused');
      const push = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', ci(), `oci:${other.dir}`, ref(':iam-refused'));
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, denied('uploadArtifacts'));
      const del = await skopeo('delete', '--tls-verify=false', '--creds', ci(), ref(`@${layout.manifestDigest}`));
      assert.notEqual(del.code, 0);
      assert.match(del.stderr, new RegExp(`"code\\\\*": \\\\*"DENIED[\\s\\S]*${message('deleteArtifacts')}[\\s\\S]*\\(403 Forbidden\\)`));

      grant('roles/container.developer');
      const none = await skopeo('inspect', '--raw', '--tls-verify=false', '--creds', ci(), ref(':iam-reader'));
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, denied('downloadArtifacts'));
      // The registry's own error shape, over plain HTTP with the access token as Basic.
      const res = await fetch(`http://${host}/v2/${IMAGE_PATH}/manifests/iam-reader`, { headers: { authorization: `Basic ${Buffer.from(ci()).toString('base64')}` } });
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), { errors: [{ code: 'DENIED', message: `Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "${REPO}" (or it may not exist)` }] });
    } finally {
      sb.iam.setPolicy(undefined);
    }
  });
});

describe('the registry API v2 over plain HTTP', () => {
  const base = () => `http://${host}/v2`;
  const basic = () => `Basic ${Buffer.from(`oauth2accesstoken:${sb.accessToken}`).toString('base64')}`;
  const errorsOf = async (res: Response) => ((await res.json()) as { errors: Array<{ code: string; message: string; detail?: unknown }> }).errors;

  test('GET /v2/ challenges with a realm and no service; a repository path adds service and scope; the token service takes oauth2accesstoken', async () => {
    const ping = await fetch(`${base()}/`);
    assert.equal(ping.status, 401);
    assert.equal(ping.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(ping.headers.get('www-authenticate'), `Bearer realm="http://${host}/v2/token"`);
    const repo = await fetch(`${base()}/${IMAGE_PATH}/manifests/latest`);
    assert.equal(repo.status, 401);
    assert.equal(repo.headers.get('www-authenticate'), `Bearer realm="http://${host}/v2/token",service="us-central1-docker.pkg.dev",scope="repository:${IMAGE_PATH}:pull"`);
    assert.equal((await errorsOf(repo))[0]?.code, 'UNAUTHORIZED');

    const token = await fetch(`${base()}/token?service=us-central1-docker.pkg.dev&scope=repository:${IMAGE_PATH}:pull`, { headers: { authorization: basic() } });
    assert.equal(token.status, 200);
    const { token: t } = (await token.json()) as { token: string };
    const head = await fetch(`${base()}/${IMAGE_PATH}/manifests/latest`, { method: 'HEAD', headers: { authorization: `Bearer ${t}` } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), seedDigest('mlabs-runner:v1.4.0'));
    // A pull-only token may not push.
    const push = await fetch(`${base()}/${IMAGE_PATH}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
    assert.equal(push.status, 403);
    assert.equal((await errorsOf(push))[0]?.code, 'DENIED');
    const badCreds = await fetch(`${base()}/token?scope=repository:${IMAGE_PATH}:pull`, { headers: { authorization: `Basic ${Buffer.from('oauth2accesstoken:nope').toString('base64')}` } });
    assert.equal(badCreds.status, 401);
    assert.equal((await errorsOf(badCreds))[0]?.message, 'No valid credential was supplied.');
  });

  test('the spec\'s errors: unknown repository, manifest, blob; a digest that does not match; a manifest naming a blob the repository lacks; blob delete unsupported', async () => {
    const auth = { authorization: basic() };
    const cases: Array<[string, RequestInit, number, string]> = [
      [`mlabs-demo/no-such-repo/img/manifests/latest`, {}, 404, 'NAME_UNKNOWN'],
      [`${IMAGE_PATH}/manifests/no-such-tag`, {}, 404, 'MANIFEST_UNKNOWN'],
      [`${IMAGE_PATH}/blobs/${sha256('nothing')}`, {}, 404, 'BLOB_UNKNOWN'],
      [`${IMAGE_PATH}/blobs/uploads/?digest=${sha256('other')}`, { method: 'POST', body: 'content' }, 400, 'DIGEST_INVALID'],
      [`${IMAGE_PATH}/blobs/${sha256('{}')}`, { method: 'DELETE' }, 405, 'UNSUPPORTED'],
      [
        `${IMAGE_PATH}/manifests/broken`,
        {
          method: 'PUT',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          body: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('missing'), size: 7 }, layers: [] }),
        },
        400,
        'MANIFEST_BLOB_UNKNOWN',
      ],
      [`${IMAGE_PATH}/manifests/${sha256('x')}`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }) }, 400, 'DIGEST_INVALID'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await fetch(`${base()}/${path}`, { ...init, headers: { ...auth, ...((init.headers as Record<string, string>) ?? {}) } });
      assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}`);
      assert.equal((await errorsOf(res))[0]?.code, code, `${init.method ?? 'GET'} ${path}`);
    }
    assert.equal((await rest(`${PKG}/tags/broken`)).status, 404, 'a refused manifest leaves no tag');
  });

  test('tags/list pages with n and last and a Link header; the catalog lists the images of the location', async () => {
    const auth = { authorization: basic() };
    const first = await fetch(`${base()}/${IMAGE_PATH}/tags/list?n=2`, { headers: auth });
    const page1 = (await first.json()) as { name: string; tags: string[] };
    assert.equal(page1.name, IMAGE_PATH);
    assert.equal(page1.tags.length, 2);
    const link = first.headers.get('link') ?? '';
    assert.match(link, /^<\/v2\/mlabs-demo\/mlabs-runner\/mlabs-runner\/tags\/list\?n=2&last=[^>]+>; rel="next"$/);
    const next = await fetch(`http://${host}${/<([^>]+)>/.exec(link)?.[1] ?? ''}`, { headers: auth });
    const page2 = (await next.json()) as { tags: string[] };
    assert.ok(page2.tags.every((t) => t > (page1.tags[1] as string)));
    const catalog = await fetch(`${base()}/_catalog`, { headers: auth });
    assert.deepEqual(((await catalog.json()) as { repositories: string[] }).repositories, ['mlabs-demo/apps/inference-api', IMAGE_PATH]);
  });
});

describe('image-merge and image-prune bundles against the Docker host', () => {
  const env = () => ({ ...sb.env, MLABS_RETRY_BASE_MS: '1' });

  test('image-merge writes one index over two platform images pushed by digest; it is a tagged version and skopeo reads both platforms; image-prune keeps its platform images', async () => {
    const digests: string[] = [];
    for (const architecture of ['amd64', 'arm64']) {
      const l = makeLayout(work, { architecture }, '-merge');
      const r = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${sb.accessToken}`, `oci:${l.dir}`, ref(`@${l.manifestDigest}`));
      assert.equal(r.code, 0, r.stderr);
      digests.push(l.manifestDigest);
    }
    const run = await runAction('image-merge', { env: env(), inputs: { image: AR_IMAGE, digests: digests.join(','), tags: 'merged-1' } });
    assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
    const index = run.outputs.digest as string;
    assert.equal((await rest(`${PKG}/tags/merged-1`)).json.version, `${PKG}/versions/${index}`);
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', ...creds(), ref(':merged-1'));
    assert.equal(sha256(raw.stdout), index);
    const manifests = (JSON.parse(raw.stdout) as { manifests: Array<{ digest: string; platform: { architecture: string } }> }).manifests;
    assert.deepEqual(manifests.map((m) => [m.platform.architecture, m.digest]), [
      ['amd64', digests[0]],
      ['arm64', digests[1]],
    ]);

    const prune = await runAction('image-prune', { env: env(), inputs: { image: AR_IMAGE, keep: 50, min_age_days: 0, check_references: true } });
    assert.equal(prune.exitCode, 0, prune.main.stdout + prune.main.stderr);
    const doomed = (prune.outputs.deleted_digests ?? '').split(',');
    for (const d of digests) assert.ok(!doomed.includes(d), `${d} is a platform image of a kept index`);
    assert.match(prune.summary, /platform image of a kept index|in kept index/i);
  });
});
