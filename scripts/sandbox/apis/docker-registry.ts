// Artifact Registry's Docker hosts (LOCATION-docker.pkg.dev): the Docker Registry HTTP API v2 /
// OCI distribution spec, on one loopback port per location (ctx.mount), so `/v2/` is the root as
// clients require. MLABS_DOCKER_REGISTRY_OVERRIDES (in sb.env) maps each host to its port.
//
// One state with the REST API (artifactregistry.ts): a manifest pushed here is a dockerImage/version
// of the package IMAGE (its bytes on the version record), a tag pushed here is an AR tag, and a
// version deleted through REST is gone here. Blobs live in memory only (content-addressed; each
// repository knows which it holds).
//
// Auth as Artifact Registry does it: `GET /v2/` answers 401 with `Bearer realm=".../v2/token"`;
// repository paths add `service` and `scope`; the token service takes Basic `oauth2accesstoken`
// (or `_dcgcloud_token`) with an OAuth access token; requests may also send that access token as
// Bearer or Basic directly. Errors are the distribution spec's `{"errors":[{code,message,detail}]}`.
//
// IAM as Artifact Registry checks it on these hosts (cloud.google.com/artifact-registry/docs/access-control):
// a pull (GET/HEAD of manifests, blobs, tags) needs artifactregistry.repositories.downloadArtifacts,
// a push (blob uploads, manifest PUT) uploadArtifacts, a manifest or tag DELETE deleteArtifacts, all
// on the repository, for the identity behind the credential (a registry token stands for the access
// token it was exchanged for). The refusal is the registry's: 403 `{"errors":[{"code":"DENIED",
// "message":"Permission \"artifactregistry.repositories.uploadArtifacts\" denied on resource
// \"projects/P/locations/L/repositories/R\" (or it may not exist)"}]}`, the text docker and skopeo
// print after `denied:`.
import { createHash, randomUUID } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { SandboxReply, SandboxRequest } from '../router.js';
import type { TokenInfo } from '../tokens.js';
import type { IamEngine } from '../iam/engine.js';
import type { ArPackage, ArTag, ArVersion, ArtifactRegistryState } from './artifactregistry.js';
import { OCI_EMPTY } from './artifactregistry.js';

const PREFIX = '/docker-registry';
const API = 'docker-registry';
export const REGISTRY_OVERRIDES_ENV = 'MLABS_DOCKER_REGISTRY_OVERRIDES';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_LIST]);
const MANIFEST_TYPES = new Set([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST]);
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const USERS = new Set(['oauth2accesstoken', '_dcgcloud_token']);

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A distribution-spec error reply. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Upload {
  name: string;
  chunks: Buffer[];
}

/** `MLABS_DOCKER_REGISTRY_OVERRIDES` value → host map (`us-central1-docker.pkg.dev=127.0.0.1:PORT,...`). */
export function parseRegistryOverrides(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (value ?? '').split(',')) {
    const [host, target] = pair.split('=').map((x) => x.trim());
    if (host && target) out.set(host, target);
  }
  return out;
}

