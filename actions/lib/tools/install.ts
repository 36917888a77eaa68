/**
 * Pinned, checksum-verified installs of the command-line tools an action needs (helm, minikube):
 * download once into the runner's tool cache (`RUNNER_TOOL_CACHE/<name>/<version>/<arch>/`), verify
 * the SHA-256 before anything is unpacked or made executable, and put the directory on PATH.
 * A tool already on PATH is used as it is (the runner image may carry it; tests put stand-ins there).
 */
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { exec } from '@actions/exec';
import { ActionError } from '../errors.js';
import { addPath, info } from '../runner.js';

export type ToolArch = 'amd64' | 'arm64';

export interface ToolPin {
  name: string;
  version: string;
  /** Download URL per architecture. */
  url: Record<ToolArch, string>;
  /** SHA-256 of each download, inlined from the release page; or the URL of the checksum file the project publishes next to it. */
  sha256: Record<ToolArch, string | { url: string }>;
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

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok) throw new ActionError(`Downloading ${url} failed: HTTP ${res.status}.`, { fix: 'Check the runner can reach the release host, or preinstall the tool on the runner image.' });
  return Buffer.from(await res.arrayBuffer());
}

async function expectedSha(pin: ToolPin, arch: ToolArch): Promise<string> {
  const s = pin.sha256[arch];
  if (typeof s === 'string') return s.toLowerCase();
  const text = (await download(s.url)).toString('utf8').trim();
  const hex = /^[0-9a-f]{64}/i.exec(text)?.[0];
  if (!hex) throw new ActionError(`The checksum file ${s.url} holds no SHA-256.`);
  return hex.toLowerCase();
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
    process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`;
    info(`${pin.name} ${pin.version}: from the tool cache ${dir}`);
    return { path: bin, source: 'cache' };
  }
  const url = pin.url[arch];
  info(`${pin.name} ${pin.version}: downloading ${url}`);
  const data = await download(url);
  const want = await expectedSha(pin, arch);
  const got = sha256Hex(data);
  if (got !== want) {
    throw new ActionError(`${pin.name} ${pin.version} (${arch}) from ${url} has SHA-256 ${got}, expected ${want}: not installed.`, {
      fix: 'The download was altered or the pin is wrong; do not bypass the check. Retry, or fix the pinned checksum in actions/lib/local-stack/tools.ts from the release page.',
    });
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (pin.archiveMember) {
    const tgz = join(dir, `.download.tar.gz`);
    writeFileSync(tgz, data);
    const member = pin.archiveMember.replace('{arch}', arch);
    await exec('tar', ['-xzf', tgz, '-C', dir, member], { silent: true });
    renameSync(join(dir, member), bin);
    rmSync(tgz, { force: true });
  } else {
    writeFileSync(bin, data);
  }
  chmodSync(bin, 0o755);
  writeFileSync(join(dir, '.complete'), `${got}\n`);
  addPath(dir);
  process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`;
  return { path: bin, source: 'download' };
}
