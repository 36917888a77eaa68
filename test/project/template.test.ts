// The kfp-finetune template as a project gets it: every placeholder filled, workflows that use the
// suite by `uses:` and nothing else but a pinned checkout (static.test.ts lints them with the suite's
// own), a pipeline whose compiled IR matches its source, data kept out of git, and a CPU-only
// notebook container pinned by digest.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { listTemplates, renderTemplate } from '../../actions/lib/project/template.js';
import { ROOT } from '../harness.js';

const VALUES = {
  PROJECT: 'churn-model',
  REPOSITORY: 'mlabs/churn-model',
  DESCRIPTION: 'Churn model',
  DATA_CLASS: 'sensitive',
  ALLOW_CLOUD: 'false',
  PLATFORM_REPOSITORY: 'mlabs/platform',
  TRAIN_IMAGE: 'us-central1-docker.pkg.dev/mlabs-demo/apps/churn-model-trainer:latest',
};
const files = () => renderTemplate('kfp-finetune', VALUES, ROOT);
const file = (path: string): string => {
  const f = files().find((x) => x.path === path);
  assert.ok(f, `the template has ${path}`);
  return f.content;
};

test('the suite ships kfp-finetune, and rendering fills every placeholder', () => {
  assert.deepEqual(listTemplates(ROOT), ['kfp-finetune']);
  const all = files();
  for (const f of all) assert.doesNotMatch(f.content, /@@[A-Z_]+@@/, f.path);
  for (const p of ['.devcontainer/devcontainer.json', 'notebooks/finetune.ipynb', 'pipeline/pipeline.py', 'pipeline/finetune.yaml', 'configs/finetune.yaml', 'README.md', '.gitignore', 'Dockerfile']) {
    assert.ok(all.some((f) => f.path === p), p);
  }
  assert.throws(() => renderTemplate('kfp-finetune', { ...VALUES, PROJECT: undefined as unknown as string }, ROOT), /names @@PROJECT@@, which project-create does not fill/);
});

test('the workflows hold no placeholder, read the project from repository variables, and use only the suite and a pinned checkout', () => {
  const workflows = files().filter((f) => f.path.startsWith('.github/workflows/'));
  assert.deepEqual(workflows.map((f) => f.path.replace('.github/workflows/', '')).sort(), ['promote.yml', 'retire.yml', 'serve-undeploy.yml', 'serve.yml', 'train.yml']);
  for (const w of workflows) {
    const raw = readFileSync(join(ROOT, 'templates/kfp-finetune', w.path), 'utf8');
    assert.doesNotMatch(raw, /@@/, `${w.path} is copied as it is`);
    const doc = parseYaml(raw) as { jobs: Record<string, { steps?: { uses?: string }[] }> };
    for (const [job, j] of Object.entries(doc.jobs)) {
      for (const s of j.steps ?? []) {
        if (!s.uses) continue;
        assert.match(s.uses, /^(mlabs\/mlabs-actions\/actions\/[a-z-]+@v1|actions\/checkout@[0-9a-f]{40})$/, `${w.path} ${job}: ${s.uses}`);
      }
    }
  }
  // Sensitive by default: routing reads the project's data class and never bursts it.
  assert.match(file('.github/workflows/train.yml'), /data_class: \$\{\{ vars\.MLABS_DATA_CLASS \|\| 'sensitive' \}\}/);
  assert.match(file('.github/workflows/train.yml'), /allow_cloud: \$\{\{ vars\.MLABS_ALLOW_CLOUD \|\| 'false' \}\}/);
});

interface Ir {
  components: Record<string, { executorLabel: string; inputDefinitions?: { parameters?: Record<string, unknown>; artifacts?: Record<string, unknown> }; outputDefinitions?: { artifacts?: Record<string, unknown> } }>;
  deploymentSpec: { executors: Record<string, { container: { image: string; command: string[]; args: string[]; resources?: { accelerator?: { resourceCount: string; resourceType: string } } } }> };
  root: { dag: { tasks: Record<string, { componentRef: { name: string }; dependentTasks?: string[]; inputs?: { parameters?: Record<string, { componentInputParameter?: string }>; artifacts?: Record<string, { taskOutputArtifact: { producerTask: string; outputArtifactKey: string } }> } }> }; inputDefinitions: { parameters: Record<string, { defaultValue: unknown }> } };
  schemaVersion: string;
}

