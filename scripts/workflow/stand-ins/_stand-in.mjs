// The recorded stand-ins' one implementation: `stand-ins/<tool> ARGS` runs `node _stand-in.mjs <tool> ARGS`.
// Each call appends {tool, args, cwd} as a JSON line to $MLABS_STAND_IN_LOG and answers the way the
// real tool answers for the calls the workflows and actions make. See README.md.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

// The wrappers pass an argument starting --env-file as +--env-file (Node 20 would read it as its own option).
const [tool, ...args] = process.argv.slice(2).map((a) => (a.startsWith('+--env-file') ? a.slice(1) : a));
const log = process.env.MLABS_STAND_IN_LOG;
if (log) fs.appendFileSync(log, JSON.stringify({ tool, args, cwd: process.cwd() }) + '\n');
const out = (s) => process.stdout.write(s);
const fail = (msg, code = 1) => {
  process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n');
  process.exit(code);
};
const opt = (name) => {
  const eq = args.find((a) => a.startsWith(name + '='));
  if (eq) return eq.slice(name.length + 1);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'terraform', 'fixtures');

function terraformOutputs() {
  const file = process.env.MLABS_TERRAFORM_OUTPUTS;
  if (file) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const project = process.env.CLOUDSDK_CORE_PROJECT || 'mlabs-demo';
  const region = process.env.CLOUDSDK_COMPUTE_REGION || 'us-central1';
  return {
    project_id: project,
    region,
    location: region,
    cluster_name: 'mlabs',
    system_pool: 'system',
    snapshot_bucket: `${project}-nodepool-snapshots`,
    registry: `${region}-docker.pkg.dev/${project}/mlabs`,
    runner_registry: `${region}-docker.pkg.dev/${project}/mlabs-runner`,
    node_service_account: `mlabs-nodes@${project}.iam.gserviceaccount.com`,
  };
}


// docker: login keeps the credentials where the real CLI keeps them ($DOCKER_CONFIG or ~/.docker/config.json);
// `buildx build --output type=image,name=IMAGE,push=true` pushes a small synthetic single-platform image
// (one layer naming the platform and the build arguments, a config with os/architecture and the labels)
// by digest to the registry over the Docker Registry HTTP API, as buildx would push the real build.
const dockerConfigFile = () => path.join(process.env.DOCKER_CONFIG || path.join(process.env.HOME || '.', '.docker'), 'config.json');
const readDockerConfig = () => {
  try {
    return JSON.parse(fs.readFileSync(dockerConfigFile(), 'utf8'));
  } catch {
    return {};
  }
};
const positional = () => args.slice(1).filter((a, i, all) => !a.startsWith('-') && !['--username', '-u', '--password', '-p'].includes(all[i - 1]));

function dockerLogin() {
  const host = positional()[0] || 'https://index.docker.io/v1/';
  const user = opt('--username') ?? opt('-u');
  const password = args.includes('--password-stdin') ? fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '') : (opt('--password') ?? opt('-p'));
  if (!user || !password) return fail('Error: Cannot perform an interactive login from a non TTY device');
  const config = readDockerConfig();
  config.auths = { ...(config.auths ?? {}), [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } };
  fs.mkdirSync(path.dirname(dockerConfigFile()), { recursive: true });
  fs.writeFileSync(dockerConfigFile(), JSON.stringify(config, null, '\t'), { mode: 0o600 });
  return out('Login Succeeded\n');
}

function dockerLogout() {
  const host = positional()[0];
  const config = readDockerConfig();
  if (host && config.auths?.[host]) {
    delete config.auths[host];
    fs.writeFileSync(dockerConfigFile(), JSON.stringify(config, null, '\t'), { mode: 0o600 });
    return out(`Removing login credentials for ${host}\n`);
  }
  return out(`Not logged in to ${host}\n`);
}

const sha256 = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

