// A CA and a serving certificate for 127.0.0.1/localhost, made with openssl once per sandbox start.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function makePki(dir: string): Pki {
  const run = (args: string[]): void => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`openssl ${args[0] ?? ''} failed (the sandbox's Kubernetes endpoints need openssl on PATH): ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    }
  };
  // Two openssl runs (OpenSSL 3's `req -x509` makes the key and, with -CA, signs with the CA).
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-sha256', '-days', '3650',
    '-subj', '/CN=mlabs-sandbox-ca', '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-sha256', '-days', '3650',
    '-subj', '/CN=kube-apiserver', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-out', 'server.crt',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default',
    '-addext', 'extendedKeyUsage=serverAuth', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'basicConstraints=CA:FALSE']);
  return {
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    certPem: readFileSync(join(dir, 'server.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'server.key'), 'utf8'),
  };
}