function dockerRegistryParts(ctx: SandboxContext) {
  const ar = ctx.services.get('artifactregistry') as { state: ArtifactRegistryState } | undefined;
  if (!ar) throw new Error('docker-registry needs the artifactregistry module');
  const st = ar.state;
  const { projectId, projectNumber } = ctx.project;
  const blobs = new Map<string, Buffer>([[OCI_EMPTY.digest, Buffer.from('{}')]]);
  /** repository path (PROJECT/REPO/IMAGE) → digests of the blobs it holds. */
  const held = new Map<string, Set<string>>();
  const uploads = new Map<string, Upload>();
  const hosts = new Map<string, string>(); // location -> loopback host:port

  const hostOf = (location: string): string => `${location}-docker.pkg.dev`;
  const iam = ctx.services.get('iam') as IamEngine | undefined;

  /** PROJECT/REPO/IMAGE... → the AR repository and package; NAME_UNKNOWN when the repository is not there. */
  const resolve = (location: string, name: string) => {
    const parts = name.split('/');
    const [project, repoId] = parts;
    const image = parts.slice(2).join('/');
    if (!project || !repoId || !image) throw new RegistryError(404, 'NAME_UNKNOWN', `Repository name "${name}" is not PROJECT/REPOSITORY/IMAGE.`, { name });
    const projectKey = project === projectNumber ? projectId : project;
    const repo = `projects/${projectKey}/locations/${location}/repositories/${repoId}`;
    const r = st.repositories.find((x) => x.name === repo);
    if (!r || r.format !== 'DOCKER') throw new RegistryError(404, 'NAME_UNKNOWN', `Repository "${repo}" not found`, { name });
    const pkg = `${repo}/packages/${encodeURIComponent(image)}`;
    return { repo, pkg, image };
  };
  const heldBy = (name: string): Set<string> => {
    let s = held.get(name);
    if (!s) held.set(name, (s = new Set([OCI_EMPTY.digest])));
    return s;
  };
  const versionsOf = (pkg: string): ArVersion[] => st.versions.filter((v) => v.name.startsWith(`${pkg}/versions/`));
  const findVersion = (pkg: string, reference: string): ArVersion | undefined => {
    if (DIGEST.test(reference)) return st.versions.find((v) => v.name === `${pkg}/versions/${reference}`);
    const tag = st.tags.find((t) => t.name === `${pkg}/tags/${reference}`);
    return tag ? st.versions.find((v) => v.name === tag.version) : undefined;
  };
  const ensurePackage = (pkg: string, now: string): void => {
    const p = st.packages.find((x) => x.name === pkg);
    if (p) p.updateTime = now;
    else st.packages.push({ name: pkg, createTime: now, updateTime: now } as ArPackage);
  };

  /** Who is asking: the verified token, or undefined. Basic (`oauth2accesstoken:TOKEN`) and Bearer both work. */
  const credentialOf = (req: SandboxRequest): { token?: TokenInfo; given: boolean } => {
    const h = req.headers.authorization?.trim() ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(h);
    if (bearer) return { token: ctx.tokens.verify(bearer[1]?.trim()), given: true };
    const basic = /^Basic\s+(.+)$/i.exec(h);
    if (basic) {
      const text = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const user = text.slice(0, colon);
      const info = ctx.tokens.verify(text.slice(colon + 1));
      return { token: colon > 0 && USERS.has(user) && info?.kind !== 'docker-registry' ? info : undefined, given: true };
    }
    return { given: false };
  };

  return { ctx, iam, st, blobs, held, uploads, hosts, hostOf, resolve, heldBy, versionsOf, findVersion, ensurePackage, credentialOf };
}

type Parts = ReturnType<typeof dockerRegistryParts>;

const WRITE = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

/** The IAM permission a registry request needs on its repository. */
const PERMISSION = {
  pull: 'artifactregistry.repositories.downloadArtifacts',
  push: 'artifactregistry.repositories.uploadArtifacts',
  delete: 'artifactregistry.repositories.deleteArtifacts',
} as const;

/**
 * 401/403 unless the request carries a credential allowed to do this to `name`: the registry
 * token's scope, then IAM (the policy is loaded before any handler runs, see the route wrapper).
 * `action` defaults to pull for reads and push for writes; a manifest or tag DELETE is `delete`.
 */
