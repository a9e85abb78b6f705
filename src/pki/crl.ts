// `pki crl`: a CRL of every certificate index.txt marks revoked, with the crlNumber and
// authorityKeyIdentifier extensions (the seed's crl_ext), numbered from the shared `crlnumber`
// file like `openssl ca -gencrl`, written to crl/ca.crl and optionally published to a hash dir.
import { readFile } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
import { encodeTlv } from '../codec/der.js';
import { splitPem, toPem } from '../codec/pem.js';
import { loadCa } from './ca.js';
import { DAY_MS } from './duration.js';
import { writeFileAtomic } from './files.js';
import { storeAdd } from './hash-dir.js';
import {
  incrementHex,
  parseIndex,
  readHexCounter,
  REVOCATION_REASONS,
  writeHexCounter,
} from './openssl-db.js';
import { x509 } from '../codec/index.js';

const OID_CRL_NUMBER = '2.5.29.20';

function derInteger(hex: string): Buffer {
  let bytes = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return encodeTlv(0x02, bytes);
}

/**
 * Now, but strictly later (in whole seconds, the resolution of thisUpdate) than the CA's previous
 * CRL: when several CRLs of one CA are loaded, OpenSSL keeps the FIRST of those with equal
 * thisUpdate, so a revocation published within the same second would otherwise be ignored.
 */
async function afterPreviousCrl(previousCrlPath: string): Promise<Date> {
  const text = await readFile(previousCrlPath, 'utf8').catch(() => '');
  const block = splitPem(text).find((b) => b.label === 'X509 CRL');
  if (block) {
    let previous: Date | undefined;
    try {
      previous = new x509.X509Crl(new Uint8Array(block.der)).thisUpdate;
    } catch {
      // an unreadable old CRL is simply replaced
    }
    const wait = previous ? previous.getTime() + 1000 - Date.now() : 0;
    if (wait > 0 && wait <= 1000) await setTimeout(wait);
  }
  return new Date();
}

export interface GenerateCrlOptions {
  days?: number;
  /** hash directory to publish the new CRL into (the CA certificate is added too if missing) */
  publishTo?: string;
  now?: Date;
}

export interface GenerateCrlResult {
  crlPath: string;
  publishedPath?: string;
  crlNumber: string;
  nextUpdate: Date;
  revoked: number;
}

export async function generateCrl(caDir: string, opts: GenerateCrlOptions = {}): Promise<GenerateCrlResult> {
  const ca = await loadCa(caDir);
  const index = parseIndex(await readFile(ca.paths.index, 'utf8'), ca.paths.index);
  const crlNumber = await readHexCounter(ca.paths.crlnumber);
  const now = opts.now ?? (await afterPreviousCrl(ca.paths.crl));
  const nextUpdate = new Date(now.getTime() + (opts.days ?? 30) * DAY_MS);
  const revoked = index.filter((e) => e.status === 'R');
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: now,
    nextUpdate,
    signingKey: ca.signing.privateKey,
    signingAlgorithm: ca.signing.algorithm,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(ca.signing.publicKey),
      new x509.Extension(OID_CRL_NUMBER, false, derInteger(crlNumber)),
    ],
    entries: revoked.map((e) => ({
      serialNumber: e.serial,
      revocationDate: e.revoked ?? now,
      reason: e.reason !== undefined ? REVOCATION_REASONS[e.reason] : undefined,
    })),
  });
  // the number is spent even if a later step fails, as with openssl
  await writeHexCounter(ca.paths.crlnumber, incrementHex(crlNumber));
  // @peculiar/x509 labels CRLs `CRL`; OpenSSL and Node expect `X509 CRL`
  await writeFileAtomic(ca.paths.crl, toPem('X509 CRL', new Uint8Array(crl.rawData)));
  const result: GenerateCrlResult = { crlPath: ca.paths.crl, crlNumber, nextUpdate, revoked: revoked.length };
  if (opts.publishTo) {
    const added = await storeAdd(opts.publishTo, [ca.paths.cert, ca.paths.crl]);
    result.publishedPath = added.installed.find((i) => i.kind === 'crl')?.path;
  }
  return result;
}
