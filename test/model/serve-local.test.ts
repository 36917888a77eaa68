// model-serve with target local through its bundle, against the sandbox's dgx/agx minikube clusters
// and the real kubectl: Ollama (the local stack's, deployed by local-stack) pulls the model, /api/tags
// and /v1/models list it, undeploy removes only what deploy made (the pulled model only with purge
// confirmed); NIM serves its image's model; refusals (no NGC key, NIM on the Jetson, no Ollama, a
// promoted gs:// model for Ollama) happen before anything changes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { InputError } from '../../actions/lib/errors.js';
import { parseLocalModel } from '../../actions/lib/model/serve-local.js';
import { runAction, type ActionRun } from '../harness.js';
import { explain, NGC_KEY, startStack, type StackFixture } from '../local-stack/helpers.js';

function serveWith(f: StackFixture, machine: 'dgx' | 'agx') {
  const env = { PATH: `${f.standins}:${process.env.PATH ?? ''}`, HOME: mkdtempSync(join(tmpdir(), 'mlabs-serve-home-')), MLABS_STANDIN_DIR: f.standins, MLABS_SSH_HOST: `${machine}.lab.internal` };
  return (inputs: Record<string, string>): Promise<ActionRun> =>
    runAction('model-serve', { env, inputs: { target: 'local', kubeconfig: f.machine.kubeconfigPath, name: 'chat', timeout: '120s', ...inputs } });
}

const errorOf = (run: ActionRun): string => run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
const ids = (body: string): string[] => ((JSON.parse(body) as { data?: { id: string }[] }).data ?? []).map((m) => m.id);

