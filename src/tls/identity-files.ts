// Loads a TLS identity (certificate chain + private key) from PEM files for the server and the
// client alike, with errors that name the offending file: unreadable, no certificate, encrypted
// key, unparsable key, key not matching the certificate. Accepts PKCS#8, PKCS#1 and SEC1 keys.
import { GatewayError } from '../errors/index.js';
import { readRegularFile } from '../util/index.js';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { splitPem, toPem } from '../codec/pem.js';

export interface IdentityPem {
  /** certificate chain, leaf first, PEM */
  cert: string;
  /** private key, one PEM block */
  key: string;
}

/** A certificate or key file the operator must fix; the message names the file. */
export class IdentityFileError extends GatewayError {
  declare readonly code: 'identity_file_invalid';
  constructor(message: string) {
    super('identity_file_invalid', message);
  }
}

const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];

/** PEM files of an identity are a few kilobytes; the bound keeps /proc files or FIFOs from hanging start-up. */
const MAX_PEM_FILE_BYTES = 1024 * 1024;

async function readText(file: string, what: string): Promise<string> {
  let data;
  try {
    data = await readRegularFile(file, MAX_PEM_FILE_BYTES);
  } catch (e) {
    throw new IdentityFileError(`cannot read ${what} file ${file}: ${(e as Error).message}`);
  }
  if (data === 'not-regular') throw new IdentityFileError(`${what} file ${file} is not a regular file`);
  if (data === 'too-large')
    throw new IdentityFileError(`${what} file ${file} is larger than ${MAX_PEM_FILE_BYTES} bytes`);
  return data.toString('latin1');
}

/** All certificates of a PEM file (a chain or a CA bundle); throws naming the file if none. */
export async function readCertificates(file: string, what = 'certificate'): Promise<string> {
  const blocks = splitPem(await readText(file, what)).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0)
    throw new IdentityFileError(`${what} file ${file} holds no PEM certificate ("BEGIN CERTIFICATE")`);
  for (const b of blocks) {
    try {
      new X509Certificate(b.der);
    } catch (e) {
      throw new IdentityFileError(
        `${what} file ${file} holds a certificate that cannot be parsed: ${(e as Error).message}`,
      );
    }
  }
  return blocks.map((b) => toPem(b.label, b.der)).join('');
}

export async function loadIdentityFiles(certFile: string, keyFile: string): Promise<IdentityPem> {
  const cert = await readCertificates(certFile);
  const keyText = await readText(keyFile, 'key');
  const blocks = splitPem(keyText);
  if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,\s*ENCRYPTED/.test(keyText))
    throw new IdentityFileError(
      `key file ${keyFile} is encrypted; provide an unencrypted key (openssl pkey -in ${keyFile} -out key.pem)`,
    );
  const block = blocks.find((b) => KEY_LABELS.includes(b.label));
  if (!block)
    throw new IdentityFileError(`key file ${keyFile} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)`);
  const key = toPem(block.label, block.der);
  let priv;
  try {
    priv = createPrivateKey(key);
  } catch (e) {
    throw new IdentityFileError(`key file ${keyFile} cannot be parsed: ${(e as Error).message}`);
  }
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  const leaf = new X509Certificate(splitPem(cert)[0].der);
  if (!spki(createPublicKey(priv)).equals(spki(leaf.publicKey)))
    throw new IdentityFileError(`the key in ${keyFile} does not match the certificate in ${certFile}`);
  return { cert, key };
}
