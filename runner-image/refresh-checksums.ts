/**
 * Rewrite versions.json's checksums after a version bump (needs internet):
 * downloads every tool for every architecture and records its sha256, and
 * resolves base.image's tag to the digest of its multi-platform index.
 *
 *   npx tsx runner-image/refresh-checksums.ts [tool ...]
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = join(dirname(fileURLToPath(import.meta.url)), 'versions.json');
const versions = JSON.parse(readFileSync(file, 'utf8')) as {
  base: { image: string; digest: string };
  architectures: string[];
  tools: Record<string, { version: string; url: string; arch: Record<string, string>; sha256: Record<string, string> }>;
};
const only = process.argv.slice(2);

async function sha256Of(url: string): Promise<string> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
}

async function baseDigest(image: string): Promise<string> {
  const m = /^docker\.io\/(.+):([^:]+)$/.exec(image);
  if (!m) throw new Error(`only docker.io bases are resolved here: ${image}`);
  const [, repo, tag] = m as unknown as [string, string, string];
  const tokenRes = await fetch(`https://auth.docker.io/token?service=registry.docker.io&scope=repository:${repo}:pull`);
  const { token } = (await tokenRes.json()) as { token: string };
  const res = await fetch(`https://registry-1.docker.io/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
  });
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest) throw new Error(`${image}: HTTP ${res.status}, no digest`);
  return digest;
}

if (only.length === 0 || only.includes('base')) {
  versions.base.digest = await baseDigest(versions.base.image);
  console.log(`base ${versions.base.image}@${versions.base.digest}`);
}
for (const [name, tool] of Object.entries(versions.tools)) {
  if (only.length && !only.includes(name)) continue;
  for (const arch of versions.architectures) {
    const url = tool.url.replaceAll('{version}', tool.version).replaceAll('{arch}', tool.arch[arch] ?? '');
    tool.sha256[arch] = await sha256Of(url);
    console.log(`${name} ${tool.version} ${arch} ${tool.sha256[arch]}`);
  }
}
writeFileSync(file, JSON.stringify(versions, null, 2) + '\n');
// The Dockerfile's default BASE_IMAGE must follow (a test compares them).
const dockerfile = join(dirname(file), 'Dockerfile');
writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace(/^ARG BASE_IMAGE=.*$/m, `ARG BASE_IMAGE=${versions.base.image}@${versions.base.digest}`));
