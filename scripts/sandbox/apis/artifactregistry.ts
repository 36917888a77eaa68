// Artifact Registry v1 (artifactregistry.googleapis.com), the Docker subset the suite uses:
// repositories get/list, dockerImages list/get, packages list/get/delete, versions list/get/delete
// (force), tags list/get/create/update/delete, and the long-running operations deletes return.
// Routes, request validation and response shapes come from @google-cloud/artifact-registry's
// protos.json through ctx.contracts.bind; only GetOperation is routed by hand, at the binding the
// official client itself uses (its protos carry only the generic /v1/{name=operations/**}).
import { createHash, randomUUID } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { ContractHandler } from '../contracts.js';

const SERVICE = 'google.devtools.artifactregistry.v1.ArtifactRegistry';
const PREFIX = '/artifactregistry';

export interface ArRepository {
  /** projects/P/locations/L/repositories/R */
  name: string;
  format: string;
  description?: string;
  labels?: Record<string, string>;
  createTime: string;
  updateTime: string;
}
export interface ArPackage {
  /** projects/P/locations/L/repositories/R/packages/PKG (PKG url-encoded when it holds '/') */
  name: string;
  createTime: string;
  updateTime: string;
}
export interface ArVersion {
  /** .../packages/PKG/versions/sha256:HEX */
  name: string;
  createTime: string;
  updateTime: string;
  imageSizeBytes: string;
  mediaType: string;
  description?: string;
  /** The manifest's exact bytes (UTF-8 JSON) the registry serves (`docker-registry.ts`); absent: the registry has no content for it. */
  manifest?: string;
}
export interface ArTag {
  /** .../packages/PKG/tags/TAG */
  name: string;
  /** Full version name. */
  version: string;
}

/** The `artifactregistry` seed section. Seed entries may give `ageDays` instead of createTime/updateTime (relative to start). */
export interface ArtifactRegistryState {
  repositories: ArRepository[];
  packages: ArPackage[];
  versions: ArVersion[];
  tags: ArTag[];
}

type SeedEntry = Record<string, unknown> & { name?: string; ageDays?: number; createTime?: string; updateTime?: string };

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The empty descriptor of the OCI image spec (the content `{}`), for manifests that carry no config or layer. */
export const OCI_EMPTY = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

/** Seeded versions' media types (all others are indexes). */
const SEED_MANIFESTS = new Set(['mlabs-runner:untagged-40d', 'inference-api:v0.1.0']);

/**
 * The manifest a seeded version holds: a real OCI index (listing no platforms) or image manifest
 * (the empty descriptor as config and layer, as the image spec allows for artifacts), annotated
 * with its seed name, so its digest is the digest of content the registry can serve.
 */
