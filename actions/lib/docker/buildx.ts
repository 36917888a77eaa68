/**
 * `docker buildx build` for one platform, natively: the platform comes from the
 * runner's own architecture, the image is pushed by digest only (no tag) with
 * provenance, and the registry serves as the build cache. Programs run through
 * runTool with argument arrays, never a shell string.
 */
import { readFileSync } from 'node:fs';
import { ActionError, describeError } from '../errors.js';
import { parsePlatform, platformString } from '../oci/media.js';
import { isProgramMissing, runTool } from '../tools/exec.js';

/** The platform of this machine, from the runner's RUNNER_ARCH (X64, ARM64, ARM), else Node's own. */
export function nativePlatform(runnerArch = process.env.RUNNER_ARCH, nodeArch: string = process.arch): string {
  const arch = (runnerArch || nodeArch).toUpperCase();
  switch (arch) {
    case 'X64':
      return 'linux/amd64';
    case 'ARM64':
      return 'linux/arm64';
    case 'ARM':
      return 'linux/arm/v7';
    default:
      throw new ActionError(`This runner's architecture "${runnerArch || nodeArch}" is not one image-build knows (X64, ARM64, ARM).`);
  }
}

/** `linux/arm64` → `arm64`, `linux/arm/v7` → `arm-v7`: for cache tags. */
export function archSlug(platform: string): string {
  return platform.split('/').slice(1).join('-');
}

export interface BuildOptions {
  builder: string;
  platform: string;
  /** Repository reference without tag. */
  image: string;
  context: string;
  file?: string;
  buildArgs: string[];
  labels: string[];
  /** Registry cache reference; undefined = no cache. */
  cacheRef?: string;
  /** `mode=max`, `mode=min`, or `false`. */
  provenance: string;
  sbom: boolean;
  metadataFile: string;
}

/** The exact argument array of the build. */
export function buildxArgs(o: BuildOptions): string[] {
  const args = ['buildx', 'build', '--builder', o.builder, '--platform', o.platform];
  if (o.file) args.push('--file', o.file);
  for (const a of o.buildArgs) args.push('--build-arg', a);
  for (const l of o.labels) args.push('--label', l);
  if (o.cacheRef) {
    args.push('--cache-from', `type=registry,ref=${o.cacheRef}`);
    args.push('--cache-to', `type=registry,ref=${o.cacheRef},mode=max,image-manifest=true,oci-mediatypes=true`);
  }
  args.push('--provenance', o.provenance);
  args.push('--sbom', String(o.sbom));
  args.push('--output', `type=image,name=${o.image},push-by-digest=true,name-canonical=true,push=true`);
  args.push('--metadata-file', o.metadataFile);
  args.push(o.context);
  return args;
}

/** Compare the requested platform with the machine's; a mismatch needs emulation (QEMU), refused unless allowed. */
export function checkPlatform(requested: string, native: string, allowEmulation: boolean): { platform: string; emulated: boolean } {
  const want = platformString(parsePlatform(requested));
  const have = platformString(parsePlatform(native));
  if (want === have) return { platform: want, emulated: false };
  if (!allowEmulation) {
    throw new ActionError(`This runner is ${have}; building ${want} here would run under emulation (QEMU), which is slow and flaky.`, {
      fix: `Run this job on a ${want} machine (amd64: wsl2; arm64: dgx or agx), or set allow_emulation: true.`,
    });
  }
  return { platform: want, emulated: true };
}

export interface BuildMetadata {
  digest: string;
  /** Everything buildx wrote. */
  raw: Record<string, unknown>;
}

/** Read buildx's --metadata-file: `containerimage.digest` is the pushed manifest (or index, with attestations). */
export function readMetadata(file: string): BuildMetadata {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ActionError(`docker buildx wrote no readable metadata file at ${file}: ${describeError(err)}`);
  }
  const digest = raw['containerimage.digest'];
  if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw new ActionError(`docker buildx's metadata names no pushed digest (containerimage.digest is ${JSON.stringify(digest)}).`);
  }
  return { digest, raw };
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run docker with an argument array; `input` goes to stdin (for --password-stdin). */
export async function docker(args: string[], opts: { input?: Buffer; ignoreReturnCode?: boolean; silent?: boolean } = {}): Promise<RunResult> {
  let r: RunResult;
  try {
    r = await runTool('docker', args, { input: opts.input, silent: opts.silent ?? false });
  } catch (err) {
    if (isProgramMissing(err)) {
      throw new ActionError('docker is not on PATH.', { fix: 'Run on a machine with the Docker CLI and its buildx plugin (the mlabs-runner image carries both).' });
    }
    throw new ActionError(`docker ${args.slice(0, 2).join(' ')} could not be started: ${describeError(err)}`);
  }
  if (r.exitCode !== 0 && !opts.ignoreReturnCode) {
    const detail = r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
    throw new ActionError(`docker ${args.slice(0, 2).join(' ')} failed with exit code ${r.exitCode}${detail ? `: ${detail}` : '.'}`);
  }
  return r;
}

/** Use builder `name` (a docker-container builder, which can export a registry cache); create it when missing. */
export async function ensureBuilder(name: string): Promise<'existing' | 'created'> {
  const inspect = await docker(['buildx', 'inspect', '--bootstrap', name], { ignoreReturnCode: true, silent: true });
  if (inspect.exitCode === 0) return 'existing';
  await docker(['buildx', 'create', '--name', name, '--driver', 'docker-container', '--bootstrap']);
  return 'created';
}

export async function login(host: string, username: string, password: string): Promise<void> {
  await docker(['login', host, '--username', username, '--password-stdin'], { input: Buffer.from(password) });
}

export async function logout(host: string): Promise<void> {
  await docker(['logout', host], { ignoreReturnCode: true });
}