function authorize(p: Parts, req: SandboxRequest, location: string, name: string, repo: string, action?: keyof typeof PERMISSION): void {
  const host = p.hostOf(location);
  const realm = `http://${p.hosts.get(location)}/v2/token`;
  const write = WRITE.has(req.method);
  const scope = `repository:${name}:${write ? 'pull,push' : 'pull'}`;
  const challenge = { 'www-authenticate': `Bearer realm="${realm}",service="${host}",scope="${scope}"` };
  const { token, given } = p.credentialOf(req);
  if (!token) throw new RegistryError(401, 'UNAUTHORIZED', given ? 'No valid credential was supplied.' : 'Authentication is required.', undefined, challenge);
  const permission = PERMISSION[action ?? (write ? 'push' : 'pull')];
  if (token.kind === 'docker-registry') {
    if (token.claims.anonymous === true) {
      throw new RegistryError(403, 'DENIED', `Unauthenticated request. Unauthenticated requests do not have permission "${permission}" on resource "${repo}" (or it may not exist)`);
    }
    const access = (token.claims.access as Array<{ name: string; actions: string[] }> | undefined) ?? [];
    const actions = access.filter((a) => a.name === name).flatMap((a) => a.actions);
    const ok = write ? actions.some((a) => a === 'push' || a === '*' || (req.method === 'DELETE' && a === 'delete')) : actions.some((a) => a === 'pull' || a === '*');
    if (!ok) {
      throw new RegistryError(403, 'DENIED', `Permission "${permission}" denied on resource "${repo}" (or it may not exist)`, undefined, {
        'www-authenticate': `Bearer realm="${realm}",service="${host}",scope="${scope}",error="insufficient_scope"`,
      });
    }
  }
  // IAM, for the identity behind the credential: a registry token stands for the access token it was exchanged for.
  const principal = token.kind === 'docker-registry' ? p.ctx.tokens.verify(String(token.claims.principal ?? '')) : token;
  if (p.iam && (!principal || p.iam.allowedNow(principal, permission, repo) !== true)) {
    throw new RegistryError(403, 'DENIED', `Permission "${permission}" denied on resource "${repo}" (or it may not exist)`);
  }
}

function manifestReply(v: ArVersion, method: string): SandboxReply {
  const body = Buffer.from(v.manifest ?? '', 'utf8');
  const digest = v.name.slice(v.name.lastIndexOf('/') + 1);
  return {
    status: 200,
    headers: { 'content-type': v.mediaType, 'content-length': String(body.length), 'docker-content-digest': digest, etag: `"${digest}"` },
    body: method === 'HEAD' ? '' : body,
  };
}

