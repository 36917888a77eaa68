// RS256 JWTs with node:crypto: signing, a JWKS, and verification against it.
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JsonWebKey & { kid: string; alg: string; use: string };
}

/**
 * A fresh RS256 key. The RSA key pair is made when it is first used (a JWKS served, a token signed):
 * making one costs a quarter of a second, and most sandboxes never sign anything.
 */
export function newSigningKey(): SigningKey {
  const kid = randomBytes(20).toString('hex');
  let pair: { privateKey: KeyObject; publicJwk: SigningKey['publicJwk'] } | undefined;
  const made = (): NonNullable<typeof pair> => {
    if (!pair) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      pair = { privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
    }
    return pair;
  };
  return {
    kid,
    get privateKey() {
      return made().privateKey;
    },
    get publicJwk() {
      return made().publicJwk;
    },
  };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function signJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const head = b64({ typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid });
  const body = b64(claims);
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), key.privateKey).toString('base64url');
  return `${head}.${body}.${sig}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Decode without verifying; undefined when it is not a JWT. */
export function decodeJwt(jwt: string): DecodedJwt | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return undefined;
    return { header, claims };
  } catch {
    return undefined;
  }
}

/** Whether `jwt` carries a valid RS256 signature by one of `keys` (matched by kid). */
export function verifyJwtSignature(jwt: string, keys: JsonWebKey[]): boolean {
  const decoded = decodeJwt(jwt);
  if (!decoded || decoded.header.alg !== 'RS256') return false;
  const [h, p, s] = jwt.split('.') as [string, string, string];
  for (const jwk of keys) {
    if (decoded.header.kid !== undefined && (jwk as { kid?: string }).kid !== decoded.header.kid) continue;
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      if (verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return true;
    } catch {
      /* not a usable key */
    }
  }
  return false;
}
