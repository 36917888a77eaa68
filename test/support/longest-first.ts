/**
 * vitest sequencer: the suite's longest files start first, so the two workers do not end the run
 * with one long file (the demo, a gcloud round-trip) left running alone while the other idles.
 * vitest orders by its own cache of last durations when it has one, and by file size when not (a
 * fresh clone, as CI has): size says little here, where a short file can drive gcloud for a minute.
 * The weights are seconds a file took in a whole-suite run on the 2-core machine; only their order
 * matters. A file not listed keeps vitest's order after the listed ones (each of those is short).
 * With `--sequence.shuffle` the files run in the seed's order instead, as with vitest's own sequencer.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { relative } from 'node:path';

export const WEIGHTS: Record<string, number> = {
  'test/dist.test.ts': 120,
  'test/sandbox/shapes.test.ts': 89,
  'test/demo.test.ts': 82,
  'test/workflow/workflows.test.ts': 69,
  'test/local-stack/hardening.test.ts': 57,
  'test/workflow/cli.test.ts': 39,
  'test/sandbox-storage/gcloud-artifacts.test.ts': 33,
  'test/sandbox-storage/gcloud-resumable.test.ts': 28,
  'test/inputs-sweep.test.ts': 28,
  'test/local-stack/deploy.test.ts': 26,
  'test/sandbox-storage/gcloud-storage.test.ts': 24,
  'test/harness.test.ts': 21,
  'test/sandbox/compute-igm.test.ts': 20,
  'test/sandbox/iam.test.ts': 20,
  'test/sandbox-kubernetes/gke.test.ts': 19,
  'test/gpu-quota/gpu-quota.test.ts': 19,
  'test/sandbox-kubernetes/workloads.test.ts': 14,
  'test/node-pools/reruns.test.ts': 13,
  'test/runner-host/runner-host.test.ts': 13,
  'test/train-job/train-job.test.ts': 13,
  'test/sandbox/gcloud.test.ts': 12,
  'test/check-isolation.test.ts': 12,
  'test/model/workflows.test.ts': 11,
  'test/model/serve.test.ts': 11,
  'test/node-pools/zones.test.ts': 10,
  'test/node-pools/failures.test.ts': 10,
  'test/cost-cleanup/sandbox-gcloud.test.ts': 10,
  'test/model/promote.test.ts': 9,
  'test/model/s3-signer.test.ts': 9,
  'test/project/template-e2e.test.ts': 9,
  'test/local-stack/kfp.test.ts': 9,
  'test/node-pools/lifecycle.test.ts': 9,
  'test/sandbox-kubernetes/validation.test.ts': 9,
  'test/wif-login/wif-login.test.ts': 9,
  'test/workflow/runner-health.test.ts': 8,
  'test/sandbox-s3/s3-clients.test.ts': 8,
  'test/route-job/route-job.test.ts': 8,
};

/** The weight of a test file by its path from the root (0 when not listed). */
export function weightOf(path: string): number {
  return WEIGHTS[path.split('\\').join('/')] ?? 0;
}

/** Files in an order drawn from `seed` (Fisher-Yates on a mulberry32 stream): the same seed, the same order. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    // `--sequence.shuffle` (an order check) shuffles the files as vitest's own sequencer would.
    const { shuffle, seed } = this.ctx.config.sequence;
    if (shuffle) return shuffled(base, seed);
    const root = this.ctx.config.root;
    const weight = new Map(base.map((f) => [f, weightOf(relative(root, f.moduleId))]));
    // Array.prototype.sort is stable: equal weights (every unlisted file) keep vitest's order.
    return [...base].sort((a, b) => (weight.get(b) ?? 0) - (weight.get(a) ?? 0));
  }
}