export function seedManifest(seed: string): { mediaType: string; text: string } {
  const annotations = { 'org.opencontainers.image.ref.name': seed, 'org.mlabs.sandbox.seed': 'true' };
  const json = SEED_MANIFESTS.has(seed)
    ? { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.mlabs.sandbox.seed.v1', config: OCI_EMPTY, layers: [OCI_EMPTY], annotations }
    : { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations };
  return { mediaType: json.mediaType, text: JSON.stringify(json) };
}

/** The digest of the seeded version named `seed` (e.g. `mlabs-runner:v1.4.0`). */
export function seedDigest(seed: string): string {
  return digestOf(seedManifest(seed).text);
}

/** Default data: repositories `apps` and `mlabs-runner`; `mlabs-runner` versions of different ages, tagged and not. */
export function defaultArtifactRegistrySeed(projectId: string, location = 'us-central1'): Record<string, unknown> {
  const repo = (r: string): string => `projects/${projectId}/locations/${location}/repositories/${r}`;
  const runner = `${repo('mlabs-runner')}/packages/mlabs-runner`;
  const api = `${repo('apps')}/packages/inference-api`;
  const v = (pkg: string, seed: string, ageDays: number, size = 412_000_000): SeedEntry => {
    const m = seedManifest(seed);
    return { name: `${pkg}/versions/${digestOf(m.text)}`, ageDays, mediaType: m.mediaType, imageSizeBytes: String(size), manifest: m.text };
  };
  const versions = [
    v(runner, 'mlabs-runner:v1.4.0', 1),
    v(runner, 'mlabs-runner:untagged-young', 2),
    v(runner, 'mlabs-runner:v1.3.0', 9),
    v(runner, 'mlabs-runner:untagged-15d', 15),
    v(runner, 'mlabs-runner:v1.2.0', 20),
    v(runner, 'mlabs-runner:untagged-40d', 40, 398_000_000),
    v(runner, 'mlabs-runner:v1.1.0', 45),
    v(api, 'inference-api:v0.1.0', 5, 95_000_000),
  ];
  const tag = (pkg: string, id: string, seed: string): SeedEntry => ({ name: `${pkg}/tags/${id}`, version: `${pkg}/versions/${seedDigest(seed)}` });
  return {
    repositories: [
      { name: repo('apps'), format: 'DOCKER', description: 'Application images', ageDays: 120 },
      { name: repo('mlabs-runner'), format: 'DOCKER', description: 'The mlabs-runner self-hosted runner image', ageDays: 120 },
    ],
    packages: [
      { name: runner, ageDays: 45 },
      { name: api, ageDays: 5 },
    ],
    versions,
    tags: [
      tag(runner, 'latest', 'mlabs-runner:v1.4.0'),
      tag(runner, 'v1.4.0', 'mlabs-runner:v1.4.0'),
      tag(runner, 'v1.3.0', 'mlabs-runner:v1.3.0'),
      tag(runner, 'v1.2.0', 'mlabs-runner:v1.2.0'),
      tag(runner, 'v1.1.0', 'mlabs-runner:v1.1.0'),
      tag(api, 'v0.1.0', 'inference-api:v0.1.0'),
    ],
  };
}

function timesOf(e: SeedEntry, now: number): { createTime: string; updateTime: string } {
  if (typeof e.ageDays === 'number') {
    const t = new Date(now - e.ageDays * 86_400_000).toISOString();
    return { createTime: e.createTime ?? t, updateTime: e.updateTime ?? t };
  }
  const t = e.createTime ?? new Date(now).toISOString();
  return { createTime: t, updateTime: e.updateTime ?? t };
}

function normalise(raw: Record<string, unknown>): ArtifactRegistryState {
  const now = Date.now();
  const list = (k: string): SeedEntry[] => (Array.isArray(raw[k]) ? (raw[k] as SeedEntry[]) : []);
  const strip = ({ ageDays: _a, ...rest }: SeedEntry): Record<string, unknown> => rest;
  return {
    repositories: list('repositories').map((e) => ({ format: 'DOCKER', ...strip(e), ...timesOf(e, now) }) as ArRepository),
    packages: list('packages').map((e) => ({ ...strip(e), ...timesOf(e, now) }) as ArPackage),
    versions: list('versions').map(
      (e) => ({ mediaType: OCI_MANIFEST, ...strip(e), ...timesOf(e, now), imageSizeBytes: String(e.imageSizeBytes ?? '0') }) as ArVersion,
    ),
    tags: list('tags').map((e) => ({ name: String(e.name), version: String(e.version) })),
  };
}

/** `a="x" AND b="y"` (the filters gcloud sends): field → value. Other syntax is refused. */
function parseFilter(filter: string | undefined, invalid: (m: string) => Error): Record<string, string> {
  const out: Record<string, string> = {};
  if (!filter?.trim()) return out;
  for (const term of filter.split(/\s+AND\s+/i)) {
    const m = /^\s*([a-zA-Z_.]+)\s*=\s*"([^"]*)"\s*$/.exec(term);
    if (!m) throw invalid(`invalid filter: ${filter}`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

function page<T>(items: T[], pageSize: unknown, pageToken: unknown, invalid: (m: string) => Error): { items: T[]; nextPageToken?: string } {
  const size = typeof pageSize === 'number' && pageSize > 0 ? Math.min(pageSize, 1000) : 1000;
  let start = 0;
  if (typeof pageToken === 'string' && pageToken) {
    const n = Number(Buffer.from(pageToken, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(n) || n < 0) throw invalid('The page token is invalid.');
    start = n;
  }
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(`offset:${start + size}`).toString('base64url') : undefined;
  return { items: slice, ...(next ? { nextPageToken: next } : {}) };
}

function sortBy<T extends { createTime: string; updateTime: string; name: string }>(items: T[], orderBy: unknown): T[] {
  const spec = typeof orderBy === 'string' ? orderBy.trim() : '';
  if (!spec) return [...items].sort((a, b) => a.name.localeCompare(b.name));
  const [field, dir] = spec.split(/\s+/);
  const key = (x: T): string => (/^update_?time$/i.test(field ?? '') ? x.updateTime : /^(create_?time|upload_?time)$/i.test(field ?? '') ? x.createTime : x.name);
  const sorted = [...items].sort((a, b) => key(a).localeCompare(key(b)));
  return /^desc$/i.test(dir ?? '') ? sorted.reverse() : sorted;
}

const lastSegment = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

/** State, helpers and services the artifactregistry handlers share; registers what other modules use. */
function artifactRegistryParts(ctx: SandboxContext) {
  const { errors } = ctx;
  const raw = ctx.state.section<Record<string, unknown>>('artifactregistry', () => defaultArtifactRegistrySeed(ctx.project.projectId));
  const st = normalise(raw);
  ctx.state.set('artifactregistry', st);
  ctx.services.set('artifactregistry', { state: st });
  const invalid = (m: string): Error => errors.invalidArgument(m);
  const root = ctx.contracts.load('artifact-registry');
  const operationType = root.lookupType('google.longrunning.Operation');

  const repoOf = (name: string): ArRepository => {
    const r = st.repositories.find((x) => x.name === name);
    if (!r) throw errors.notFound(`Requested entity was not found.`);
    return r;
  };
  const pkgOf = (name: string): ArPackage => {
    repoOf(name.slice(0, name.indexOf('/packages/')));
    const p = st.packages.find((x) => x.name === name);
    if (!p) throw errors.notFound(`Requested entity was not found.`);
    return p;
  };
  const versionOf = (name: string): ArVersion => {
    pkgOf(name.slice(0, name.indexOf('/versions/')));
    const v = st.versions.find((x) => x.name === name);
    if (!v) throw errors.notFound(`Requested entity was not found.`);
    return v;
  };
  /** A version may be named by digest or (as gcloud allows) by tag. */
  const resolveVersion = (name: string): ArVersion => {
    const pkg = name.slice(0, name.indexOf('/versions/'));
    const id = lastSegment(name);
    if (!id.startsWith('sha256:')) {
      const tag = st.tags.find((t) => t.name === `${pkg}/tags/${id}`);
      if (tag) return versionOf(tag.version);
    }
    return versionOf(name);
  };
  const tagsOfVersion = (version: string): ArTag[] => st.tags.filter((t) => t.version === version);
  const repoName = (child: string): string => child.slice(0, child.indexOf('/packages/') >= 0 ? child.indexOf('/packages/') : child.indexOf('/dockerImages/'));

  const versionJson = (v: ArVersion, full: boolean): Record<string, unknown> => {
    const pkg = v.name.slice(0, v.name.indexOf('/versions/'));
    return {
      name: v.name,
      ...(v.description ? { description: v.description } : {}),
      createTime: v.createTime,
      updateTime: v.updateTime,
      ...(full ? { relatedTags: tagsOfVersion(v.name) } : {}),
      metadata: {
        imageSizeBytes: v.imageSizeBytes,
        mediaType: v.mediaType,
        buildTime: v.createTime,
        name: `${repoName(pkg)}/dockerImages/${lastSegment(pkg)}@${lastSegment(v.name)}`,
      },
    };
  };

  const registryHost = (repo: string): { host: string; path: string } => {
    const [, project, , location, , r] = repo.split('/');
    return { host: `${location}-docker.pkg.dev`, path: `${project}/${r}` };
  };

  const dockerImageJson = (v: ArVersion): Record<string, unknown> => {
    const pkg = v.name.slice(0, v.name.indexOf('/versions/'));
    const repo = repoName(pkg);
    const { host, path } = registryHost(repo);
    const image = decodeURIComponent(lastSegment(pkg));
    const digest = lastSegment(v.name);
    return {
      name: `${repo}/dockerImages/${lastSegment(pkg)}@${digest}`,
      uri: `${host}/${path}/${image}@${digest}`,
      tags: tagsOfVersion(v.name).map((t) => lastSegment(t.name)),
      imageSizeBytes: v.imageSizeBytes,
      uploadTime: v.createTime,
      mediaType: v.mediaType,
      buildTime: v.createTime,
      updateTime: v.updateTime,
    };
  };

  const repositoryJson = (r: ArRepository): Record<string, unknown> => {
    const { host, path } = registryHost(r.name);
    const sizeBytes = st.versions.filter((v) => v.name.startsWith(`${r.name}/`)).reduce((n, v) => n + Number(v.imageSizeBytes), 0);
    return {
      name: r.name,
      format: r.format,
      ...(r.description ? { description: r.description } : {}),
      ...(r.labels ? { labels: r.labels } : {}),
      createTime: r.createTime,
      updateTime: r.updateTime,
      mode: 'STANDARD_REPOSITORY',
      sizeBytes: String(sizeBytes),
      satisfiesPzs: false,
      satisfiesPzi: false,
      registryUri: r.format === 'DOCKER' ? `${host}/${path}` : undefined,
      dockerConfig: r.format === 'DOCKER' ? {} : undefined,
    };
  };

  // Creates and deletes are long-running: RUNNING for the sandbox's operationMs, then DONE (the change happens then).
  const operations = new Map<string, Record<string, unknown>>();
  const startDelete = (name: string, rpc: string, method: string, apply: () => void, response?: () => Record<string, unknown>): Record<string, unknown> => {
    const location = name.split('/').slice(0, 4).join('/');
    const opName = `${location}/operations/${randomUUID()}`;
    const op: Record<string, unknown> = {
      name: opName,
      metadata: { '@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata' },
      done: false,
    };
    operations.set(opName, op);
    ctx.operations.start({
      call: { api: 'artifactregistry', method: rpc, httpMethod: method, path: name },
      complete: () => {
        apply();
      },
      done: (error) => {
        op.done = true;
        if (error) op.error = { code: errors.RPC_CODE[error.status as keyof typeof errors.RPC_CODE] ?? 13, message: error.message };
        else op.response = response ? response() : { '@type': 'type.googleapis.com/google.protobuf.Empty' };
      },
    });
    return op;
  };

  return { ctx, errors, raw, st, invalid, root, operationType, repoOf, pkgOf, versionOf, resolveVersion, tagsOfVersion, repoName, versionJson, registryHost, dockerImageJson, repositoryJson, operations, startDelete };
}

type ArtifactRegistryParts = ReturnType<typeof artifactRegistryParts>;
type Handlers = Record<string, ContractHandler>;

/** Repositories and their Docker images. */
/** Where Artifact Registry repositories may be created: the seeded Compute regions and the multi-regions. */
function arLocations(ctx: SandboxContext): string[] {
  const regions = ((ctx.services.get('compute') as { state: { regions: { name: string }[] } } | undefined)?.state.regions ?? []).map((r) => r.name);
  return [...new Set([ctx.project.region, ...regions, 'us', 'europe', 'asia'])];
}

function repositoryHandlers(p: ArtifactRegistryParts): Handlers {
  const { errors, st, invalid, repoOf, resolveVersion, dockerImageJson, repositoryJson } = p;
  return {
    ListRepositories: (req) => {
      const parent = String(req.parent);
      const items = sortBy(
        st.repositories.filter((r) => r.name.startsWith(`${parent}/repositories/`)),
        req.orderBy,
      );
      const p = page(items, req.pageSize, req.pageToken, invalid);
      return { repositories: p.items.map(repositoryJson), nextPageToken: p.nextPageToken };
    },
    GetRepository: (req) => repositoryJson(repoOf(String(req.name))),
    CreateRepository: (req, call) => {
      const parent = String(req.parent);
      const id = String(req.repositoryId ?? '');
      const location = parent.split('/')[3] ?? '';
      if (!arLocations(p.ctx).includes(location)) throw errors.invalidArgument(`Location ${location} is not supported by Artifact Registry.`);
      if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(id)) {
        throw errors.invalidArgument(
          `Invalid repository ID "${id}": it may only contain lowercase letters, numbers, and hyphens, and must begin with a letter and end with a letter or number.`,
        );
      }
      const name = `${parent}/repositories/${id}`;
      if (st.repositories.some((r) => r.name === name)) throw errors.alreadyExists('the repository already exists');
      const body = (req.repository as Record<string, unknown> | undefined) ?? {};
      const format = String(body.format ?? 'FORMAT_UNSPECIFIED');
      if (format === 'FORMAT_UNSPECIFIED') throw errors.invalidArgument('Repository format must be specified.');
      const now = new Date().toISOString();
      const repo: ArRepository = {
        name,
        format,
        ...(typeof body.description === 'string' ? { description: body.description } : {}),
        ...(body.labels ? { labels: body.labels as Record<string, string> } : {}),
        createTime: now,
        updateTime: now,
      };
      return p.startDelete(name, call.rpc, call.http.method, () => st.repositories.push(repo), () => ({
        '@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.Repository',
        ...repositoryJson(repo),
      }));
    },
    ListDockerImages: (req) => {
      const parent = String(req.parent);
      const r = repoOf(parent);
      if (r.format !== 'DOCKER') throw errors.failedPrecondition(`Repository "${parent}" is not a Docker repository.`);
      const items = sortBy(st.versions.filter((v) => v.name.startsWith(`${parent}/packages/`)), req.orderBy);
      const p = page(items, req.pageSize, req.pageToken, invalid);
      return { dockerImages: p.items.map(dockerImageJson), nextPageToken: p.nextPageToken };
    },
    GetDockerImage: (req) => {
      const name = String(req.name);
      const at = name.lastIndexOf('@');
      const repo = name.slice(0, name.indexOf('/dockerImages/'));
      const image = name.slice(name.indexOf('/dockerImages/') + '/dockerImages/'.length, at < 0 ? undefined : at);
      const ref = at < 0 ? '' : name.slice(at + 1);
      const pkg = `${repo}/packages/${encodeURIComponent(decodeURIComponent(image))}`;
      return dockerImageJson(resolveVersion(`${pkg}/versions/${ref}`));
    },
  };
}

/** Packages and their versions (deletes are long-running). */
function packageHandlers(p: ArtifactRegistryParts): Handlers {
  const { errors, st, invalid, repoOf, pkgOf, resolveVersion, tagsOfVersion, versionJson, startDelete } = p;
  return {
    ListPackages: (req) => {
      const parent = String(req.parent);
      repoOf(parent);
      const f = parseFilter(req.filter as string | undefined, invalid);
      const items = sortBy(
        st.packages.filter((p) => p.name.startsWith(`${parent}/packages/`) && (!f.name || p.name === f.name || lastSegment(p.name) === f.name)),
        req.orderBy,
      );
      const p = page(items, req.pageSize, req.pageToken, invalid);
      return { packages: p.items.map((x) => ({ ...x, displayName: decodeURIComponent(lastSegment(x.name)) })), nextPageToken: p.nextPageToken };
    },
    GetPackage: (req) => {
      const x = pkgOf(String(req.name));
      return { ...x, displayName: decodeURIComponent(lastSegment(x.name)) };
    },
    DeletePackage: (req, call) => {
      const name = String(req.name);
      pkgOf(name);
      return startDelete(name, 'DeletePackage', call.http.method, () => {
        st.tags = st.tags.filter((t) => !t.name.startsWith(`${name}/`));
        st.versions = st.versions.filter((v) => !v.name.startsWith(`${name}/`));
        st.packages = st.packages.filter((p) => p.name !== name);
      });
    },
    ListVersions: (req) => {
      const parent = String(req.parent);
      pkgOf(parent);
      const f = parseFilter(req.filter as string | undefined, invalid);
      const items = sortBy(
        st.versions.filter((v) => v.name.startsWith(`${parent}/versions/`) && (!f.name || v.name === f.name || lastSegment(v.name) === f.name)),
        req.orderBy,
      );
      const p = page(items, req.pageSize, req.pageToken, invalid);
      return { versions: p.items.map((v) => versionJson(v, req.view === 'FULL')), nextPageToken: p.nextPageToken };
    },
    GetVersion: (req) => versionJson(resolveVersion(String(req.name)), req.view === 'FULL'),
    DeleteVersion: (req, call) => {
      const v = resolveVersion(String(req.name));
      const tags = tagsOfVersion(v.name);
      if (tags.length > 0 && req.force !== true) {
        throw errors.failedPrecondition(
          `Version ${lastSegment(v.name)} is still referenced by tags [${tags.map((t) => lastSegment(t.name)).join(', ')}]; set force to delete the version and its tags.`,
        );
      }
      return startDelete(v.name, 'DeleteVersion', call.http.method, () => {
        st.tags = st.tags.filter((t) => t.version !== v.name);
        st.versions = st.versions.filter((x) => x.name !== v.name);
      });
    },
  };
}

/** Tags: list, get, create, move, delete. */
function tagHandlers(p: ArtifactRegistryParts): Handlers {
  const { errors, st, invalid, pkgOf, versionOf } = p;
  return {
    ListTags: (req) => {
      const parent = String(req.parent);
      pkgOf(parent);
      const f = parseFilter(req.filter as string | undefined, invalid);
      const items = st.tags
        .filter((t) => t.name.startsWith(`${parent}/tags/`))
        .filter((t) => !f.version || t.version === f.version || lastSegment(t.version) === f.version)
        .filter((t) => !f.name || t.name === f.name || lastSegment(t.name) === f.name)
        .sort((a, b) => a.name.localeCompare(b.name));
      const p = page(items, req.pageSize, req.pageToken, invalid);
      return { tags: p.items, nextPageToken: p.nextPageToken };
    },
    GetTag: (req) => {
      const name = String(req.name);
      pkgOf(name.slice(0, name.indexOf('/tags/')));
      const t = st.tags.find((x) => x.name === name);
      if (!t) throw errors.notFound('Requested entity was not found.');
      return t;
    },
    CreateTag: (req) => {
      const parent = String(req.parent);
      pkgOf(parent);
      const body = (req.tag ?? {}) as { name?: string; version?: string };
      const tagId = typeof req.tagId === 'string' && req.tagId ? req.tagId : body.name ? lastSegment(body.name) : '';
      if (!tagId) throw errors.invalidArgument('Request is missing required field "tag_id".');
      if (!body.version) throw errors.invalidArgument('Request is missing required field "tag.version".');
      const version = body.version.includes('/') ? body.version : `${parent}/versions/${body.version}`;
      versionOf(version);
      const name = `${parent}/tags/${tagId}`;
      if (st.tags.some((t) => t.name === name)) throw errors.alreadyExists(`Tag ${tagId} already exists.`);
      const t: ArTag = { name, version };
      st.tags.push(t);
      return t;
    },
    UpdateTag: (req) => {
      const body = (req.tag ?? {}) as { name?: string; version?: string };
      const name = String(body.name ?? '');
      pkgOf(name.slice(0, name.indexOf('/tags/')));
      const t = st.tags.find((x) => x.name === name);
      if (!t) throw errors.notFound('Requested entity was not found.');
      if (body.version) {
        const version = body.version.includes('/') ? body.version : `${name.slice(0, name.indexOf('/tags/'))}/versions/${body.version}`;
        versionOf(version);
        t.version = version;
      }
      return t;
    },
    DeleteTag: (req) => {
      const name = String(req.name);
      pkgOf(name.slice(0, name.indexOf('/tags/')));
      if (!st.tags.some((t) => t.name === name)) throw errors.notFound('Requested entity was not found.');
      st.tags = st.tags.filter((t) => t.name !== name);
      return {};
    },
  };
}

const artifactregistry: ApiModule = {
  id: 'artifactregistry',
  register(ctx: SandboxContext) {
    const parts = artifactRegistryParts(ctx);
    const { errors, root, operationType, operations } = parts;
    const handlers: Handlers = { ...repositoryHandlers(parts), ...packageHandlers(parts), ...tagHandlers(parts) };

    ctx.contracts.bind({ api: 'artifactregistry', pkg: 'artifact-registry', service: SERVICE, prefix: PREFIX, handlers });

    // Version ids are digests ("sha256:..."), and the router's '*' stops at ':' (kept for ':verb' routes),
    // so the bindings whose last segment holds a digest are also routed here by RegExp, decoded the
    // same way: path name + query parameters checked against the request message.
    const service = root.lookupService(SERVICE);
    const SYSTEM = new Set(['alt', 'prettyPrint', 'fields', '$.xgafv', 'key', 'quotaUser', 'access_token']);
    const digestRoute = (rpc: string, httpMethod: string, collection: string): void => {
      const method = service.methods[rpc];
      if (!method) throw new Error(`${SERVICE} has no RPC ${rpc}`);
      method.resolve();
      const reqType = method.resolvedRequestType;
      const resType = method.resolvedResponseType;
      const handler = handlers[rpc];
      if (!reqType || !resType || !handler) throw new Error(`${rpc}: unresolved`);
      ctx.router.add({
        method: httpMethod,
        path: new RegExp(`^${PREFIX}/v1/(?<name>projects/[^/]+/locations/[^/]+/repositories/[^/]+/${collection}/[^/]*:[^/]*)$`),
        api: 'artifactregistry',
        name: rpc,
        handler: async (http) => {
          const request: Record<string, unknown> = { name: http.params.name };
          for (const key of new Set(http.query.keys())) {
            if (SYSTEM.has(key)) continue;
            const field = reqType.fields[key] ?? reqType.fieldsArray.find((f) => f.name === key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
            if (!field || field.name === 'name') {
              throw errors.invalidArgument(
                `Invalid JSON payload received. Unknown name ${JSON.stringify(key)}: Cannot bind query parameter. Field ${JSON.stringify(key)} could not be found in request message.`,
              );
            }
            const raw = http.query.get(key) as string;
            if (field.type === 'bool') {
              if (!/^(true|false)$/i.test(raw)) throw errors.invalidArgument(`Invalid value at '${key}' (TYPE_BOOL), "${raw}"`);
              request[field.name] = /^true$/i.test(raw);
            } else request[field.name] = raw;
          }
          const checked = ctx.contracts.readMessage(reqType, request, '');
          const result = await handler(checked, { http, rpc, binding: { httpMethod, template: String(http.path) } });
          return { json: ctx.contracts.writeMessage(resType, result ?? {}) };
        },
      });
    };
    digestRoute('GetVersion', 'GET', 'packages/[^/]+/versions');
    digestRoute('DeleteVersion', 'DELETE', 'packages/[^/]+/versions');
    digestRoute('GetDockerImage', 'GET', 'dockerImages');

    // google.cloud.location.Locations.ListLocations, the mixin Artifact Registry serves at
    // GET /v1/{name=projects/*}/locations and /v1beta2/... (`gcloud artifacts locations list` calls v1beta2).
    // Shape: google/cloud/location/locations.proto, shipped in google-gax.
    for (const version of ['v1', 'v1beta2']) {
      ctx.router.add({
        method: 'GET',
        path: `${PREFIX}/${version}/projects/{project}/locations`,
        api: 'artifactregistry',
        name: 'ListLocations',
        handler: (req) => {
          const project = req.params.project;
          if (project !== ctx.project.projectId && project !== ctx.project.projectNumber) {
            throw errors.permissionDenied(`Permission denied on resource project ${String(project)}.`);
          }
          return {
            json: {
              locations: arLocations(ctx).map((l) => ({ name: `projects/${ctx.project.projectId}/locations/${l}`, locationId: l })),
            },
          };
        },
      });
    }

    ctx.router.add({
      method: 'GET',
      path: `${PREFIX}/v1/{name=projects/*/locations/*/operations/*}`,
      api: 'artifactregistry',
      name: 'GetOperation',
      handler: (req) => {
        const op = operations.get(req.params.name ?? '');
        if (!op) throw errors.notFound('Requested entity was not found.');
        return { json: ctx.contracts.writeMessage(operationType, op) };
      },
    });
  },
};

export default artifactregistry;
