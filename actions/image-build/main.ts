import { join } from 'node:path';
import { archSlug, buildxArgs, checkPlatform, docker, ensureBuilder, login, logout, nativePlatform, readMetadata } from '../lib/docker/buildx.js';
import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { getAccessToken } from '../lib/google/auth.js';
import { readBool, readSecret, readString } from '../lib/inputs.js';
import { PLATFORM_PATTERN } from '../lib/oci/media.js';
import { REGISTRY_USER, REPOSITORY_ACCEPTED, REPOSITORY_PATTERN, isArtifactRegistryHost, parseRepository } from '../lib/oci/reference.js';
import { getState, group, info, saveState, setOutput, warning } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';

const KEY_VALUE = /^[A-Za-z_][A-Za-z0-9_.-]*=.*$/;

function readKeyValues(name: string): string[] {
  // One per line: values may contain commas.
  const raw = readString(name);
  const items = raw.split('\n').map((s) => s.trim()).filter(Boolean);
  for (const it of items) if (!KEY_VALUE.test(it)) throw new InputError(name, raw, `line ${JSON.stringify(it)} is not KEY=VALUE.`);
  return items;
}

function created(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  return epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000).toISOString().replace(/\.000Z$/, 'Z') : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Every input, read and checked once. */
function readInputs() {
  const image = readString('image', { required: true, pattern: REPOSITORY_PATTERN, accepted: REPOSITORY_ACCEPTED });
  const context = readString('context');
  const file = readString('file');
  const requested = readString('platform', { pattern: PLATFORM_PATTERN, accepted: 'a platform os/arch[/variant], e.g. linux/arm64' });
  const allowEmulation = readBool('allow_emulation');
  const buildArgs = readKeyValues('build_args');
  const extraLabels = readKeyValues('labels');
  const version = readString('version');
  const cache = readBool('cache');
  const cacheRefInput = readString('cache_ref', { pattern: /^[a-zA-Z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?$/, accepted: 'an image reference with a tag' });
  const provenance = readString('provenance', { pattern: /^(mode=(max|min)|false|true)$/, accepted: 'mode=max, mode=min, true or false' });
  const sbom = readBool('sbom');
  const builder = readString('builder', { pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, accepted: 'a builder name' });
  const username = readString('username', { pattern: REGISTRY_USER, accepted: 'a registry username: visible ASCII characters, no spaces or colons' });
  const password = readSecret('password', { header: true });
  if (username && !password) throw new InputError('password', '', 'a password is required when username is given.');
  if (password && !username) throw new InputError('username', '', 'a username is required when password is given.');
  const ref = parseRepository(image);
  return { image, context, file, requested, allowEmulation, buildArgs, extraLabels, version, cache, cacheRefInput, provenance, sbom, builder, username, password, ref };
}

async function main(): Promise<void> {
  const { image, context, file, requested, allowEmulation, buildArgs, extraLabels, version, cache, cacheRefInput, provenance, sbom, builder, username, password, ref } = readInputs();

  const native = nativePlatform();
  const { platform, emulated } = checkPlatform(requested || native, native, allowEmulation);
  if (emulated) warning(`Building ${platform} on a ${native} runner under emulation (allow_emulation: true); expect it to be slow.`);

  let loginUser = username;
  let loginPassword = password;
  if (!loginUser && isArtifactRegistryHost(ref.host)) {
    loginUser = 'oauth2accesstoken';
    loginPassword = await getAccessToken();
  }
  if (loginUser) {
    await group(`docker login ${ref.host}`, () => login(ref.host, loginUser, loginPassword));
    saveState('loggedIn', ref.host);
  }

  const state = await group(`buildx builder ${builder}`, () => ensureBuilder(builder));
  info(`Builder ${builder}: ${state}`);

  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
  const labels = [
    `org.opencontainers.image.source=${server}/${process.env.GITHUB_REPOSITORY ?? ''}`,
    `org.opencontainers.image.revision=${process.env.GITHUB_SHA ?? ''}`,
    `org.opencontainers.image.created=${created()}`,
    ...(version ? [`org.opencontainers.image.version=${version}`] : []),
    ...extraLabels,
  ];
  const metadataFile = join(process.env.RUNNER_TEMP ?? '.', `buildx-metadata-${archSlug(platform)}-${process.pid}.json`);
  const args = buildxArgs({
    builder,
    platform,
    image,
    context,
    file: file || undefined,
    buildArgs,
    labels,
    cacheRef: cache ? cacheRefInput || `${image}:buildcache-${archSlug(platform)}` : undefined,
    provenance,
    sbom,
    metadataFile,
  });
  await group(`docker buildx build ${platform}`, () => docker(args));
  const { digest } = readMetadata(metadataFile);

  setOutput('digest', digest);
  setOutput('platform', platform);
  setOutput('reference', `${image}@${digest}`);
  new Summary()
    .heading(`Built ${platform}`)
    .table(['Image', 'Platform', 'Digest', 'Native'], [[image, platform, `\`${digest}\``, emulated ? 'no (emulated)' : 'yes']])
    .write();
}

async function post(): Promise<void> {
  const host = getState('loggedIn');
  if (host) await logout(host);
}

void runAction({ main, post });
