// The pure parts: the support matrix from node facts, the tool-install helper's checksum check and
// cache, and that the bundle finds the suite's kustomize bases relative to itself.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { assess, componentSpecs, defaultComponents, deployOrder, formatRequests, nodeFacts, OPERATORS } from '../../actions/lib/local-stack/matrix.js';
import { operatorManifest } from '../../actions/lib/local-stack/apply.js';
import { resultBase, tunnelLines } from '../../actions/lib/local-stack/results.js';
import { ensureTool, sha256Hex, type ToolPin } from '../../actions/lib/tools/install.js';
import { HELM, MINIKUBE } from '../../actions/lib/local-stack/tools.js';
import { ROOT } from '../harness.js';

const node = (arch: string, gpu: number, memory: string, product = ''): Parameters<typeof nodeFacts>[0] => ({
  metadata: { name: 'n', labels: { 'kubernetes.io/arch': arch, ...(product ? { 'nvidia.com/gpu.product': product } : {}) } },
  status: { allocatable: { cpu: '16', memory, ...(gpu ? { 'nvidia.com/gpu': String(gpu) } : {}) } },
});

describe('tunnels', () => {
  it('every service of the stack has its own unprivileged workstation port', () => {
    const eps = Object.values(componentSpecs('meta/llama-3.1-8b-instruct:1.3.3')).flatMap((c) => c.endpoints.map((e) => ({ ...e, component: c.name })));
    assert.ok(eps.length >= 7);
    for (const e of eps) assert.ok(e.localPort >= 1024, `${e.component}/${e.service} uses local port ${e.localPort}`);
    const ports = eps.map((e) => e.localPort);
    assert.deepEqual([...new Set(ports)].length, ports.length, `two services share a local port: ${ports.join(', ')}`);
    assert.deepEqual(eps.filter((e) => e.component === 'nim' || e.component === 'nemo').map((e) => e.localPort), [8000, 8001]);
    assert.deepEqual(eps.filter((e) => e.component === 'kfp').map((e) => e.localPort), [8080]);
  });

  it('without a host, the one line names a placeholder rather than the runner container', () => {
    const results = (['qdrant', 'kfp'] as const).map((c) => resultBase(componentSpecs('m/x:1')[c], nodeFacts(node('amd64', 1, '64Gi'))));
    const line = tunnelLines(results, { host: 'MACHINE', user: 'USER' });
    assert.match(line, /^ssh -N -L 6333:\S+:30633 -L 8080:127\.0\.0\.1:8080 USER@MACHINE {2}# after, on the machine: kubectl -n kubeflow port-forward svc\/ml-pipeline-ui 8080:80$/);
    assert.equal(results[1]?.tunnel, 'ssh -N -L 8080:127.0.0.1:8080 USER@MACHINE  # after, on the machine: kubectl -n kubeflow port-forward svc/ml-pipeline-ui 8080:80');
  });
});

describe('support matrix', () => {
  it('tells a Jetson from a DGX by what the node reports, not by its name', () => {
    assert.equal(nodeFacts(node('arm64', 1, '64Gi', 'NVIDIA-Jetson-AGX-Orin')).platform, 'jetson');
    assert.equal(nodeFacts(node('arm64', 1, '128Gi', 'NVIDIA-GB10')).platform, 'arm64');
    assert.equal(nodeFacts(node('amd64', 0, '32Gi')).platform, 'amd64');
    const tegraKernel = node('arm64', 1, '64Gi');
    tegraKernel.status = { ...tegraKernel.status, nodeInfo: { kernelVersion: '5.15.148-tegra' } };
    assert.equal(nodeFacts(tegraKernel).platform, 'jetson');
  });

  it('GPU components need an allocatable GPU; memory that does not fit is refused', () => {
    const cpuOnly = nodeFacts(node('amd64', 0, '64Gi'));
    const a = assess(['ollama', 'kfp'], cpuOnly);
    assert.equal(a.ok, false);
    assert.match(a.verdicts[0]?.reason ?? '', /needs an NVIDIA GPU; node n has no allocatable nvidia.com\/gpu/);
    assert.equal(a.verdicts[1]?.supported, true);
    const small = nodeFacts(node('amd64', 1, '16Gi'));
    const b = assess(['mlflow', 'ollama'], small);
    assert.deepEqual(b.misfit, ['memory: asked 19Gi, free 16Gi of 16Gi']);
    const busy = nodeFacts(node('arm64', 1, '128Gi', 'NVIDIA-GB10'), { cpuMilli: 0, memory: 0, gpu: 1 });
    assert.deepEqual(assess(['ollama'], busy).misfit, ['GPUs: asked 1, free 0 of 1']);
  });

  it('per-machine defaults and per-architecture images', () => {
    assert.deepEqual(defaultComponents(nodeFacts(node('arm64', 1, '64Gi', 'Orin'))), ['qdrant', 'ollama']);
    assert.deepEqual(defaultComponents(nodeFacts(node('arm64', 1, '128Gi', 'NVIDIA-GB10'))), ['mlflow', 'qdrant', 'ollama']);
    const s = componentSpecs();
    assert.equal(s.ollama.images.jetson?.[0]?.name, 'docker.io/dustynv/ollama');
    assert.equal(s.nim.images.jetson, undefined);
    assert.equal(s.kfp.images.arm64, undefined);
  });
});

describe('tool install helper', () => {
  const payload = Buffer.from('#!/bin/sh\necho tool 1.0\n');
  let url = '';
  let served = 0;
  const server = createServer((_req, res) => {
    served++;
    res.end(payload);
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  const pin = (sha: ToolPin['sha256']['amd64']): ToolPin => ({
    name: `mlabs-test-tool-${Math.random().toString(36).slice(2, 8)}`, version: 'v1.0.0',
    url: { amd64: `${url}/tool`, arm64: `${url}/tool` }, sha256: { amd64: sha, arm64: sha },
  });

  it('downloads, verifies the SHA-256, caches under RUNNER_TOOL_CACHE, then reuses the cache', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'toolcache-'));
    const p = pin(sha256Hex(payload));
    const path = process.env.PATH;
    const first = await ensureTool(p, { arch: 'amd64', cacheRoot: cache });
    assert.equal(first.source, 'download');
    assert.equal(first.path, join(cache, p.name, '1.0.0', 'amd64', p.name));
    assert.equal(readFileSync(first.path, 'utf8'), payload.toString());
    const n = served;
    assert.ok(process.env.PATH?.startsWith(join(cache, p.name)), 'this step finds it on PATH');
    vi.stubEnv('PATH', path); // a later job: the cache, not PATH
    const second = await ensureTool(p, { arch: 'amd64', cacheRoot: cache });
    assert.equal(second.source, 'cache');
    assert.equal(served, n);
    rmSync(cache, { recursive: true, force: true });
  });

  it('takes helm and minikube from runner-image/versions.json, the pins the runner image is built from', () => {
    const versions = JSON.parse(readFileSync(join(ROOT, 'runner-image/versions.json'), 'utf8'));
    for (const [pinned, name] of [[HELM, 'helm'], [MINIKUBE, 'minikube']] as const) {
      const entry = versions.tools[name];
      assert.equal(pinned.version, `v${entry.version}`);
      assert.deepEqual(pinned.sha256, entry.sha256);
      assert.match(pinned.sha256.amd64, /^(?!0{64})[0-9a-f]{64}$/, `${name} has a real checksum`);
      for (const arch of ['amd64', 'arm64'] as const) {
        assert.ok(pinned.url[arch].includes(entry.version) && pinned.url[arch].includes(entry.arch[arch]), pinned.url[arch]);
      }
    }
  });

  it('refuses a download whose checksum does not match, installing nothing', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'toolcache-'));
    const p = pin('0'.repeat(64));
    await assert.rejects(ensureTool(p, { arch: 'amd64', cacheRoot: cache }), /has SHA-256 [0-9a-f]{64}, expected 0{64}: not installed/);
    assert.equal(existsSync(join(cache, p.name)), false);
  });

  it('unpacks a pinned .tar.gz member (helm layout)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tgz-'));
    mkdirSync(join(work, 'linux-amd64'));
    writeFileSync(join(work, 'linux-amd64', 'helmish'), payload);
    execFileSync('tar', ['-czf', join(work, 'h.tgz'), '-C', work, 'linux-amd64']);
    const tgz = readFileSync(join(work, 'h.tgz'));
    const srv = createServer((_req, res) => res.end(tgz));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const u = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/h.tgz`;
    const cache = mkdtempSync(join(tmpdir(), 'toolcache-'));
    const name = `helmish-${Math.random().toString(36).slice(2, 8)}`;
    const r = await ensureTool({ name, version: 'v3.0.0', url: { amd64: u, arm64: u }, sha256: { amd64: sha256Hex(tgz), arm64: sha256Hex(tgz) }, archiveMember: 'linux-{arch}/helmish' }, { arch: 'amd64', cacheRoot: cache });
    srv.close();
    assert.equal(readFileSync(r.path, 'utf8'), payload.toString());
  });
});

describe('bundle', () => {
  it('finds the kustomize bases at ../../lib/local-stack/manifests from dist/, and stays small', () => {
    const dist = join(ROOT, 'actions', 'local-stack', 'dist', 'index.js');
    assert.ok(readFileSync(dist).length < 300 * 1024);
    assert.ok(existsSync(join(ROOT, 'actions', 'local-stack', 'dist', '..', '..', 'lib', 'local-stack', 'manifests', 'mlflow', 'kustomization.yaml')));
    assert.match(readFileSync(dist, 'utf8'), /\["\.\.","\.\.","lib","local-stack","manifests"\]/);
    for (const c of ['mlflow', 'qdrant', 'ollama', 'nim', 'nemo', 'kfp']) {
      const out = execFileSync('kubectl', ['kustomize', join(ROOT, 'actions', 'lib', 'local-stack', 'manifests', c)]).toString();
      assert.match(out, /app.kubernetes.io\/managed-by: mlabs-actions/, c);
      assert.match(out, /kind: Namespace/, c);
    }
  });
});

describe('training operators (jobset, kueue, kuberay)', () => {
  const ops = ['jobset', 'kueue', 'kuberay'] as const;

  it('the committed manifests are the pinned ones: checksum, the release image only, no Namespace, every object labelled, requests as the matrix says', () => {
    const specs = componentSpecs();
    for (const name of ops) {
      const yaml = operatorManifest(name, join(ROOT, 'actions', 'lib', 'local-stack', 'manifests'));
      const pin = OPERATORS[name];
      const images = [...new Set([...yaml.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]))];
      assert.deepEqual(images, [pin.image], name);
      assert.doesNotMatch(yaml, /^kind: Namespace$/m, `${name}: the action owns the namespace`);
      const docs = yaml.split(/^---$/m);
      for (const d of docs) assert.match(d, /mlabs\.dev\/component: /, `${name}: an object without the stack's label`);
      for (const crd of pin.crds) assert.match(yaml, new RegExp(`^  name: ${crd.replace(/\./g, '\\.')}$`, 'm'), `${name}: ${crd}`);
      for (const c of pin.callers) assert.match(yaml, new RegExp(`^  name: ${c.split('/')[1]?.replace(/\./g, '\\.')}$`, 'm'), `${name}: ${c}`);
      const dep = docs.find((d) => /^kind: Deployment$/m.test(d)) ?? '';
      assert.match(dep, new RegExp(`^  name: ${pin.deployment}$`, 'm'));
      const req = /requests:\n\s+cpu: (\S+)\n\s+memory: (\S+)/.exec(dep);
      assert.equal(`cpu ${req?.[1]}, memory ${req?.[2]}`, formatRequests(specs[name].requests), `${name}: the matrix's requests are the manifest's`);
    }
  });

  it('a manifest that is not the pinned one is refused before anything is applied, naming both checksums', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-'));
    mkdirSync(join(dir, 'jobset'));
    writeFileSync(join(dir, 'jobset', 'jobset.yaml.gz'), gzipSync('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'));
    assert.throws(() => operatorManifest('jobset', dir), (err: Error) => {
      assert.match(err.message, new RegExp(`has sha256 [0-9a-f]{64}, not the pinned ${OPERATORS.jobset.sha256} \\(kubernetes-sigs/jobset v0\\.12\\.0\\); nothing was applied`));
      return true;
    });
    assert.throws(() => operatorManifest('kueue', dir), /the pinned manifest .* is missing/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('run on amd64, arm64 and Jetson without a GPU, and are never deployed by default', () => {
    for (const n of [node('amd64', 0, '16Gi'), node('arm64', 0, '16Gi'), node('arm64', 1, '64Gi', 'NVIDIA-Jetson-AGX-Orin')]) {
      const facts = nodeFacts(n);
      const a = assess([...ops], facts);
      assert.equal(a.ok, true, `${facts.platform}: ${JSON.stringify(a.verdicts)}`);
      for (const c of defaultComponents(facts)) assert.ok(!(ops as readonly string[]).includes(c));
    }
    assert.deepEqual(deployOrder(['kueue', 'kuberay', 'jobset']), ['jobset', 'kuberay', 'kueue'], 'JobSet and KubeRay before Kueue, which integrates them');
  });
});
