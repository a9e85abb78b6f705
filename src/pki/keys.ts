// Key pairs for the CA and issued certificates (node:crypto), and their conversion to the
// WebCrypto keys @peculiar/x509 signs with. Keys are written as unencrypted PKCS#8 PEM, like
// `openssl genpkey`.
import { createPrivateKey, createPublicKey, generateKeyPair, webcrypto, type KeyObject } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
import { promisify } from 'node:util';
import { PkiError } from './errors.js';

export type KeyKind = 'rsa' | 'ec';

const generate = promisify(generateKeyPair);

export function parseKeyKind(text: string | undefined, fallback: KeyKind = 'rsa'): KeyKind {
  if (text === undefined) return fallback;
  if (text !== 'rsa' && text !== 'ec') throw new PkiError(`--key: expected 'rsa' or 'ec', got '${text}'`);
  return text;
}

/** RSA 2048 (the seed's `openssl genpkey -algorithm RSA`) or EC P-256. */
export async function generatePrivateKey(kind: KeyKind): Promise<KeyObject> {
  const pair =
    kind === 'rsa'
      ? await generate('rsa', { modulusLength: 2048 })
      : await generate('ec', { namedCurve: 'P-256' });
  return pair.privateKey;
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** SubjectPublicKeyInfo DER of a private or public key, for comparing keys with certificates. */
export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/** Reads a PEM private key (PKCS#8, PKCS#1 or SEC1); encrypted keys are refused with a clear error. */
export function loadPrivateKey(pem: string, file: string): KeyObject {
  if (pem.includes('ENCRYPTED')) throw new PkiError(`${file}: encrypted private keys are not supported`);
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new PkiError(`${file}: not a readable private key (${(err as Error).message})`);
  }
}

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** what @peculiar/x509 needs as `signingAlgorithm` */
  algorithm: Algorithm | EcdsaParams;
}

const EC_CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/** The WebCrypto form of a node key, with SHA-256 (or the curve's matching hash) for signing. */
export async function toSigningKey(key: KeyObject, file = 'key'): Promise<SigningKey> {
  const subtle = webcrypto.subtle;
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = spkiDer(key);
  let importAlg: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  let algorithm: Algorithm | EcdsaParams;
  if (key.asymmetricKeyType === 'rsa') {
    importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    algorithm = { name: 'RSASSA-PKCS1-v1_5' };
  } else if (key.asymmetricKeyType === 'ec') {
    const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new PkiError(`${file}: unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`);
    importAlg = { name: 'ECDSA', namedCurve: curve.namedCurve };
    algorithm = { name: 'ECDSA', hash: curve.hash } as EcdsaParams;
  } else {
    throw new PkiError(`${file}: unsupported key type ${key.asymmetricKeyType} (use RSA or EC)`);
  }
  const privateKey = await subtle.importKey('pkcs8', pkcs8, importAlg, true, ['sign']);
  const publicKey = await subtle.importKey('spki', spki, importAlg, true, ['verify']);
  return { privateKey, publicKey, algorithm };
}
