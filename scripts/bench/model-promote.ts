/**
 * `npm run bench -- promote` (or `npx tsx scripts/bench/model-promote.ts`; BENCH_PROMOTE_MIB sets the size,
 * default 128): model-promote's throughput against the sandbox
 * (MinIO stand-in → Cloud Storage, the committed bundle, default chunking and parallelism) next to
 * `gcloud storage cp` of the same bytes from a local file in the same run. Not a test: it prints
 * MiB/s for both; the sandbox is one process on this machine, so the numbers compare the two
 * clients' overheads, not networks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlflowSeed } from '../sandbox/apis/mlflow.js';
import type { S3Service } from '../sandbox/apis/s3.js';
import { startSandbox } from '../sandbox/index.js';
import { ROOT } from '../bundle.js';

const MIB = Number(process.env.BENCH_PROMOTE_MIB ?? 128);
const tmp = mkdtempSync(join(tmpdir(), 'mlabs-bench-promote-'));

function run(cmd: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: env as NodeJS.ProcessEnv, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }));
  });
}

const sb = await startSandbox({});
try {
  const data = Buffer.alloc(MIB * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i >>> 0, i);
  const s3 = sb.ctx.services.get('s3') as S3Service;
  const st = sb.state.mlflow as MlflowSeed;
  st.runs.push({ run_id: 'bench0000000000000000000000000001', experiment_id: '9', tags: { 'mlabs.data_class': 'public' } });
  st.registered_models.push({ name: 'bench', versions: [{ version: '1', run_id: 'bench0000000000000000000000000001' }] });
  s3.put('mlflow', '9/bench0000000000000000000000000001/artifacts/model/model.safetensors', data);
  s3.put('mlflow', '9/bench0000000000000000000000000001/artifacts/model/config.json', '{}');

  const files: Record<string, string> = {};
  for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
    files[f] = join(tmp, f);
    writeFileSync(files[f] as string, '');
  }
  const env = { PATH: process.env.PATH, HOME: tmp, RUNNER_TEMP: tmp, GITHUB_WORKSPACE: tmp, ...sb.env, ...files, INPUT_MODEL: 'models:/bench/1' };
  let t = Date.now();
  const promote = await run(process.execPath, [join(ROOT, 'actions/model-promote/dist/index.js')], env);
  const promoteS = (Date.now() - t) / 1000;
  if (promote.code !== 0) throw new Error(`model-promote failed:\n${promote.out}`);
  const outputs = readFileSync(files.GITHUB_OUTPUT as string, 'utf8');

  const local = join(tmp, 'model.safetensors');
  writeFileSync(local, data);
  t = Date.now();
  const cp = await run('gcloud', ['storage', 'cp', local, 'gs://mlabs-demo-models/bench-gcloud/model.safetensors'], { ...process.env, ...sb.env, CLOUDSDK_CONFIG: mkdtempSync(join(tmp, 'gcloud-')) });
  const gcloudS = (Date.now() - t) / 1000;
  if (cp.code !== 0) throw new Error(`gcloud storage cp failed:\n${cp.out}`);

  console.log(`model-promote  ${MIB} MiB (+ a config file) in ${promoteS.toFixed(1)} s = ${(MIB / promoteS).toFixed(1)} MiB/s  (process start to exit; its own 'seconds' output: ${/seconds<<[^\n]*\n([^\n]*)/.exec(outputs)?.[1] ?? '?'})`);
  console.log(`gcloud storage cp  ${MIB} MiB in ${gcloudS.toFixed(1)} s = ${(MIB / gcloudS).toFixed(1)} MiB/s  (process start to exit)`);
} finally {
  await sb.stop();
  rmSync(tmp, { recursive: true, force: true });
}