function manifestRoutes(p: Parts): Record<string, (req: SandboxRequest, location: string, name: string, rest: string) => SandboxReply> {
  const { st } = p;
  const unknown = (reference: string, name: string) => new RegistryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { Name: name, Revision: reference });

  const get = (req: SandboxRequest, location: string, name: string, reference: string): SandboxReply => {
    const { repo, pkg } = p.resolve(location, name);
    authorize(p, req, location, name, repo);
    const v = p.findVersion(pkg, reference);
    if (!v || v.manifest === undefined) throw unknown(reference, name);
    return manifestReply(v, req.method);
  };

  const put = (req: SandboxRequest, location: string, name: string, reference: string): SandboxReply => {
    const { repo, pkg } = p.resolve(location, name);
    authorize(p, req, location, name, repo);
    if (!DIGEST.test(reference) && !TAG.test(reference)) throw new RegistryError(400, 'TAG_INVALID', 'manifest tag did not match URI', { tag: reference });
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const text = req.body.toString('utf8');
    let json: { mediaType?: string; schemaVersion?: number; config?: { digest: string; size: number }; layers?: Array<{ digest: string; size: number }>; manifests?: Array<{ digest: string }> };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new RegistryError(400, 'MANIFEST_INVALID', 'manifest invalid', { reason: 'the manifest is not JSON' });
    }
    const mediaType = json.mediaType ?? contentType;
    if (!MANIFEST_TYPES.has(mediaType) || json.schemaVersion !== 2) {
      throw new RegistryError(400, 'MANIFEST_INVALID', 'manifest invalid', { reason: `unsupported manifest media type ${JSON.stringify(mediaType)} (schemaVersion ${json.schemaVersion})` });
    }
    if (json.mediaType && contentType && contentType !== json.mediaType) {
      throw new RegistryError(400, 'MANIFEST_INVALID', 'manifest invalid', { reason: `mediaType in manifest should be '${contentType}' not '${json.mediaType}'` });
    }
    const digest = sha256(req.body);
    if (DIGEST.test(reference) && reference !== digest) throw new RegistryError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: reference, actual: digest });
    let size = req.body.length;
    if (INDEX_TYPES.has(mediaType)) {
      for (const m of json.manifests ?? []) {
        const child = st.versions.find((v) => v.name === `${pkg}/versions/${m.digest}`);
        if (!child) throw new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', { digest: m.digest });
        size += Number(child.imageSizeBytes);
      }
    } else {
      const have = p.heldBy(name);
      for (const b of [json.config, ...(json.layers ?? [])]) {
        if (!b || !have.has(b.digest)) throw new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', { digest: b?.digest ?? '(no config)' });
        size += Number(b.size);
      }
    }
    const now = new Date().toISOString();
    p.ensurePackage(pkg, now);
    const versionName = `${pkg}/versions/${digest}`;
    const existing = st.versions.find((v) => v.name === versionName);
    if (existing) {
      existing.updateTime = now;
      existing.manifest = text;
    } else {
      st.versions.push({ name: versionName, createTime: now, updateTime: now, imageSizeBytes: String(size), mediaType, manifest: text });
    }
    if (!DIGEST.test(reference)) {
      const tagName = `${pkg}/tags/${reference}`;
      const t = st.tags.find((x) => x.name === tagName);
      if (t) t.version = versionName;
      else st.tags.push({ name: tagName, version: versionName } as ArTag);
    }
    return { status: 201, headers: { location: `/v2/${name}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': '0' }, body: '' };
  };

  const del = (req: SandboxRequest, location: string, name: string, reference: string): SandboxReply => {
    const { repo, pkg } = p.resolve(location, name);
    authorize(p, req, location, name, repo, 'delete');
    if (!DIGEST.test(reference)) {
      // Deleting by tag removes the tag (distribution spec 1.1), not the manifest.
      const tagName = `${pkg}/tags/${reference}`;
      if (!st.tags.some((t) => t.name === tagName)) throw unknown(reference, name);
      st.tags = st.tags.filter((t) => t.name !== tagName);
      return { status: 202, headers: { 'content-length': '0' }, body: '' };
    }
    const v = p.findVersion(pkg, reference);
    if (!v) throw unknown(reference, name);
    st.tags = st.tags.filter((t) => t.version !== v.name);
    st.versions = st.versions.filter((x) => x.name !== v.name);
    return { status: 202, headers: { 'content-length': '0' }, body: '' };
  };

  return { GET: get, HEAD: get, PUT: put, DELETE: del };
}

function blobRoutes(p: Parts) {
  const blobUnknown = (digest: string) => new RegistryError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  const uploadUnknown = (id: string) => new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id });
  const store = (name: string, bytes: Buffer, expected: string): string => {
    if (!DIGEST.test(expected)) throw new RegistryError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { digest: expected });
    const actual = sha256(bytes);
    if (actual !== expected) throw new RegistryError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { expected, actual });
    p.blobs.set(actual, bytes);
    p.heldBy(name).add(actual);
    return actual;
  };
  const created = (name: string, digest: string): SandboxReply => ({
    status: 201,
    headers: { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': '0' },
    body: '',
  });
  const uploadState = (name: string, id: string, status: number): SandboxReply => {
    const size = (p.uploads.get(id)?.chunks ?? []).reduce((n, c) => n + c.length, 0);
    return {
      status,
      headers: { location: `/v2/${name}/blobs/uploads/${id}`, 'docker-upload-uuid': id, range: `0-${Math.max(size - 1, 0)}`, 'content-length': '0' },
      body: '',
    };
  };
  const guard = (req: SandboxRequest, location: string, name: string): void => {
    const { repo } = p.resolve(location, name);
    authorize(p, req, location, name, repo);
  };
  const session = (name: string, id: string): Upload => {
    const u = p.uploads.get(id);
    if (!u || u.name !== name) throw uploadUnknown(id);
    return u;
  };

  return {
    blob(req: SandboxRequest, location: string, name: string, digest: string): SandboxReply {
      guard(req, location, name);
      if (req.method === 'DELETE') throw new RegistryError(405, 'UNSUPPORTED', 'The operation is unsupported.');
      const bytes = p.blobs.get(digest);
      if (!bytes || !p.heldBy(name).has(digest)) throw blobUnknown(digest);
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'docker-content-digest': digest, etag: `"${digest}"` },
        body: req.method === 'HEAD' ? '' : bytes,
      };
    },
    upload(req: SandboxRequest, location: string, name: string, id: string): SandboxReply {
      guard(req, location, name);
      if (req.method === 'POST') {
        if (id) throw new RegistryError(405, 'UNSUPPORTED', 'The operation is unsupported.');
        const mount = req.query.get('mount');
        const from = req.query.get('from');
        if (mount && from && p.blobs.has(mount) && p.held.get(from)?.has(mount)) {
          p.heldBy(name).add(mount);
          return created(name, mount);
        }
        const digest = req.query.get('digest');
        if (digest) return created(name, store(name, req.body, digest));
        const uuid = randomUUID();
        p.uploads.set(uuid, { name, chunks: req.body.length ? [req.body] : [] });
        return uploadState(name, uuid, 202);
      }
      const u = session(name, id);
      if (req.method === 'GET') return uploadState(name, id, 204);
      if (req.method === 'DELETE') {
        p.uploads.delete(id);
        return { status: 204, headers: { 'content-length': '0' }, body: '' };
      }
      if (req.body.length) u.chunks.push(req.body);
      if (req.method === 'PATCH') return uploadState(name, id, 202);
      // PUT ?digest= completes the upload.
      const digest = req.query.get('digest') ?? '';
      const stored = store(name, Buffer.concat(u.chunks), digest);
      p.uploads.delete(id);
      return created(name, stored);
    },
  };
}

/** `n` and `last` pagination with a Link header, as the spec's tags list and catalog page. */
function paged(items: string[], req: SandboxRequest, path: string): { items: string[]; link?: string } {
  const sorted = [...items].sort();
  const last = req.query.get('last');
  const from = last ? sorted.filter((x) => x > last) : sorted;
  const nRaw = req.query.get('n');
  const n = nRaw === null ? undefined : Number(nRaw);
  if (n === undefined || !Number.isInteger(n) || n <= 0 || n >= from.length) return { items: from };
  const page = from.slice(0, n);
  return { items: page, link: `<${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1] as string)}>; rel="next"` };
}

function errorReply(err: RegistryError): SandboxReply {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...err.headers },
    json: { errors: [{ code: err.code, message: err.message, ...(err.detail !== undefined ? { detail: err.detail } : {}) }] },
  };
}

const dockerRegistry: ApiModule = {
  id: 'docker-registry',
  async register(ctx: SandboxContext) {
    const p = dockerRegistryParts(ctx);
    const manifests = manifestRoutes(p);
    const blobs = blobRoutes(p);
    const locations = new Set([ctx.project.region, ...p.st.repositories.filter((r) => r.format === 'DOCKER').map((r) => r.name.split('/')[3] as string)]);
    const overrides: string[] = [];
    for (const location of [...locations].sort()) {
      const { host } = await ctx.mount(`${PREFIX}/${location}`);
      p.hosts.set(location, host);
      overrides.push(`${p.hostOf(location)}=${host}`);
    }
    ctx.addEnv(REGISTRY_OVERRIDES_ENV, overrides.join(','));

    const route = (methods: string[], name: string, re: string, fn: (req: SandboxRequest, g: Record<string, string>) => SandboxReply): void => {
      for (const method of methods) {
        ctx.router.add({
          method,
          path: new RegExp(`^${PREFIX}/(?<location>[a-z0-9-]+)/v2/${re}$`),
          api: API,
          name,
          auth: false,
          faultReply: (f) => errorReply(new RegistryError(f.status, f.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', f.message ?? `Injected fault (${f.status}).`)),
          handler: async (req) => {
            // IAM's check in authorize() is synchronous: load the policy (the Terraform's, once) first.
            await p.iam?.currentPolicy();
            try {
              const reply = fn(req, req.params);
              return { ...reply, headers: { 'docker-distribution-api-version': 'registry/2.0', ...(reply.headers ?? {}) } };
            } catch (err) {
              if (err instanceof RegistryError) {
                const reply = errorReply(err);
                return { ...reply, headers: { 'docker-distribution-api-version': 'registry/2.0', ...(reply.headers ?? {}) } };
              }
              throw err;
            }
          },
        });
      }
    };
    const NAME = '(?<name>[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)+)';

    route(['GET', 'HEAD'], 'ping', '', (req, g) => {
      const location = g.location as string;
      if (!p.credentialOf(req).token) {
        throw new RegistryError(401, 'UNAUTHORIZED', 'Authentication is required.', undefined, { 'www-authenticate': `Bearer realm="http://${p.hosts.get(location)}/v2/token"` });
      }
      return { status: 200, json: {} };
    });

    route(['GET'], 'token', 'token', (req, g) => {
      const location = g.location as string;
      const service = req.query.get('service');
      if (service && service !== p.hostOf(location)) throw new RegistryError(400, 'UNSUPPORTED', `Unknown service "${service}".`);
      const { token, given } = p.credentialOf(req);
      if (given && !token) throw new RegistryError(401, 'UNAUTHORIZED', 'No valid credential was supplied.');
      const access = req.query.getAll('scope').flatMap((s) => {
        const m = /^repository:([^:]+):(.+)$/.exec(s);
        return m ? [{ type: 'repository', name: m[1] as string, actions: (m[2] as string).split(',') }] : [];
      });
      const issued = ctx.tokens.issue({
        subject: token?.subject ?? 'anonymous',
        kind: 'docker-registry',
        ttlSeconds: 3600,
        claims: { access, anonymous: !token, service: p.hostOf(location), ...(token ? { principal: token.token } : {}) },
      });
      return { status: 200, json: { token: issued.token, access_token: issued.token, expires_in: 3600, issued_at: new Date(issued.issuedAt).toISOString() } };
    });

    route(['GET'], 'catalog', '_catalog', (req, g) => {
      const location = g.location as string;
      if (!p.credentialOf(req).token) throw new RegistryError(401, 'UNAUTHORIZED', 'Authentication is required.', undefined, { 'www-authenticate': `Bearer realm="http://${p.hosts.get(location)}/v2/token",service="${p.hostOf(location)}",scope="registry:catalog:*"` });
      const names = p.st.packages
        .filter((x) => x.name.split('/')[3] === location && p.versionsOf(x.name).length > 0)
        .map((x) => {
          const [, project, , , , repo, , image] = x.name.split('/');
          return `${project}/${repo}/${decodeURIComponent(image as string)}`;
        });
      const page = paged(names, req, '/v2/_catalog');
      return { status: 200, headers: page.link ? { link: page.link } : ({} as Record<string, string>), json: { repositories: page.items } };
    });

    route(['GET'], 'tags.list', `${NAME}/tags/list`, (req, g) => {
      const location = g.location as string;
      const name = g.name as string;
      const { repo, pkg } = p.resolve(location, name);
      authorize(p, req, location, name, repo);
      if (!p.st.packages.some((x) => x.name === pkg)) throw new RegistryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
      const tags = p.st.tags.filter((t) => t.name.startsWith(`${pkg}/tags/`)).map((t) => t.name.slice(t.name.lastIndexOf('/') + 1));
      const page = paged(tags, req, `/v2/${name}/tags/list`);
      return { status: 200, headers: page.link ? { link: page.link } : ({} as Record<string, string>), json: { name, tags: page.items } };
    });

    for (const [method, fn] of Object.entries(manifests)) {
      route([method], `manifests.${method.toLowerCase()}`, `${NAME}/manifests/(?<reference>[^/]+)`, (req, g) => fn(req, g.location as string, g.name as string, g.reference as string));
    }
    route(['POST', 'PATCH', 'PUT', 'GET', 'DELETE'], 'blobs.upload', `${NAME}/blobs/uploads/(?<id>[^/]*)`, (req, g) => blobs.upload(req, g.location as string, g.name as string, g.id ?? ''));
    route(['GET', 'HEAD', 'DELETE'], 'blobs', `${NAME}/blobs/(?<digest>sha256:[a-f0-9]{64})`, (req, g) => blobs.blob(req, g.location as string, g.name as string, g.digest as string));
  },
};

export default dockerRegistry;
