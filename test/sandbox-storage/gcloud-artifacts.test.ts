// Real `gcloud artifacts` against the sandbox's Artifact Registry: the seeded mlabs-runner
// versions and tags, a tag deleted, a version deleted (a long-running operation gcloud polls),
// and a tagged version refused without force.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { seedDigest } from '../../scripts/sandbox/apis/artifactregistry.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { Gcloud, requireGcloud } from './_gcloud.js';

const IMAGE = 'us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner/mlabs-runner';
const WHERE = ['--repository=mlabs-runner', '--location=us-central1', '--package=mlabs-runner'];
const V140 = seedDigest('mlabs-runner:v1.4.0');
const V110 = seedDigest('mlabs-runner:v1.1.0');
const OLD_UNTAGGED = seedDigest('mlabs-runner:untagged-40d');

let sb: Sandbox;
let gc: Gcloud;
beforeAll(async () => {
  requireGcloud();
  sb = await startSandbox({ operationMs: 50 });
  gc = new Gcloud(sb);
});
afterAll(async () => {
  await sb?.stop();
  gc?.dispose();
});

interface LegacyImage {
  package: string;
  version: string;
  tags: string | string[];
  createTime: string;
}

test('gcloud artifacts docker images list --include-tags shows the seeded mlabs-runner versions, tags and ages', async () => {
  const images = await gc.json<LegacyImage[]>(['artifacts', 'docker', 'images', 'list', 'us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner', '--include-tags']);
  assert.equal(images.length, 7);
  assert.ok(images.every((i) => i.package === IMAGE));
  const latest = images.find((i) => i.version === V140);
  assert.deepEqual([...(latest?.tags as string[])].sort(), ['latest', 'v1.4.0']);
  const untagged = images.filter((i) => (Array.isArray(i.tags) ? i.tags.length === 0 : !i.tags));
  assert.equal(untagged.length, 3);
  const ages = images.map((i) => (Date.now() - Date.parse(i.createTime)) / 86_400_000);
  assert.ok(Math.min(...ages) < 2 && Math.max(...ages) > 40, `ages span days: ${ages.map((a) => a.toFixed(1)).join(', ')}`);
  // gcloud first checks the repository is a Docker one.
  assert.ok(sb.requests.some((r) => r.rpc === 'GetRepository' && r.path.endsWith('/repositories/mlabs-runner')));
});

test('gcloud artifacts versions list and tags list', async () => {
  const versions = await gc.json<{ name: string }[]>(['artifacts', 'versions', 'list', ...WHERE]);
  assert.equal(versions.length, 7);
  const tags = await gc.json<{ name: string; version: string }[]>(['artifacts', 'tags', 'list', ...WHERE]);
  const byTag = Object.fromEntries(tags.map((t) => [t.name.split('/').pop(), t.version.split('/').pop()]));
  assert.equal(byTag.latest, V140);
  assert.equal(byTag['v1.1.0'], V110);
});

test('deletes through gcloud: a tag, an untagged version (LRO), and a tagged one only with its tags', async () => {
  await gc.ok(['artifacts', 'docker', 'tags', 'delete', `${IMAGE}:v1.1.0`]);
  await gc.ok(['artifacts', 'versions', 'delete', OLD_UNTAGGED, ...WHERE]);
  assert.ok(sb.requests.some((r) => r.rpc === 'GetOperation'), 'gcloud polled the delete operation');

  const refused = await gc.run(['artifacts', 'docker', 'images', 'delete', `${IMAGE}@${V140}`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /because it is tagged/);
  const forced = await fetch(`${sb.url}/artifactregistry/v1/projects/mlabs-demo/locations/us-central1/repositories/mlabs-runner/packages/mlabs-runner/versions/${V140}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${sb.accessToken}` },
  });
  assert.equal(forced.status, 400);
  assert.equal(((await forced.json()) as { error: { status: string } }).error.status, 'FAILED_PRECONDITION');

  await gc.ok(['artifacts', 'docker', 'images', 'delete', `${IMAGE}@${V110}`, '--delete-tags']);
  const left = await gc.json<LegacyImage[]>(['artifacts', 'docker', 'images', 'list', 'us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner', '--include-tags']);
  const digests = left.map((i) => i.version);
  assert.equal(left.length, 5);
  assert.ok(!digests.includes(OLD_UNTAGGED) && !digests.includes(V110) && digests.includes(V140));
  const tags = await gc.json<{ name: string }[]>(['artifacts', 'tags', 'list', ...WHERE]);
  assert.deepEqual(tags.map((t) => t.name.split('/').pop()).sort(), ['latest', 'v1.2.0', 'v1.3.0', 'v1.4.0']);
});

test('gcloud artifacts repositories list; unknown repository is NOT_FOUND', async () => {
  const repos = await gc.json<{ name: string; format: string }[]>(['artifacts', 'repositories', 'list', '--location=us-central1']);
  assert.deepEqual(repos.map((r) => [r.name.split('/').pop(), r.format]), [['apps', 'DOCKER'], ['mlabs-runner', 'DOCKER']]);
  const missing = await gc.run(['artifacts', 'docker', 'images', 'list', 'us-central1-docker.pkg.dev/mlabs-demo/nope']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /NOT_FOUND|not found/i);
});
