/**
 * A small client of the OCI distribution API (the part image-merge and
 * image-prune need): ping and authenticate (Bearer token challenge, or Basic),
 * fetch manifests and blobs by digest with their digests verified, put a
 * manifest by tag, list tags.
 */
import { ActionError, describeError } from '../errors.js';
import { ApiError, isNotFound, request, type RequestOptions } from '../http.js';
import { debug, setSecret } from '../runner.js';
import { MANIFEST_ACCEPT } from './media.js';
import type { RepositoryRef } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parse a WWW-Authenticate header: `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] as string).matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme, params };
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return 'sha256:' + process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex');
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  json: Record<string, unknown>;
}

export class RegistryClient {
  private authorization: string | undefined;
  private authenticated = false;

  constructor(
    readonly ref: RepositoryRef,
    private readonly credentials?: Credentials,
  ) {}

  private url(path: string): string {
    return `${this.ref.baseUrl}/v2/${this.ref.repository}/${path}`;
  }

  /**
   * `GET /v2/` without credentials tells how the registry wants to be spoken to
   * (the Docker client's ping); then a Bearer token for this repository is
   * fetched from the realm, or Basic credentials are used as they are.
   */
  async authenticate(): Promise<void> {
    if (this.authenticated) return;
    const pingUrl = `${this.ref.baseUrl}/v2/`;
    let res: Response;
    try {
      // The one transport (retries, a timeout within the action's deadline); the 401 challenge is read here.
      res = await request(pingUrl, { answers: [401] });
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus !== 0) {
        throw new ActionError(`The registry at ${pingUrl} answered ${err.httpStatus} to the API version check: ${describeError(err)}`, {
          fix: 'Check the registry host in `image`: it must serve the OCI distribution API under /v2/.',
        });
      }
      throw new ActionError(`Cannot reach the registry at ${pingUrl}: ${describeError(err)}`, {
        fix: 'Check the registry host in `image`, and that this runner can reach it (plain HTTP is used only for 127.0.0.0/8).',
      });
    }
    await res.arrayBuffer();
    this.authenticated = true;
    if (res.ok) return;
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    if (!challenge) throw new ActionError(`The registry at ${pingUrl} asks for authentication in a way this action does not speak.`);
    if (challenge.scheme === 'basic') {
      if (!this.credentials) throw this.noCredentials();
      this.authorization = `Basic ${basic(this.credentials)}`;
      setSecret(this.authorization.slice(6));
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) throw new ActionError(`The registry's Bearer challenge names no realm.`);
    const scope = `repository:${this.ref.repository}:pull,push`;
    const headers: Record<string, string> = {};
    if (this.credentials) {
      headers.authorization = `Basic ${basic(this.credentials)}`;
      setSecret(headers.authorization.slice(6));
    }
    let body: { token?: string; access_token?: string };
    try {
      const tokenRes = await request(realm, { query: { service: challenge.params.service, scope }, headers });
      body = (await tokenRes.json()) as typeof body;
    } catch (err) {
      if (err instanceof ApiError && (err.httpStatus === 401 || err.httpStatus === 403)) {
        throw new ActionError(`The registry's token service refused ${this.credentials ? `the credentials of "${this.credentials.username}"` : 'an anonymous request'} for ${scope} (${err.httpStatus}).`, {
          fix: this.credentials ? 'Check the username and password, and that they may push to this repository.' : 'Give `username` and `password`.',
        });
      }
      throw err;
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new ActionError(`The registry's token service at ${realm} returned no token.`);
    setSecret(token);
    this.authorization = `Bearer ${token}`;
  }

  private noCredentials(): ActionError {
    return new ActionError(`The registry ${this.ref.host} requires credentials and none were given.`, {
      fix: 'Give `username` and `password` (for Artifact Registry, run wif-login earlier in the job instead).',
    });
  }

  private async send(path: string, opts: RequestOptions = {}): Promise<Response> {
    await this.authenticate();
    const headers = { ...opts.headers };
    if (this.authorization) headers.authorization = this.authorization;
    try {
      return await request(this.url(path), { ...opts, headers });
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus === 401) {
        throw this.credentials ? new ActionError(`The registry ${this.ref.host} refused the credentials of "${this.credentials.username}" (401).`) : this.noCredentials();
      }
      if (err instanceof ApiError && err.httpStatus === 403) {
        throw new ActionError(`The registry ${this.ref.host} denied ${err.method} on ${this.ref.repository} (403).`, {
          fix: 'Grant the identity push rights on the repository (roles/artifactregistry.writer for Artifact Registry).',
        });
      }
      throw err;
    }
  }

  /** A manifest by digest, with its bytes checked against that digest. Undefined when the registry does not know it. */
  async getManifest(digest: string): Promise<FetchedManifest | undefined> {
    let res: Response;
    try {
      res = await this.send(`manifests/${digest}`, { headers: { accept: MANIFEST_ACCEPT } });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new ActionError(`The registry returned a manifest for ${digest} whose content has digest ${actual}.`);
    const json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const mediaType = (json.mediaType as string | undefined) ?? res.headers.get('content-type')?.split(';')[0] ?? '';
    return { digest, mediaType, size: bytes.length, bytes, json };
  }

  /** A blob by digest, content checked. */
  async getBlob(digest: string): Promise<Buffer> {
    const res = await this.send(`blobs/${digest}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new ActionError(`The registry returned a blob for ${digest} whose content has digest ${actual}.`);
    return bytes;
  }

  /** PUT a manifest by tag (or digest); returns the digest the registry reports. */
  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.send(`manifests/${reference}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: new Uint8Array(bytes) });
    await res.arrayBuffer();
    const digest = res.headers.get('docker-content-digest') ?? sha256Digest(bytes);
    debug(`PUT ${this.ref.repository}:${reference} -> ${digest}`);
    return digest;
  }

  /** Every tag of the repository (following Link pagination). */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = 'tags/list?n=1000';
    while (path) {
      let res: Response;
      try {
        res = await this.send(path);
      } catch (err) {
        if (isNotFound(err)) return tags;
        throw err;
      }
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
      path = link ? (link[1] as string).replace(/^.*\/tags\//, 'tags/') : undefined;
    }
    return tags;
  }
}

function basic(c: Credentials): string {
  return Buffer.from(`${c.username}:${c.password}`).toString('base64');
}
