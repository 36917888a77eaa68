import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { getAccessToken } from '../lib/google/auth.js';
import { readList, readSecret, readString } from '../lib/inputs.js';
import { planIndex, pushIndex } from '../lib/oci/merge.js';
import { PLATFORM_PATTERN, parsePlatform, platformString } from '../lib/oci/media.js';
import { DIGEST_PATTERN, REGISTRY_USER, REPOSITORY_ACCEPTED, REPOSITORY_PATTERN, TAG_PATTERN, isArtifactRegistryHost, parseRepository } from '../lib/oci/reference.js';
import { RegistryClient, type Credentials } from '../lib/oci/registry.js';
import { group, info, setOutput } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';

/** Every input, read and checked once. */
function readInputs() {
  const image = readString('image', { required: true, pattern: REPOSITORY_PATTERN, accepted: REPOSITORY_ACCEPTED });
  const digests = readList('digests', { required: true, item: DIGEST_PATTERN, accepted: 'a digest sha256:<64 hex>' });
  const tags = readList('tags', { required: true, item: TAG_PATTERN, accepted: 'a tag (letters, digits, _ . -, up to 128, not starting with . or -)', unique: true });
  const platforms = readList('platforms', { item: PLATFORM_PATTERN, accepted: 'a platform os/arch[/variant]', unique: true }).map((p) =>
    platformString(parsePlatform(p)),
  );
  const username = readString('username', { pattern: REGISTRY_USER, accepted: 'a registry username: visible ASCII characters, no spaces or colons' });
  const password = readSecret('password', { header: true });
  if (username && !password) throw new InputError('password', '', 'a password is required when username is given.');
  if (password && !username) throw new InputError('username', '', 'a username is required when password is given.');
  const ref = parseRepository(image);
  return { image, digests, tags, platforms, username, password, ref };
}

async function main(): Promise<void> {
  const { image, digests, tags, platforms, username, password, ref } = readInputs();

  let credentials: Credentials | undefined = username ? { username, password } : undefined;
  if (!credentials && isArtifactRegistryHost(ref.host)) credentials = { username: 'oauth2accesstoken', password: await getAccessToken() };

  const client = new RegistryClient(ref, credentials);
  const plan = await group(`Checking ${digests.length} digest(s) in ${image}`, async () => {
    const p = await planIndex(client, digests, platforms);
    for (const e of p.images) info(`${e.platform}  ${e.descriptor.digest}  ${e.descriptor.size} B`);
    for (const a of p.attestations) info(`attestation  ${a.digest}`);
    return p;
  });
  await group(`Writing index ${plan.digest} as ${tags.join(', ')}`, () => pushIndex(client, plan, tags));

  setOutput('digest', plan.digest);
  setOutput('tags', tags.join(','));
  setOutput('reference', `${image}@${plan.digest}`);
  new Summary()
    .heading(`Image index ${image}`)
    .paragraph(`Digest \`${plan.digest}\`, tagged ${tags.map((t) => `\`${t}\``).join(', ')}.`)
    .table(
      ['Platform', 'Digest', 'Size (bytes)'],
      [...plan.images.map((e) => [e.platform, `\`${e.descriptor.digest}\``, e.descriptor.size]), ...plan.attestations.map((a) => ['attestation', `\`${a.digest}\``, a.size])],
    )
    .write();
}

void runAction({ main });