/** A ustar archive holding one file. */
function tarOneFile(name, content) {
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
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

/** Where a registry host is served (MLABS_DOCKER_REGISTRY_OVERRIDES, as the actions read it). */
function registryAddress(host) {
  for (const pair of (process.env.MLABS_DOCKER_REGISTRY_OVERRIDES || '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === host) return pair.slice(eq + 1).trim();
  }
  return host;
}

async function registrySession(host, repository) {
  const address = registryAddress(host);
  if (!/^127\.\d+\.\d+\.\d+(:\d+)?$/.test(address)) fail(`docker stand-in: ${host} is not a registry the sandbox serves (MLABS_DOCKER_REGISTRY_OVERRIDES); the stand-in pushes only there`);
  const base = `http://${address}`;
  const auth = readDockerConfig().auths?.[host]?.auth;
  const ping = await fetch(`${base}/v2/`, auth ? { headers: { authorization: `Basic ${auth}` } } : {});
  let authorization = auth ? `Basic ${auth}` : undefined;
  if (ping.status === 401) {
    const challenge = ping.headers.get('www-authenticate') || '';
    const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
    if (!realm) fail(`docker stand-in: ${host} asked for authentication without a realm`);
    const u = new URL(realm);
    u.searchParams.set('service', host);
    u.searchParams.set('scope', `repository:${repository}:pull,push`);
    const res = await fetch(u, auth ? { headers: { authorization: `Basic ${auth}` } } : {});
    if (!res.ok) fail(`ERROR: failed to authorize: failed to fetch oauth token: unexpected status from GET request to ${realm}: ${res.status}`);
    authorization = `Bearer ${(await res.json()).token}`;
  }
  const call = async (method, p, body, headers = {}) => {
    const res = await fetch(`${base}/v2/${repository}/${p}`, { method, body, headers: { ...headers, ...(authorization ? { authorization } : {}) } });
    const text = await res.text();
    if (res.status >= 400) fail(`ERROR: failed to push ${host}/${repository}: ${method} ${p.split('?')[0]}: ${res.status} ${text.trim()}`);
    return res;
  };
  return { call };
}

async function buildxBuild() {
  const output = opt('--output') || '';
  const fields = Object.fromEntries(output.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const platform = opt('--platform') || 'linux/amd64';
  const [os, architecture, variant] = platform.split('/');
  const pick = (name) => args.flatMap((a, i) => (args[i - 1] === name ? [a] : []));
  const buildArgs = pick('--build-arg');
  const labels = Object.fromEntries(pick('--label').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  out('#0 building with "mlabs" instance using docker-container driver (stand-in: nothing is built)\n');
  let digest = 'sha256:' + '0'.repeat(64);
  if (fields.push === 'true' && fields.name) {
    const slash = fields.name.indexOf('/');
    const host = fields.name.slice(0, slash);
    const repository = fields.name.slice(slash + 1);
    const reg = await registrySession(host, repository);
    const tar = tarOneFile('etc/mlabs-stand-in', `${platform}\n${buildArgs.join('\n')}\n`);
    const layer = zlib.gzipSync(tar, { level: 9 });
    const config = Buffer.from(JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), config: { Labels: labels }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
    for (const blob of [layer, config]) await reg.call('POST', `blobs/uploads/?digest=${sha256(blob)}`, blob, { 'content-type': 'application/octet-stream' });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
      }),
    );
    digest = sha256(manifest);
    await reg.call('PUT', `manifests/${digest}`, manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    out(`#1 exporting to image\n#1 pushing ${fields.name}@${digest} (stand-in: a synthetic ${platform} image)\n#1 DONE\n`);
  }
  const meta = opt('--metadata-file');
  if (meta) fs.writeFileSync(meta, JSON.stringify({ 'containerimage.digest': digest, 'image.name': fields.name ?? '' }));
}

const tools = {
  terraform() {
    const cmd = args.find((a) => !a.startsWith('-'));
    switch (cmd) {
      case 'version':
        return out(args.includes('-json') ? JSON.stringify({ terraform_version: '1.9.8', platform: 'linux_amd64' }) + '\n' : 'Terraform v1.9.8\non linux_amd64\n');
      case 'init':
        return out('\nTerraform has been successfully initialized!\n');
      case 'validate':
        return out('Success! The configuration is valid.\n');
      case 'fmt':
        return;
      case 'plan': {
        const destroy = args.includes('-destroy');
        const plan = process.env.MLABS_TERRAFORM_PLAN || path.join(fixtures, destroy ? 'plan-destroy-targeted.json' : 'plan-create.json');
        const file = opt('-out');
        if (file) fs.writeFileSync(file, JSON.stringify({ standIn: 'terraform', plan }));
        return out(`Terraform will perform the actions in ${path.basename(plan)}.\n\nSaved the plan to: ${file ?? '(not saved)'}\n`);
      }
      case 'show': {
        const file = args[args.length - 1];
        if (!args.includes('-json')) return out('(plan)\n');
        if (!file || !fs.existsSync(file)) return fail(`Error: Failed to read the given file as a state or plan file\n\nopen ${file}: no such file or directory`);
        const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
        return out(fs.readFileSync(saved.plan, 'utf8'));
      }
      case 'apply': {
        const file = args[args.length - 1];
        if (file && !file.startsWith('-') && !fs.existsSync(file)) return fail(`Error: Failed to load "${file}" as a plan file`);
        return out('\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.\n');
      }
      case 'destroy':
        return out('\nDestroy complete! Resources: 0 destroyed.\n');
      case 'output': {
        const outputs = terraformOutputs();
        const name = args.filter((a) => !a.startsWith('-') && a !== 'output')[0];
        if (!name) return out(JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { value: v, type: 'string', sensitive: false }]))) + '\n');
        if (!(name in outputs)) return fail(`\nError: Output "${name}" not found\n\nThe output variable requested could not be found in the state file.`);
        return out(args.includes('-raw') ? String(outputs[name]) : JSON.stringify(outputs[name]) + '\n');
      }
      case 'state':
        return out('');
      default:
        return fail(`terraform stand-in: no answer for ${JSON.stringify(args)}`);
    }
  },
  'nvidia-smi'() {
    if (process.env.MLABS_STANDIN_NO_GPU) {
      return fail("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.", 9);
    }
    if (args.some((a) => a.startsWith('--query-gpu'))) {
      const header = !(opt('--format') || '').includes('noheader');
      return out(`${header ? 'name, memory.total [MiB]\n' : ''}NVIDIA L4, 23034 MiB\n`);
    }
    return out('NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4\nGPU 0: NVIDIA L4 (stand-in)\n');
  },
  docker() {
    if (args[0] === 'version' || args[0] === '--version') return out('Docker version 27.3.1, build ce12230 (stand-in)\n');
    if (args[0] === 'login') return dockerLogin();
    if (args[0] === 'logout') return dockerLogout();
    if (args[0] === 'buildx') {
      if (args[1] === 'version') return out('github.com/docker/buildx v0.17.1 (stand-in)\n');
      if (args[1] === 'build') return buildxBuild();
      return out('#0 building with "default" instance using docker driver (stand-in)\n#1 DONE\n');
    }
    if (args[0] === 'pull') {
      if (process.env.MLABS_STANDIN_DOCKER_NO_PULL) return fail(`Error response from daemon: manifest for ${args[args.length - 1]} not found: manifest unknown: manifest unknown`);
      return out(`${(args[args.length - 1] ?? '').split('@')[1] ?? ''}: Pulling from stand-in\nStatus: Downloaded newer image for ${args[args.length - 1]}\n`);
    }
    if (args[0] === 'info') {
      if (process.env.MLABS_STANDIN_DOCKER_DOWN) return fail('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?');
      const format = opt('--format') ?? '';
      if (format === '{{json .Runtimes}}') return out((process.env.MLABS_STANDIN_DOCKER_RUNTIMES ?? '{"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}') + '\n');
      if (format === '{{.DockerRootDir}}') return out(`${process.env.MLABS_STANDIN_DOCKER_ROOT ?? '/var/lib/docker'}\n`);
      return fail(`docker stand-in: no answer for ${JSON.stringify(args)}`);
    }
    return out('');
  },
  // systemd, with the units' enabled/active state in the JSON file $MLABS_STANDIN_SYSTEMD_STATE.
  systemctl() {
    const file = process.env.MLABS_STANDIN_SYSTEMD_STATE;
    const state = file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
    const save = () => file && fs.writeFileSync(file, JSON.stringify(state));
    const words = args.filter((a) => !a.startsWith('--'));
    const [verb, unit] = words;
    const u = unit ? (state[unit] ??= { enabled: false, active: false }) : undefined;
    const quiet = args.includes('--quiet');
    switch (verb) {
      case 'is-system-running': {
        const sys = process.env.MLABS_STANDIN_SYSTEM_STATE ?? 'running';
        if (sys === 'offline') return fail('System has not been booted with systemd as init system (PID 1). Can\'t operate.\nFailed to connect to bus: Host is down');
        out(`${sys}\n`);
        return process.exit(sys === 'running' ? 0 : 1);
      }
      case 'daemon-reload':
        return;
      case 'is-enabled':
        if (!quiet) out(`${u?.enabled ? 'enabled' : 'disabled'}\n`);
        return process.exit(u?.enabled ? 0 : 1);
      case 'is-active':
        if (!quiet) out(`${u?.active ? 'active' : 'inactive'}\n`);
        return process.exit(u?.active ? 0 : 3);
      case 'enable': u.enabled = true; if (args.includes('--now')) u.active = true; return save();
      case 'disable': u.enabled = false; if (args.includes('--now')) u.active = false; return save();
      case 'start': case 'restart': u.active = true; return save();
      case 'stop': u.active = false; return save();
      default:
        return fail(`systemctl stand-in: no answer for ${JSON.stringify(args)}`);
    }
  },
  // systemd-run --unit NAME [--collect] [--property P]... [--description D] PROGRAM ARGS: a transient
  // unit, active in the same state file as systemctl's (its program is not run).
  'systemd-run'() {
    const file = process.env.MLABS_STANDIN_SYSTEMD_STATE;
    const state = file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
    const unit = opt('--unit');
    if (!unit) return fail('systemd-run stand-in: no --unit given');
    const name = unit.includes('.') ? unit : `${unit}.service`;
    if (state[name]?.active) return fail(`Failed to start transient service unit: Unit ${name} was already loaded or has a fragment file.`);
    state[name] = { enabled: false, active: true, transient: true };
    if (file) fs.writeFileSync(file, JSON.stringify(state));
    return out(`Running as unit: ${name}\n`);
  },
  // WSL's wslu helpers: the Windows user's profile folder.
  wslvar() {
    if (args[0] === 'USERPROFILE') return out(`${process.env.MLABS_STANDIN_WSL_USERPROFILE ?? 'C:\\Users\\alice'}\n`);
    return fail(`wslvar stand-in: no answer for ${JSON.stringify(args)}`);
  },
  wslpath() {
    const win = args[args.length - 1] ?? '';
    const m = /^([A-Za-z]):\\(.*)$/.exec(win);
    if (args[0] !== '-u' || !m) return fail(`wslpath: ${win}: Invalid argument`);
    return out(`/mnt/${m[1].toLowerCase()}/${m[2].replace(/\\/g, '/')}\n`);
  },
  helm() {
    if (args[0] === 'version') return out('version.BuildInfo{Version:"v3.16.2", GoVersion:"go1.22.7"} (stand-in)\n');
    if (args[0] === 'list') return out('[]');
    return out('');
  },
  minikube() {
    if (args[0] === 'status') return out(JSON.stringify({ Name: 'minikube', Host: 'Running', Kubelet: 'Running', APIServer: 'Running', Kubeconfig: 'Configured' }) + '\n');
    if (args[0] === 'version') return out('minikube version: v1.34.0 (stand-in)\n');
    return out('');
  },
};

if (!tools[tool]) fail(`no stand-in named ${tool}`);
await tools[tool]();
