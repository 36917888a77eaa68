/**
 * Test helpers around the real tools: Debian's docker-registry (the CNCF
 * distribution server) on a loopback port, OCI image layouts written here
 * byte by byte, and skopeo to push them and to read back what a registry holds.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Registry {
  host: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** Log lines the registry printed (for failure messages). */
  log(): string;
}

/**
 * Start docker-registry on 127.0.0.1:<free port>, storage in a temp dir.
 * `htpasswd`: an htpasswd file's content (bcrypt entries) to require Basic auth.
 */
export async function startRegistry(opts: { htpasswd?: string } = {}): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-registry-'));
  const port = await freePort();
  const auth = opts.htpasswd
    ? `auth:\n  htpasswd:\n    realm: mlabs-test\n    path: ${join(dir, 'htpasswd')}\n`
    : '';
  if (opts.htpasswd) writeFileSync(join(dir, 'htpasswd'), opts.htpasswd);
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    auth,
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  let output = '';
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`docker-registry exited:\n${output}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      /* not up yet */
    }
    if (i > 200) throw new Error(`docker-registry did not answer on ${host}:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    port,
    dir,
    log: () => output,
    stop: async () => {
      if (!exited) {
        const done = new Promise((r) => child.on('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal tar archive holding one file (ustar headers written by hand). */
function tarOneFile(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}

export interface Layout {
  dir: string;
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
}

/** Write a single-platform OCI image layout: a tiny gzip layer, a config naming os/arch, a manifest, index.json, oci-layout. */
export function makeLayout(parent: string, platform: { architecture: string; os?: string; variant?: string }, marker = ''): Layout {
  const dir = join(parent, `layout-${platform.architecture}${platform.variant ?? ''}-${Math.random().toString(36).slice(2, 8)}`);
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const d = sha256(data);
    writeFileSync(join(blobs, d.slice(7)), data);
    return { digest: d, size: data.length };
  };
  const tar = tarOneFile('etc/mlabs-arch', `${platform.architecture}${marker}\n`);
  const layer = put(gzipSync(tar, { level: 9 }));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os ?? 'linux',
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Cmd: ['/bin/true'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    ),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const m = put(manifest);
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m }] }),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { dir, manifestDigest: m.digest, manifestSize: m.size, configDigest: config.digest };
}

export function skopeo(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Push a layout by digest (no tag) with skopeo; returns the manifest digest. */
export function pushByDigest(layout: Layout, ref: string, creds?: string): string {
  const args = ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), `oci:${layout.dir}`, `docker://${ref}@${layout.manifestDigest}`];
  const r = skopeo(args);
  if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
  return layout.manifestDigest;
}

export function inspectRaw(ref: string, creds?: string): { code: number; json?: Record<string, unknown>; raw: string; stderr: string } {
  const r = skopeo(['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${ref}`]);
  return { code: r.code, raw: r.stdout, json: r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined, stderr: r.stderr };
}

export function listTags(repo: string, creds?: string): string[] {
  const r = skopeo(['list-tags', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${repo}`]);
  if (r.code !== 0) {
    if (/name unknown|NAME_UNKNOWN|404/i.test(r.stderr)) return [];
    throw new Error(`skopeo list-tags failed: ${r.stderr}`);
  }
  return (JSON.parse(r.stdout) as { Tags: string[] | null }).Tags ?? [];
}