describe('local serving with Ollama on dgx', () => {
  let f: StackFixture;
  let serve: ReturnType<typeof serveWith>;
  beforeAll(async () => {
    f = await startStack('dgx');
    serve = serveWith(f, 'dgx');
    const stack = await f.run({ operation: 'deploy', components: 'ollama' });
    assert.equal(stack.exitCode, 0, explain(stack));
  }, 120_000);
  afterAll(async () => f?.stop());

  it('deploy pulls the model, Ready, /v1/models lists it; status reads it back; undeploy with purge leaves nothing it made', { timeout: 120_000 }, async () => {
    const before = f.objects();
    const up = await serve({ verb: 'deploy', runtime: 'ollama', local_model: 'llama3.2:3b' });
    assert.equal(up.exitCode, 0, explain(up));
    assert.equal(up.outputs.endpoint, 'http://ollama.ollama.svc.cluster.local:11434/v1');
    assert.equal(up.outputs.model, 'llama3.2:3b');
    assert.equal(up.outputs.ready_replicas, '1');
    assert.equal(up.outputs.hourly_cost, '0');
    assert.match(up.main.stdout, /ollama llama3.2:3b: pulling [0-9a-f]{12} 50%/);
    assert.match(up.main.stdout, /ollama llama3.2:3b: success/);
    assert.match(up.summary, /ssh -N -L 11434:192\.168\.49\.2:31434 dgx\.lab\.internal/);
    assert.match(up.summary, /curl http:\/\/127\.0\.0\.1:11434\/v1\/models/);
    assert.ok(f.kube.ollamaModels('dgx', 'ollama', 'ollama').includes('llama3.2:3b'));
    // A real client sees the same through the service proxy.
    assert.ok(ids(await f.kubectl(['get', '--raw', '/api/v1/namespaces/ollama/services/ollama:11434/proxy/v1/models'])).includes('llama3.2:3b'));

    const st = await serve({ verb: 'status', runtime: 'ollama' });
    assert.equal(st.exitCode, 0, explain(st));
    assert.equal(st.outputs.model, 'llama3.2:3b');
    assert.equal(st.outputs.ready_replicas, '1');

    const wrong = await serve({ verb: 'undeploy', runtime: 'ollama', purge: 'true', confirm: 'llama3.2' });
    assert.equal(wrong.exitCode, 1);
    assert.match(errorOf(wrong), /^Input "confirm" is "llama3.2": purge deletes the files of llama3.2:3b that deploy pulled; confirm must repeat the model name exactly. Nothing was deleted./);
    assert.ok(f.kube.ollamaModels('dgx', 'ollama', 'ollama').includes('llama3.2:3b'));

    const down = await serve({ verb: 'undeploy', runtime: 'ollama', purge: 'true', confirm: 'llama3.2:3b' });
    assert.equal(down.exitCode, 0, explain(down));
    assert.match(down.summary, /model llama3.2:3b \(deleted from Ollama\)/);
    assert.ok(!f.kube.ollamaModels('dgx', 'ollama', 'ollama').includes('llama3.2:3b'));
    assert.deepEqual(f.objects(), before, 'nothing deploy made is left, and the Ollama component is as it was');
  });

  it('a model Ollama already held is not pulled, and undeploy keeps it even with purge', { timeout: 120_000 }, async () => {
    const pre = await f.run({ operation: 'deploy', components: 'ollama', ollama_models: 'qwen2.5:0.5b' });
    assert.equal(pre.exitCode, 0, explain(pre));
    const up = await serve({ verb: 'deploy', runtime: 'ollama', local_model: 'qwen2.5:0.5b', name: 'small' });
    assert.equal(up.exitCode, 0, explain(up));
    assert.match(up.main.stdout, /qwen2.5:0.5b is already on dgx \(not pulled; undeploy keeps it\)/);
    const down = await serve({ verb: 'undeploy', runtime: 'ollama', name: 'small', purge: 'true', confirm: 'qwen2.5:0.5b' });
    assert.equal(down.exitCode, 0, explain(down));
    assert.match(down.summary, /model qwen2.5:0.5b: it was on the machine before this deploy/);
    assert.ok(f.kube.ollamaModels('dgx', 'ollama', 'ollama').includes('qwen2.5:0.5b'));
  });

  it('undeploy without purge removes the serving record and keeps the pulled model\'s files', { timeout: 120_000 }, async () => {
    const up = await serve({ verb: 'deploy', runtime: 'ollama', local_model: 'phi3:mini', name: 'kept' });
    assert.equal(up.exitCode, 0, explain(up));
    const down = await serve({ verb: 'undeploy', runtime: 'ollama', name: 'kept' });
    assert.equal(down.exitCode, 0, explain(down));
    assert.match(down.summary, /model phi3:mini: its files stay on the Ollama volume \(set purge: true and confirm: phi3:mini to delete them\)/);
    assert.ok(f.kube.ollamaModels('dgx', 'ollama', 'ollama').includes('phi3:mini'));
    assert.equal(await f.kubectl(['get', 'configmap', 'model-serve-kept', '-n', 'ollama', '--ignore-not-found', '-o', 'name']), '');
  });

  it('NIM without the NGC key is refused by name before anything changes', async () => {
    const before = f.objects();
    const run = await serve({ verb: 'deploy', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3' });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /^Input "ngc_api_key" is empty: this secret is required for runtime nim \(the image pull from nvcr.io and the model download\); nothing was created/);
    assert.deepEqual(f.objects(), before);
  });

  it('NIM is refused while the local stack\'s Ollama holds the only GPU, with the support table', async () => {
    const before = f.objects();
    const run = await serve({ verb: 'deploy', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3', ngc_api_key: NGC_KEY });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /Refused before anything was changed: NIM for dgx does not fit \(GPUs: asked 1, free 0 of 1\)/);
    assert.match(run.summary, /model-serve \(local\): refused/);
    assert.deepEqual(f.objects(), before);
    assert.deepEqual(run.leaks(NGC_KEY), []);
  });

  it('a promoted gs:// model is refused for Ollama by name', async () => {
    const run = await serve({ verb: 'deploy', runtime: 'ollama', local_model: 'gs://mlabs-demo-models/chat/2/' });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /^Input "local_model" is "gs:\/\/mlabs-demo-models\/chat\/2\/": a promoted gs:\/\/ model is served on GKE with vLLM \(target: cloud\)/);
  });
});

describe('local serving on agx (Jetson)', () => {
  let f: StackFixture;
  let serve: ReturnType<typeof serveWith>;
  beforeAll(async () => {
    f = await startStack('agx');
    serve = serveWith(f, 'agx');
  });
  afterAll(async () => f?.stop());

  it('runtime nim on agx is refused with the support table before anything changes', async () => {
    const before = f.objects();
    const run = await serve({ verb: 'deploy', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3', ngc_api_key: NGC_KEY });
    assert.equal(run.exitCode, 1);
    const err = errorOf(run);
    assert.match(err, /Refused before anything was changed: runtime nim cannot run on agx: not supported on jetson \(arm64\): NIM LLM containers are not built for Jetson/);
    assert.match(err, /\| nim \| cpu 4, memory 32Gi, nvidia.com\/gpu 1 \| — \| refused/);
    assert.deepEqual(f.objects(), before);
    assert.deepEqual(run.leaks(NGC_KEY), []);
  });

  it('Ollama serving without the local stack\'s Ollama is refused, naming local-stack', async () => {
    const before = f.objects();
    const run = await serve({ verb: 'deploy', runtime: 'ollama', local_model: 'llama3.2:3b' });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /Ollama is not deployed on agx: there is no Deployment ollama\/ollama/);
    assert.match(errorOf(run), /local-stack-deploy\.yml with components: ollama/);
    assert.deepEqual(f.objects(), before);
  });
});

describe('local serving with NIM on dgx', () => {
  let f: StackFixture;
  let serve: ReturnType<typeof serveWith>;
  beforeAll(async () => {
    f = await startStack('dgx');
    serve = serveWith(f, 'dgx');
  });
  afterAll(async () => f?.stop());

  it('deploy runs the model\'s NIM image with the NGC Secrets, Ready, /v1/models lists it; undeploy with purge leaves nothing', { timeout: 120_000 }, async () => {
    const before = f.objects();
    const up = await serve({ verb: 'deploy', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3', ngc_api_key: NGC_KEY, namespace: 'serving' });
    assert.equal(up.exitCode, 0, explain(up));
    assert.equal(up.outputs.endpoint, 'http://chat.serving.svc.cluster.local:8000/v1');
    assert.equal(up.outputs.model, 'meta/llama-3.1-8b-instruct');
    assert.equal(up.outputs.ready_replicas, '1');
    assert.equal(up.outputs.hourly_cost, '0');
    assert.equal(await f.kubectl(['get', 'deployment', 'chat', '-n', 'serving', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3');
    assert.equal(await f.kubectl(['get', 'secret', 'chat-ngc-registry', '-n', 'serving', '-o', 'jsonpath={.type}']), 'kubernetes.io/dockerconfigjson');
    assert.deepEqual(ids(await f.kubectl(['get', '--raw', '/api/v1/namespaces/serving/services/chat:8000/proxy/v1/models'])), ['meta/llama-3.1-8b-instruct']);
    assert.match(up.summary, /ssh -N -L 8000:127\.0\.0\.1:8000 dgx\.lab\.internal {2}# after, on the machine: kubectl -n serving port-forward svc\/chat 8000:8000/);
    assert.deepEqual(up.leaks(NGC_KEY), []);
    assert.match(up.summary, /Deployment\/chat \(created\)/);

    const again = await serve({ verb: 'deploy', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3', ngc_api_key: NGC_KEY, namespace: 'serving' });
    assert.equal(again.exitCode, 0, explain(again));
    assert.match(again.summary, /\| Changed \| nothing \|/, 're-running deploy changes nothing');

    const down = await serve({ verb: 'undeploy', runtime: 'nim', namespace: 'serving', purge: 'true', confirm: 'meta/llama-3.1-8b-instruct:1.3.3' });
    assert.equal(down.exitCode, 0, explain(down));
    assert.deepEqual(f.objects(), before);
  });
});

describe('local_model', () => {
  it('takes Ollama names (tag defaulted to latest) and Hugging Face GGUF repositories; NIM takes org/model:tag', () => {
    assert.equal(parseLocalModel('local_model', 'ollama', 'llama3.2:3b'), 'llama3.2:3b');
    assert.equal(parseLocalModel('local_model', 'ollama', 'nomic-embed-text'), 'nomic-embed-text:latest');
    assert.equal(parseLocalModel('local_model', 'ollama', 'hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M'), 'hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M');
    assert.equal(parseLocalModel('local_model', 'nim', 'meta/llama-3.1-8b-instruct:1.3.3'), 'meta/llama-3.1-8b-instruct:1.3.3');
  });

  it('refuses by name what Ollama cannot pull', () => {
    for (const [value, why] of [
      ['gs://mlabs-demo-models/chat/2/', /served on GKE with vLLM \(target: cloud\)/],
      ['https://example.com/model.gguf', /Ollama pulls by model name, not by URL/],
      ['/models/chat.Q4_K_M.gguf', /a GGUF file is not pulled by Ollama's \/api\/pull/],
    ] as const) {
      assert.throws(() => parseLocalModel('local_model', 'ollama', value), (e: unknown) => e instanceof InputError && e.input === 'local_model' && why.test(e.message));
    }
    assert.throws(() => parseLocalModel('local_model', 'nim', 'meta/llama-3.1-8b-instruct'), /for runtime nim, the NIM image under nvcr.io\/nim as org\/model:tag/);
  });
});
