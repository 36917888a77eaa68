/**
 * Artifact Registry v1, what image retention needs: a Docker image's versions with their tags
 * and ages, its tags, and deleting a version (a long-running operation, awaited) or a tag.
 * Resource names: projects/P/locations/L/repositories/R/packages/PKG[/versions/sha256:...|/tags/T].
 */
import { ActionError } from '../errors.js';
import { apiUrl } from '../endpoints.js';
import { isNotFound, listAll, request, requestJson } from '../http.js';
import { getAccessToken } from './auth.js';
import { waitFor, type LroAdapter } from '../operations.js';

export interface ImageVersion {
  /** Full resource name. */
  name: string;
  /** `sha256:...`. */
  digest: string;
  createTime: string;
  updateTime: string;
  /** Tag ids (`latest`, `v1.2.0`) pointing at this version. */
  tags: string[];
  sizeBytes?: number;
  mediaType?: string;
}

export interface ImageTag {
  /** Full resource name. */
  name: string;
  /** Tag id, e.g. `latest`. */
  tag: string;
  /** Full version name it points at. */
  version: string;
  digest: string;
}

/** google.longrunning.Operation, as Artifact Registry (and most newer Google APIs) return it. */
interface LongRunningOperation {
  name: string;
  done?: boolean;
  error?: { code?: number; message?: string };
}

/** An adapter for a google.longrunning.Operation fetched by `poll`. */
function longRunningOperation(label: string, poll: () => Promise<LongRunningOperation>): LroAdapter<LongRunningOperation> {
  return {
    label,
    poll,
    isDone: (o) => o.done === true,
    errorOf: (o) => (o.error && (o.error.code || o.error.message) ? o.error.message || `error code ${o.error.code}` : undefined),
  };
}


type Operation = LongRunningOperation;

const lastSegment = (name: string): string => name.slice(name.lastIndexOf('/') + 1);
const url = (name: string): string => apiUrl('artifactregistry', `v1/${name}`);

/** The package resource name of a Docker image, from its parts. */
export function packageName(project: string, location: string, repository: string, image: string): string {
  return `projects/${project}/locations/${location}/repositories/${repository}/packages/${encodeURIComponent(image)}`;
}

/** `us-central1-docker.pkg.dev/PROJECT/REPO/IMAGE` (no tag or digest) → its package resource name. */
export function packageOfImage(image: string): string {
  const m = /^([a-z0-9-]+)-docker\.pkg\.dev\/([^/]+)\/([^/]+)\/([^@:]+)$/.exec(image.trim());
  if (!m) {
    throw new ActionError(`"${image}" is not an Artifact Registry Docker image reference.`, {
      fix: 'Give LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE, without a tag or digest.',
    });
  }
  return packageName(m[2] as string, m[1] as string, m[3] as string, m[4] as string);
}

/** versions.list (view FULL, so each version carries its tags), every page. */
export async function listVersions(pkg: string): Promise<ImageVersion[]> {
  const token = await getAccessToken();
  const raw = await listAll<{
    name: string;
    createTime?: string;
    updateTime?: string;
    relatedTags?: Array<{ name: string }>;
    metadata?: { imageSizeBytes?: string; mediaType?: string };
  }>(url(`${pkg}/versions`), 'versions', { token, query: { view: 'FULL', pageSize: 500 } });
  return raw.map((v) => ({
    name: v.name,
    digest: lastSegment(v.name),
    createTime: v.createTime ?? '',
    updateTime: v.updateTime ?? v.createTime ?? '',
    tags: (v.relatedTags ?? []).map((t) => lastSegment(t.name)),
    ...(v.metadata?.imageSizeBytes !== undefined ? { sizeBytes: Number(v.metadata.imageSizeBytes) } : {}),
    ...(v.metadata?.mediaType ? { mediaType: v.metadata.mediaType } : {}),
  }));
}

/** tags.list, every page. */
export async function listTags(pkg: string): Promise<ImageTag[]> {
  const token = await getAccessToken();
  const raw = await listAll<{ name: string; version: string }>(url(`${pkg}/tags`), 'tags', { token, query: { pageSize: 500 } });
  return raw.map((t) => ({ name: t.name, tag: lastSegment(t.name), version: t.version, digest: lastSegment(t.version) }));
}

/** Wait for a long-running operation to finish; its error becomes an ActionError. */
export async function waitOperation(op: Operation, timeoutMs = 10 * 60_000): Promise<void> {
  if (op.done && !op.error) return;
  const token = await getAccessToken();
  const location = op.name.split('/')[3] ?? '';
  await waitFor(
    longRunningOperation(`Artifact Registry operation ${lastSegment(op.name)}`, () => requestJson<Operation>(url(op.name), { token })),
    {
      deadline: Date.now() + timeoutMs,
      initialMs: 200,
      maxMs: 5000,
      timeoutFix: `Check it with: gcloud artifacts operations describe ${lastSegment(op.name)} --location=${location}`,
    },
  );
}

/**
 * versions.delete, awaited. A tagged version is refused by the API unless `force` (which also
 * deletes its tags). `false` when the version did not exist.
 */
export async function deleteVersion(versionName: string, opts: { force?: boolean } = {}): Promise<boolean> {
  const token = await getAccessToken();
  let op: Operation;
  try {
    op = await requestJson<Operation>(url(versionName), { method: 'DELETE', token, query: { force: opts.force ? 'true' : undefined } });
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  await waitOperation(op);
  return true;
}

/** tags.delete; `false` when the tag did not exist. */
export async function deleteTag(tagName: string): Promise<boolean> {
  const token = await getAccessToken();
  try {
    await request(url(tagName), { method: 'DELETE', token });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
