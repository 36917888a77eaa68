/**
 * Merging single-platform images (pushed by digest) into one multi-platform
 * OCI index: every input is fetched and its platform read from its config,
 * the expected platforms are checked (each present, none twice) before
 * anything is written, and the index is serialised deterministically so the
 * same inputs always give the same index digest.
 */
import { ActionError } from '../errors.js';
import {
  INDEX_TYPES,
  MANIFEST_TYPES,
  OCI_INDEX,
  isAttestation,
  normalizePlatform,
  platformString,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from './media.js';
import { sha256Digest, type RegistryClient } from './registry.js';

export interface IndexEntry {
  platform: string;
  descriptor: Descriptor;
  /** The input digest this entry came from (itself, or the index that held it). */
  source: string;
}

export interface PlannedIndex {
  /** Image manifests, in the order of the expected platforms. */
  images: IndexEntry[];
  /** Attestation manifests (buildx provenance/SBOM) carried over from input indexes. */
  attestations: Descriptor[];
  bytes: Buffer;
  digest: string;
}

/** Platform of an image manifest: the descriptor's when present, else read from the config blob. */
async function platformOf(client: RegistryClient, manifest: ImageManifest, given?: Platform): Promise<Platform> {
  const configBytes = await client.getBlob(manifest.config.digest);
  const config = JSON.parse(configBytes.toString('utf8')) as Partial<Platform>;
  if (!config.os || !config.architecture) {
    throw new ActionError(`The image config ${manifest.config.digest} names no os/architecture.`);
  }
  const fromConfig = normalizePlatform({ os: config.os, architecture: config.architecture, variant: config.variant });
  if (given && platformString(given) !== platformString(fromConfig)) {
    throw new ActionError(`An index says ${platformString(given)} for an image whose config says ${platformString(fromConfig)}.`);
  }
  return fromConfig;
}

/** Fetch every digest and list the image manifests (with platforms) and attestations they stand for. */
export async function collectEntries(client: RegistryClient, digests: string[]): Promise<{ images: IndexEntry[]; attestations: Descriptor[] }> {
  const images: IndexEntry[] = [];
  const attestations: Descriptor[] = [];
  const missing: string[] = [];
  for (const digest of digests) {
    const fetched = await client.getManifest(digest);
    if (!fetched) {
      missing.push(digest);
      continue;
    }
    if (MANIFEST_TYPES.includes(fetched.mediaType)) {
      const platform = await platformOf(client, fetched.json as unknown as ImageManifest);
      images.push({ platform: platformString(platform), source: digest, descriptor: { mediaType: fetched.mediaType, digest, size: fetched.size, platform } });
    } else if (INDEX_TYPES.includes(fetched.mediaType)) {
      for (const d of (fetched.json as unknown as ImageIndex).manifests ?? []) {
        if (isAttestation(d)) {
          attestations.push(d);
          continue;
        }
        const child = await client.getManifest(d.digest);
        if (!child) throw new ActionError(`The index ${digest} lists ${d.digest}, which the registry does not have.`);
        const platform = await platformOf(client, child.json as unknown as ImageManifest, d.platform && normalizePlatform(d.platform));
        images.push({ platform: platformString(platform), source: digest, descriptor: { mediaType: child.mediaType, digest: d.digest, size: child.size, platform } });
      }
    } else {
      throw new ActionError(`${digest} is a ${fetched.mediaType || 'manifest of unknown type'}, not an image manifest or index.`);
    }
  }
  if (missing.length) {
    throw new ActionError(`The registry has no manifest ${missing.join(', ')} in ${client.ref.host}/${client.ref.repository}.`, {
      fix: 'Pass the digests that image-build printed for this run, pushed to the same repository as `image`.',
    });
  }
  return { images, attestations };
}

/** Check the platforms: every expected one present, none twice, none unexpected. */
export function checkPlatforms(images: IndexEntry[], expected: string[]): void {
  const problems: string[] = [];
  const seen = new Map<string, IndexEntry[]>();
  for (const e of images) seen.set(e.platform, [...(seen.get(e.platform) ?? []), e]);
  for (const [platform, entries] of seen) {
    if (entries.length > 1) problems.push(`${platform} appears ${entries.length} times (${entries.map((e) => e.descriptor.digest).join(', ')})`);
    if (!expected.includes(platform)) problems.push(`${platform} (${entries.map((e) => e.descriptor.digest).join(', ')}) is not an expected platform`);
  }
  for (const p of expected) if (!seen.has(p)) problems.push(`${p} is missing`);
  if (problems.length) {
    throw new ActionError(`The digests do not make up one image per expected platform (${expected.join(', ')}): ${problems.join('; ')}. No tag was written.`, {
      fix: 'Pass exactly one digest per platform in `digests` (one from each build job), or change `platforms`.',
    });
  }
}

/** Keys in a fixed order, no whitespace: the same inputs give the same bytes. */
function descriptorJson(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType) out.artifactType = d.artifactType;
  if (d.platform) {
    const p = normalizePlatform(d.platform);
    out.platform = p.variant ? { architecture: p.architecture, os: p.os, variant: p.variant } : { architecture: p.architecture, os: p.os };
  }
  if (d.annotations && Object.keys(d.annotations).length) {
    out.annotations = Object.fromEntries(Object.entries(d.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return out;
}

export function buildIndex(images: IndexEntry[], attestations: Descriptor[], expected: string[]): PlannedIndex {
  const ordered = [...images].sort((a, b) => expected.indexOf(a.platform) - expected.indexOf(b.platform));
  const unique = new Map<string, Descriptor>();
  for (const a of attestations) unique.set(a.digest, a);
  const att = [...unique.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...ordered.map((e) => descriptorJson(e.descriptor)), ...att.map(descriptorJson)],
  };
  const bytes = Buffer.from(JSON.stringify(index));
  return { images: ordered, attestations: att, bytes, digest: sha256Digest(bytes) };
}

/** Plan (fetch + verify + build) without writing anything. */
export async function planIndex(client: RegistryClient, digests: string[], expected: string[]): Promise<PlannedIndex> {
  const { images, attestations } = await collectEntries(client, digests);
  checkPlatforms(images, expected);
  return buildIndex(images, attestations, expected);
}

/** Write the planned index under every tag; the registry must agree on its digest. */
export async function pushIndex(client: RegistryClient, plan: PlannedIndex, tags: string[]): Promise<void> {
  for (const tag of tags) {
    const digest = await client.putManifest(tag, OCI_INDEX, plan.bytes);
    if (digest !== plan.digest) throw new ActionError(`The registry stored tag ${tag} as ${digest}, not the index ${plan.digest} that was sent.`);
  }
}