test('the compiled pipeline matches its source: the same steps, parameters, artifacts, scripts and one GPU for fine-tune', () => {
  const ir = parseYaml(file('pipeline/finetune.yaml')) as Ir;
  const source = file('pipeline/pipeline.py');
  assert.equal(ir.schemaVersion, '2.1.0');
  // Each container component in the source is a component, an executor and a task in the IR.
  const components = [...source.matchAll(/@dsl\.container_component\s+def (\w+)\(([^)]*)\)/g)];
  assert.deepEqual(components.map((m) => m[1]).sort(), Object.keys(ir.root.dag.tasks).sort());
  for (const [, name, params] of components) {
    const comp = ir.components[`comp-${name}`];
    assert.ok(comp, `comp-${name}`);
    assert.ok(ir.deploymentSpec.executors[comp.executorLabel], comp.executorLabel);
    const declared = (params as string).split(',').map((p) => p.trim()).filter(Boolean);
    const inParams = declared.filter((p) => !/dsl\.(Input|Output)\[/.test(p)).map((p) => p.split(':')[0]);
    const inArts = declared.filter((p) => /dsl\.Input\[/.test(p)).map((p) => p.split(':')[0]);
    const outArts = declared.filter((p) => /dsl\.Output\[/.test(p)).map((p) => p.split(':')[0]);
    assert.deepEqual(Object.keys(comp.inputDefinitions?.parameters ?? {}).sort(), inParams.sort(), `${name} parameters`);
    assert.deepEqual(Object.keys(comp.inputDefinitions?.artifacts ?? {}).sort(), inArts.sort(), `${name} input artifacts`);
    assert.deepEqual(Object.keys(comp.outputDefinitions?.artifacts ?? {}).sort(), outArts.sort(), `${name} output artifacts`);
    const script = new RegExp(`def ${name}\\([\\s\\S]*?command=\\["python", "([^"]+)"\\]`).exec(source)?.[1];
    const exec = ir.deploymentSpec.executors[comp.executorLabel];
    assert.deepEqual(exec?.container.command, ['python', script]);
    assert.equal(exec?.container.image, VALUES.TRAIN_IMAGE);
    // Every script the pipeline runs is in the template.
    assert.ok(files().some((f) => `/app/${f.path}` === script), `${script} exists`);
  }
  // Wiring: every artifact comes from a task that produces it and is listed as a dependency.
  for (const [name, t] of Object.entries(ir.root.dag.tasks)) {
    for (const a of Object.values(t.inputs?.artifacts ?? {})) {
      const producer = ir.root.dag.tasks[a.taskOutputArtifact.producerTask];
      assert.ok(producer, `${name} reads from ${a.taskOutputArtifact.producerTask}`);
      assert.ok(ir.components[producer.componentRef.name]?.outputDefinitions?.artifacts?.[a.taskOutputArtifact.outputArtifactKey], `${a.taskOutputArtifact.producerTask} produces ${a.taskOutputArtifact.outputArtifactKey}`);
      assert.ok(t.dependentTasks?.includes(a.taskOutputArtifact.producerTask), `${name} depends on ${a.taskOutputArtifact.producerTask}`);
    }
    for (const p of Object.values(t.inputs?.parameters ?? {})) assert.ok(p.componentInputParameter && ir.root.inputDefinitions.parameters[p.componentInputParameter], `${name}: pipeline parameter ${p.componentInputParameter}`);
  }
  // The pipeline's parameters and defaults are the source's.
  const sig = /def finetune_pipeline\(([\s\S]*?)\):/.exec(source)?.[1] ?? '';
  const defaults = Object.fromEntries([...sig.matchAll(/(\w+): \w+ = ([^,\n]+)/g)].map((m) => [m[1], JSON.parse((m[2] as string).trim())]));
  assert.deepEqual(Object.fromEntries(Object.entries(ir.root.inputDefinitions.parameters).map(([k, v]) => [k, v.defaultValue])), defaults);
  // Only fine-tune asks for a GPU.
  const gpu = Object.entries(ir.deploymentSpec.executors).filter(([, e]) => e.container.resources?.accelerator);
  assert.deepEqual(gpu.map(([k]) => k), ['exec-finetune']);
  assert.deepEqual(gpu[0]?.[1].container.resources?.accelerator && { n: gpu[0][1].container.resources.accelerator.resourceCount, t: gpu[0][1].container.resources.accelerator.resourceType }, { n: '1', t: 'nvidia.com/gpu' });
  assert.match(source, /set_accelerator_limit\(1\)/);
});

test('data stays out of git and out of the notebook container; the notebook is valid and holds no GPU', () => {
  const ignore = file('.gitignore').split('\n');
  for (const p of ['data/', '*.parquet', '*.csv', '*.jsonl', '*.safetensors']) assert.ok(ignore.includes(p), `.gitignore has ${p}`);
  const dev = JSON.parse(file('.devcontainer/devcontainer.json')) as { image: string; runArgs?: string[]; hostRequirements?: { gpu?: unknown }; containerEnv: Record<string, string> };
  assert.match(dev.image, /@sha256:[0-9a-f]{64}$/, 'the notebook image is pinned by digest');
  assert.ok(!(dev.runArgs ?? []).some((a) => /gpus/.test(a)) && !dev.hostRequirements?.gpu, 'notebooks never hold a GPU');
  assert.equal(dev.containerEnv.CUDA_VISIBLE_DEVICES, '');
  assert.match(file('Dockerfile'), /^FROM \S+@sha256:[0-9a-f]{64}$/m);
  assert.doesNotMatch(file('Dockerfile'), /COPY (data|\.)\b/, 'no data is baked into the image');
  const nb = JSON.parse(file('notebooks/finetune.ipynb')) as { nbformat: number; cells: { cell_type: string; source: string[] }[] };
  assert.equal(nb.nbformat, 4);
  const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join('')).join('\n');
  assert.match(code, /create_run_from_pipeline_package\('\.\.\/pipeline\/finetune\.yaml'/, 'the GPU step is submitted as a pipeline run');
  assert.doesNotMatch(code, /\.cuda\(|torch\.device\("cuda"|upload|gsutil|gcloud storage/, 'the notebook neither trains on a GPU nor uploads');
  assert.match(file('README.md'), /Where the data may and may not go/);
  assert.match(file('configs/project.yaml'), /data_class: "sensitive"/);
});
