/**
 * image-prune against the sandbox's Artifact Registry module (its default seed: mlabs-runner
 * versions of 1 to 45 days, `latest` on the newest, tagged and untagged, indexes and a
 * platform image), run from the committed bundle.
 */
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { runAction } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { seedDigest } from '../../scripts/sandbox/apis/artifactregistry.js';

let sb: Sandbox;
const PROJECT = 'mlabs-demo';
const IMAGE = `us-central1-docker.pkg.dev/${PROJECT}/mlabs-runner/mlabs-runner`;
const d = (seed: string) => seedDigest(`mlabs-runner:${seed}`);

beforeAll(async () => {
  sb = await startSandbox({ port: 0, operationMs: 50 });
  assert.equal(sb.project.projectId, PROJECT);
});
afterAll(async () => {
  await sb.stop();
});

async function versionsLeft(): Promise<Map<string, string[]>> {
  const pkg = `projects/${PROJECT}/locations/us-central1/repositories/mlabs-runner/packages/mlabs-runner`;
  const res = await fetch(`${sb.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY}v1/${pkg}/versions?view=FULL`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
  const body = (await res.json()) as { versions: Array<{ name: string; relatedTags?: Array<{ name: string }> }> };
  return new Map(body.versions.map((v) => [v.name.slice(v.name.lastIndexOf('/') + 1), (v.relatedTags ?? []).map((t) => t.name.slice(t.name.lastIndexOf('/') + 1))]));
}

const env = () => ({ ...sb.env, MLABS_RETRY_BASE_MS: '1' });
const deletes = () => sb.requests.filter((r) => r.method === 'DELETE').length;

test('dry run (the default) reports what the rule would delete and deletes nothing', async () => {
  const before = await versionsLeft();
  const run = await runAction('image-prune', { env: env(), inputs: { image: IMAGE, keep: 2, min_age_days: 7, check_references: false } });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  assert.equal(deletes(), 0, 'no DELETE reached the API');
  assert.deepEqual(await versionsLeft(), before);
  assert.deepEqual(run.outputs.deleted_digests?.split(',').sort(), [d('v1.2.0'), d('v1.1.0'), d('untagged-15d')].sort());
  assert.equal(run.outputs.deleted, '3');
  assert.equal(run.outputs.kept, '4');
  assert.match(run.summary, /dry run: nothing deleted/);
  assert.match(run.summary, /\| latest, v1\.4\.0 \| index \| 1 \| kept \| tag latest points here \(protected\) \|/);
  assert.match(run.summary, /\| v1\.3\.0 \| index \| 9 \| kept \| newest tagged #2 of 2 kept \|/);
  assert.match(run.summary, /\| — \| index \| 2 \| kept \| 2 days old, younger than 7 \|/);
  assert.match(run.summary, /\| v1\.1\.0 \| index \| 45 \| would delete \| tagged #4, beyond the newest 2; 45 days old \|/);
  assert.match(run.summary, /\| — \| image \| 40 \| kept \| untagged platform image; references not checked/);
});

test('the age floor keeps versions the count would drop; latest is kept even with keep: 0', async () => {
  const run = await runAction('image-prune', { env: env(), inputs: { image: IMAGE, keep: 0, min_age_days: 30, check_references: false } });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  assert.deepEqual(run.outputs.deleted_digests?.split(','), [d('v1.1.0')]);
  assert.match(run.summary, /\| v1\.2\.0 \| index \| 20 \| kept \| 20 days old, younger than 30 \|/);
  assert.match(run.summary, /\| latest, v1\.4\.0 \| index \| 1 \| kept \| tag latest points here/);
  assert.equal(deletes(), 0);
});

test('dry_run: false deletes exactly the versions the rule names, with their tags, and keeps the rest', async () => {
  const run = await runAction('image-prune', { env: env(), inputs: { image: IMAGE, keep: 2, min_age_days: 7, check_references: false, dry_run: false } });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  const left = await versionsLeft();
  assert.deepEqual([...left.keys()].sort(), [d('v1.4.0'), d('untagged-young'), d('v1.3.0'), d('untagged-40d')].sort());
  assert.deepEqual(left.get(d('v1.4.0'))?.sort(), ['latest', 'v1.4.0'], 'latest still points at the newest');
  assert.doesNotMatch(run.summary, /dry run/);
  assert.match(run.summary, /\| v1\.2\.0 \| index \| 20 \| deleted \|/);
  // A second run finds nothing more to delete under the same rule.
  const again = await runAction('image-prune', { env: env(), inputs: { image: IMAGE, keep: 2, min_age_days: 7, check_references: false, dry_run: false } });
  assert.equal(again.exitCode, 0);
  assert.equal(again.outputs.deleted, '0');
});

test('inputs are checked before any API call', async () => {
  const before = sb.requests.length;
  const run = await runAction('image-prune', { env: env(), inputs: { image: 'docker.io/library/ubuntu', keep: 2 } });
  assert.equal(run.exitCode, 1);
  assert.match(run.main.annotations.find((a) => a.level === 'error')?.message ?? '', /Input "image"/);
  assert.equal(sb.requests.length, before);
});

test('with references checked, a platform image of a kept index is kept and an orphan is deleted', async () => {
  const { decide } = await import('../../actions/lib/oci/retention.js');
  const now = new Date('2026-06-30T00:00:00Z');
  const at = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
  const IDX = 'application/vnd.oci.image.index.v1+json';
  const IMG = 'application/vnd.oci.image.manifest.v1+json';
  const v = (digest: string, days: number, tags: string[], mediaType: string) => ({ name: `p/versions/${digest}`, digest, createTime: at(days), tags, mediaType });
  const versions = [v('sha256:i1', 20, ['latest', 'v2'], IDX), v('sha256:c1', 20, [], IMG), v('sha256:c2', 20, [], IMG), v('sha256:i0', 40, ['v1'], IDX), v('sha256:c0', 40, [], IMG)];
  const asked: string[][] = [];
  const out = await decide(versions, { keep: 1, minAgeDays: 7, protectTags: ['latest'], now }, async (indexes) => {
    asked.push(indexes);
    return new Set(['sha256:c1', 'sha256:c2']);
  });
  assert.deepEqual(asked, [['sha256:i1']], 'only kept indexes are read');
  assert.deepEqual(Object.fromEntries(out.map((d) => [d.version.digest, d.action])), { 'sha256:i1': 'keep', 'sha256:c1': 'keep', 'sha256:c2': 'keep', 'sha256:i0': 'delete', 'sha256:c0': 'delete' });
  assert.equal(out.find((d) => d.version.digest === 'sha256:c1')?.reason, 'platform image of a kept index');
});
