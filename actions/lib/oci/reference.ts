/**
 * Image references as the OCI distribution spec names them: a registry host
 * (with an optional port) and a repository path, without a tag or digest.
 * As Docker does, a registry on 127.0.0.0/8 is spoken to over plain HTTP;
 * every other registry only over HTTPS.
 */
import { ActionError } from '../errors.js';

export interface RepositoryRef {
  /** Host and optional port, e.g. `us-central1-docker.pkg.dev` or `127.0.0.1:5000`. */
  host: string;
  /** Repository path inside the registry, e.g. `p1/runners/mlabs-runner`. */
  repository: string;
  /** `http://host` for loopback registries, `https://host` otherwise (the host as MLABS_DOCKER_REGISTRY_OVERRIDES maps it). */
  baseUrl: string;
}

const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** Pattern (for readString) of a repository reference with a registry host and no tag or digest. */
export const REPOSITORY_PATTERN = /^[a-zA-Z0-9.-]+(?::\d{1,5})?\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const REPOSITORY_ACCEPTED = 'a repository reference with its registry host and no tag or digest, e.g. us-central1-docker.pkg.dev/my-project/runners/mlabs-runner';

export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** A registry username: it goes into Basic auth, where a colon ends it; visible ASCII only. */
export const REGISTRY_USER = /^[\x21-\x39\x3b-\x7e]{1,256}$/;

/**
 * Where a registry host is served: `MLABS_DOCKER_REGISTRY_OVERRIDES` (`HOST=127.0.0.1:PORT,...`, what
 * the sandbox exports for Artifact Registry's `LOCATION-docker.pkg.dev` hosts) maps a host to another
 * address; otherwise the host itself.
 */
export function registryAddress(host: string): string {
  for (const pair of (process.env.MLABS_DOCKER_REGISTRY_OVERRIDES ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === host) return pair.slice(eq + 1).trim();
  }
  return host;
}

/** True for an IPv4 address in 127.0.0.0/8 (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

export function parseRepository(ref: string): RepositoryRef {
  const slash = ref.indexOf('/');
  const host = slash > 0 ? ref.slice(0, slash) : '';
  const repository = slash > 0 ? ref.slice(slash + 1) : '';
  if (!HOST.test(host) || (!host.includes('.') && !host.includes(':') && host !== 'localhost')) {
    throw new ActionError(`"${ref}" does not start with a registry host.`, { fix: `Give the full reference: ${REPOSITORY_ACCEPTED}.` });
  }
  if (!repository || !repository.split('/').every((c) => PATH_COMPONENT.test(c))) {
    throw new ActionError(`"${ref}" is not a repository reference without tag or digest.`, { fix: `Expected ${REPOSITORY_ACCEPTED}.` });
  }
  const address = registryAddress(host);
  const scheme = isLoopbackHost(address) ? 'http' : 'https';
  return { host, repository, baseUrl: `${scheme}://${address}` };
}

/** Artifact Registry's Docker hosts: `<location>-docker.pkg.dev`. */
export function isArtifactRegistryHost(host: string): boolean {
  return /^[a-z0-9-]+-docker\.pkg\.dev$/.test(host.replace(/:\d+$/, ''));
}
