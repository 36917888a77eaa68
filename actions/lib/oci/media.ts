/** OCI and Docker media types, and what the registry is asked to return. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export const MANIFEST_TYPES = [OCI_MANIFEST, DOCKER_MANIFEST];
export const INDEX_TYPES = [OCI_INDEX, DOCKER_LIST];
/** Accept header for manifest requests: every type this suite understands. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** `linux/arm64/v8` and `linux/arm64` are the same platform, as containerd's normaliser says. */
export function normalizePlatform(p: Platform): Platform {
  const architecture = p.architecture === 'aarch64' ? 'arm64' : p.architecture === 'x86_64' ? 'amd64' : p.architecture;
  let variant = p.variant || undefined;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  return variant ? { os: p.os, architecture, variant } : { os: p.os, architecture };
}

export function platformString(p: Platform): string {
  const n = normalizePlatform(p);
  return [n.os, n.architecture, n.variant].filter(Boolean).join('/');
}

export function parsePlatform(text: string): Platform {
  const [os = '', architecture = '', variant] = text.split('/');
  return normalizePlatform({ os, architecture, variant });
}

export const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** buildx's attestation manifests (provenance, SBOM) sit in an index as `unknown/unknown`. */
export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}
