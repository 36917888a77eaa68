import { runAction } from '../lib/entry.js';
import { getAccessToken } from '../lib/google/auth.js';
import { deleteVersion, listVersions, packageOfImage } from '../lib/google/artifactregistry.js';
import { readBool, readInt, readList, readString } from '../lib/inputs.js';
import { INDEX_TYPES, type ImageIndex } from '../lib/oci/media.js';
import { parseRepository } from '../lib/oci/reference.js';
import { RegistryClient } from '../lib/oci/registry.js';
import { decide, isIndex } from '../lib/oci/retention.js';
import { group, info, setOutput } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';

const AR_IMAGE = /^[a-z0-9-]+-docker\.pkg\.dev\/[a-z0-9-]+\/[a-z0-9._-]+\/[a-z0-9._/-]+$/;

/** Every input, read and checked once. */
function readInputs() {
  const image = readString('image', { required: true, pattern: AR_IMAGE, accepted: 'LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE, without tag or digest' });
  const keep = readInt('keep', { min: 0 });
  const minAgeDays = readInt('min_age_days', { min: 0 });
  const protectTags = readList('protect_tags', { item: /^[A-Za-z0-9_.*-]+$/, accepted: 'a tag or a pattern with *' });
  const checkReferences = readBool('check_references');
  const dryRun = readBool('dry_run');
  const pkg = packageOfImage(image);
  return { image, keep, minAgeDays, protectTags, checkReferences, dryRun, pkg };
}

async function main(): Promise<void> {
  const { image, keep, minAgeDays, protectTags, checkReferences, dryRun, pkg } = readInputs();

  const versions = await listVersions(pkg);
  const children = checkReferences
    ? async (indexDigests: string[]) => {
        const client = new RegistryClient(parseRepository(image), { username: 'oauth2accesstoken', password: await getAccessToken() });
        const out = new Set<string>();
        for (const d of indexDigests) {
          const m = await client.getManifest(d);
          if (m && INDEX_TYPES.includes(m.mediaType)) for (const c of (m.json as unknown as ImageIndex).manifests ?? []) out.add(c.digest);
        }
        return out;
      }
    : undefined;
  const decisions = await decide(versions, { keep, minAgeDays, protectTags, now: new Date() }, children);
  const doomed = decisions.filter((d) => d.action === 'delete');
  // Indexes (and tagged versions) before the platform images they list.
  doomed.sort((a, b) => Number(!(isIndex(a.version) || a.version.tags.length)) - Number(!(isIndex(b.version) || b.version.tags.length)));

  if (!dryRun) {
    await group(`Deleting ${doomed.length} version(s) of ${image}`, async () => {
      for (const d of doomed) {
        const existed = await deleteVersion(d.version.name, { force: d.version.tags.length > 0 });
        info(`${existed ? 'deleted' : 'already gone'}: ${d.version.digest}${d.version.tags.length ? ` (tags ${d.version.tags.join(', ')})` : ''}`);
      }
    });
  } else {
    for (const d of doomed) info(`would delete: ${d.version.digest} (${d.reason})`);
  }

  setOutput('deleted', doomed.length);
  setOutput('kept', decisions.length - doomed.length);
  setOutput('deleted_digests', doomed.map((d) => d.version.digest).join(','));
  const verb = dryRun ? 'would delete' : 'deleted';
  new Summary()
    .heading(`image-prune ${image}${dryRun ? ' (dry run: nothing deleted)' : ''}`)
    .paragraph(`Rule: keep the newest ${keep} tagged, never ${protectTags.join(', ')}, never younger than ${minAgeDays} days. ${decisions.length - doomed.length} kept, ${doomed.length} ${verb}.`)
    .table(
      ['Digest', 'Tags', 'Type', 'Age (days)', 'Action', 'Why'],
      decisions.map((d) => [`\`${d.version.digest.slice(0, 19)}…\``, d.version.tags.join(', '), isIndex(d.version) ? 'index' : 'image', d.ageDays, d.action === 'keep' ? 'kept' : verb, d.reason]),
    )
    .write();
}

void runAction({ main });
