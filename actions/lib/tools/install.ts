/**
 * Pinned, checksum-verified installs of the command-line tools an action needs (helm, minikube):
 * download once into the runner's tool cache (`RUNNER_TOOL_CACHE/<name>/<version>/<arch>/`), verify
 * the SHA-256 before anything is unpacked or made executable, and put the directory on PATH.
 * A tool already on PATH is used as it is (the runner image may carry it; tests put stand-ins there).
 */
import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { ActionError, describeError } from '../errors.js';
import { addPath, info } from '../runner.js';
import { request } from '../http.js';
import { runTool } from './exec.js';

export type ToolArch = 'amd64' | 'arm64';

export interface ToolPin {
  name: string;
  version: string;
  /** Download URL per architecture. */
  url: Record<ToolArch, string>;
  /** SHA-256 of each download, as the project publishes it. */
  sha256: Record<ToolArch, string>;
  /** A .tar.gz holding the binary at this path (`{arch}` replaced), or a bare binary. */
  archiveMember?: string;
}

/** Node's architecture as release files name it. */
export function toolArch(nodeArch: string = process.arch): ToolArch {
  if (nodeArch === 'x64') return 'amd64';
  if (nodeArch === 'arm64') return 'arm64';
  throw new ActionError(`This runner's architecture "${nodeArch}" has no pinned tool builds (amd64, arm64).`);
}

/** The first executable `name` on PATH. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A tool's entry in runner-image/versions.json. */
export interface VersionsEntry {
  version: string;
  /** With `{version}` and `{arch}` placeholders. */
  url: string;
  /** How the download names each architecture. */
  arch: Record<ToolArch, string>;
  sha256: Record<ToolArch, string>;
}

/** A ToolPin from runner-image/versions.json, so the image and the actions install the same bytes. */
export function pinFromVersions(name: string, entry: VersionsEntry, extra: Pick<ToolPin, 'archiveMember'> = {}): ToolPin {
  const urlFor = (a: ToolArch) => entry.url.replace(/\{version\}/g, entry.version).replace(/\{arch\}/g, entry.arch[a]);
  return { name, version: `v${entry.version}`, url: { amd64: urlFor('amd64'), arm64: urlFor('arm64') }, sha256: entry.sha256, ...extra };
}

export function sha256Hex(data: Buffer): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(data).digest('hex');
}

async function download(url: string): Promise<Buffer> {
  try {
    return Buffer.from(await (await request(url)).arrayBuffer());
  } catch (err) {
    throw new ActionError(`Downloading ${url} failed: ${describeError(err)}`, {
      fix: 'Check the runner can reach the release host, or preinstall the tool on the runner image.',
      cause: err,
    });
  }
}

export interface EnsuredTool {
  path: string;
  source: 'path' | 'cache' | 'download';
}

/**
 * Make `pin.name` runnable: on PATH already → used; in the tool cache → PATH; else download,
 * verify the SHA-256 (refusing a mismatch), unpack and cache.
 */
export async function ensureTool(pin: ToolPin, opts: { arch?: ToolArch; cacheRoot?: string } = {}): Promise<EnsuredTool> {
  const onPath = findOnPath(pin.name);
  if (onPath) {
    info(`${pin.name}: using ${onPath} from PATH`);
    return { path: onPath, source: 'path' };
  }
  const arch = opts.arch ?? toolArch();
  const root = opts.cacheRoot ?? process.env.RUNNER_TOOL_CACHE ?? join(tmpdir(), 'mlabs-tool-cache');
  const dir = join(root, pin.name, pin.version.replace(/^v/, ''), arch);
  const bin = join(dir, pin.name);
  if (existsSync(join(dir, '.complete')) && existsSync(bin)) {
    addPath(dir);
    info(`${pin.name} ${pin.version}: from the tool cache ${dir}`);
    return { path: bin, source: 'cache' };
  }
  const url = pin.url[arch];
  info(`${pin.name} ${pin.version}: downloading ${url}`);
  const data = await download(url);
  const want = pin.sha256[arch].toLowerCase();
  const got = sha256Hex(data);
  if (got !== want) {
    throw new ActionError(`${pin.name} ${pin.version} (${arch}) from ${url} has SHA-256 ${got}, expected ${want}: not installed.`, {
      fix: 'The download was altered or the pin is wrong; do not bypass the check. Retry, or fix the pin in runner-image/versions.json from the release page.',
    });
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (pin.archiveMember) {
    const tgz = join(dir, `.download.tar.gz`);
    writeFileSync(tgz, data);
    const member = pin.archiveMember.replace('{arch}', arch);
    const tar = await runTool('tar', ['-xzf', tgz, '-C', dir, member], { silent: true });
    if (tar.exitCode !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new ActionError(`${pin.name} ${pin.version}: tar could not extract ${member} from ${url} (exit ${tar.exitCode}): ${tar.stderr.trim().slice(0, 500)}`, {
        fix: 'Check that tar is on PATH and that archiveMember in runner-image/versions.json names a file in the archive.',
      });
    }
    renameSync(join(dir, member), bin);
    rmSync(tgz, { force: true });
  } else {
    writeFileSync(bin, data);
  }
  chmodSync(bin, 0o755);
  writeFileSync(join(dir, '.complete'), `${got}\n`);
  addPath(dir);
  return { path: bin, source: 'download' };
}
