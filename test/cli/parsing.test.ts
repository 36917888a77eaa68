// What the mlabs command reads before any request: its arguments (as kubectl takes flags) and the
// kubeconfig files of KUBECONFIG, merged as kubectl merges them. In process, no cluster.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { intValue, parseArgs, UsageError, type FlagSpec } from '../../actions/lib/cli/args.js';
import { kubeconfigPaths, loadKubeconfigs } from '../../actions/lib/kubernetes/client.js';

const specs: FlagSpec[] = [{ name: 'image', value: true }, { name: 'env', value: true, repeat: true }, { name: 'follow', short: 'f' }, { name: 'namespace', short: 'n', value: true }];
const usage = (fn: () => unknown, message: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof UsageError && message.test(e.message));

describe('arguments', () => {
  test('--flag value, --flag=value, -n value, -nvalue, repeated flags, switches, positionals, and everything after -- as given', () => {
    const p = parseArgs(['lora', '--image=ghcr.io/a/b:1', '-n', 'ml', '--env', 'A=1', '--env=B=2=3', '-f', '--', 'python', '-c', '--image x'], specs);
    assert.deepEqual(p.positionals, ['lora']);
    assert.deepEqual([...p.flags], [['image', ['ghcr.io/a/b:1']], ['namespace', ['ml']], ['env', ['A=1', 'B=2=3']], ['follow', ['true']]]);
    assert.deepEqual(p.rest, ['python', '-c', '--image x']);
    assert.deepEqual(parseArgs(['-nml'], specs).flags.get('namespace'), ['ml']);
    assert.equal(parseArgs(['x'], specs).rest, undefined);
    // A negative number is a value for its check to refuse, not a flag.
    assert.deepEqual(parseArgs(['-1'], specs).positionals, ['-1']);
  });

  test('an unknown flag, a missing value, a repeated single flag and a switch given a value are refused, naming the flag', () => {
    usage(() => parseArgs(['--colour'], specs), /^unknown flag --colour; this command takes --image, --env, --follow \(-f\), --namespace \(-n\)\.$/);
    usage(() => parseArgs(['-x'], specs), /^unknown flag -x;/);
    usage(() => parseArgs(['--image'], specs), /^--image needs a value\.$/);
    usage(() => parseArgs(['--image', '--'], specs), /^--image needs a value\.$/);
    usage(() => parseArgs(['--image', 'a:1', '--image=b:2'], specs), /^--image is given twice \("a:1" and "b:2"\); give it once\.$/);
    usage(() => parseArgs(['--follow=yes'], specs), /^--follow is a switch and takes no value/);
  });

  test('whole numbers: the flag, the value and the bounds', () => {
    assert.equal(intValue('--gpus', '2', 0, 16), 2);
    usage(() => intValue('--gpus', '17', 0, 16), /^--gpus "17": expected a whole number from 0 to 16\.$/);
    usage(() => intValue('--tail', '-3', 0), /^--tail "-3": expected a whole number of 0 or more\.$/);
    usage(() => intValue('N', '1e3', 0, 10), /^N "1e3": /);
  });
});

describe('KUBECONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-kubeconfigs-'));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const cluster = (name: string, port: number): string => `- name: ${name}\n  cluster:\n    server: https://127.0.0.1:${port}\n    certificate-authority-data: ${Buffer.from(`CA of ${name}`).toString('base64')}\n`;
  const context = (name: string, clusterName: string, ns = 'default'): string => `- name: ${name}\n  context:\n    cluster: ${clusterName}\n    user: u\n    namespace: ${ns}\n`;
  const users = 'users:\n- name: u\n  user:\n    token: t0ken-value\n';

  test('the files are merged as kubectl merges them: missing ones skipped, the first current-context and the first of each name win', async () => {
    const a = file('a', `clusters:\n${cluster('shared', 1001)}contexts:\n${context('ctx-a', 'shared', 'team-a')}${users}`);
    const b = file('b', `current-context: ctx-b\nclusters:\n${cluster('shared', 2002)}${cluster('only-b', 2003)}contexts:\n${context('ctx-b', 'only-b')}${context('ctx-a', 'only-b')}`);
    const c = file('c', `current-context: ctx-a\n${users}`);
    const cur = await loadKubeconfigs([join(dir, 'missing'), a, b, c]);
    assert.deepEqual([cur.context, cur.server, cur.namespace, cur.caPem], ['ctx-b', 'https://127.0.0.1:2003', 'default', 'CA of only-b']);
    assert.equal(await cur.token?.(), 't0ken-value', 'the user comes from another file');
    // ctx-a is a's (the first file naming it), and so is cluster shared.
    const named = await loadKubeconfigs([a, b, c], { context: 'ctx-a' });
    assert.deepEqual([named.server, named.namespace], ['https://127.0.0.1:1001', 'team-a']);
    await assert.rejects(loadKubeconfigs([a, b], { context: 'nope' }), /has no context "nope"/);
    await assert.rejects(loadKubeconfigs([join(dir, 'missing'), join(dir, 'gone')]), /No kubeconfig: .*missing, .*gone do not exist\./);
  });

  test('KUBECONFIG lists the files, else ~/.kube/config', () => {
    assert.deepEqual(kubeconfigPaths({ KUBECONFIG: '/a/one::/b/two' }), ['/a/one', '/b/two']);
    assert.match(kubeconfigPaths({})[0] ?? '', /\.kube\/config$/);
  });
});
