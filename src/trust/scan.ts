// Scans an OpenSSL hash directory (`<hash>.N` certificates, `<hash>.rN` CRLs) into a validated
// TrustSnapshot plus a list of operator-facing problems (printed by `store doctor`, logged on reload).
//
// Rules, and where we deliberately differ from OpenSSL's X509_LOOKUP_hash_dir:
// * Names must match `^[0-9a-f]{8}\.(r?)(0|[1-9][0-9]*)$`; symlinks are followed; other entries are
//   reported as 'stray_file' (dot-files, e.g. temp files of an atomic publish, are ignored silently).
// * Gap rule: OpenSSL stops at the first missing or unparsable index of a hash. We load every valid
//   index, because the operator put the file there to be used, and report 'sequence_gap' so that
//   operators sharing the directory with native OpenSSL readers know those readers will not see it.
// * A file that cannot be read or parsed (garbage, DER, empty, half-written) is excluded and reported
//   as 'unparsable'. If the same file name was valid in the previous snapshot, its previous content
//   stays in force: a half-written in-place rewrite must never *remove* a CRL (which would widen
//   access, e.g. drop a revocation and let an older CRL win). A dangling symlink is a deliberate
//   removal and is not carried over.
// * A scan racing with changes is not a snapshot: if the directory is removed or replaced while it
//   is read, or a listed file vanishes before it is read, the scan throws ScanRaceError and the
//   caller keeps the snapshot in force and scans again (a partial snapshot would drop CAs and close
//   every open connection).
// * Only regular files (or symlinks to them) are opened, non-blocking: a FIFO or device node in the
//   directory is reported as 'stray_file' and can never stall the reloads.
// * Certificates must carry basicConstraints CA:TRUE and hash to their file name; duplicates (same
//   DER) are loaded once. CRLs must hash to their file name, be signed by a CA of this directory
//   (signature checked here, so a corrupt CRL cannot override a good one: fail closed), and not be
//   delta CRLs (Node does not process them). Expired / not-yet-valid CRLs stay in the snapshot;
//   OpenSSL picks the usable one at handshake time; we report when a CA has none.
// * In-place rewrites, deletions and re-keyed CAs with an existing subject take effect on the next
//   scan: nothing is cached forever, unlike native hash_dir.
import { readdir, stat, lstat } from 'node:fs/promises';
import { readRegularFile } from '../util/index.js';
import { X509Certificate, createHash } from 'node:crypto';
import path from 'node:path';
import { setImmediate as turnOfTheEventLoop } from 'node:timers/promises';
import { splitPem, toPem } from '../codec/pem.js';
import {
  canonicalName,
  certificateSubjectDer,
  crlIssuerDer,
  nameHash,
  nameHashOld,
} from '../codec/name-hash.js';
import { x509, normalizeSerial } from '../codec/index.js';
import type { CaEntry, CrlEntry, CrlFloor, TrustSnapshot } from './snapshot.js';
import { readTlv } from '../codec/der.js';
import { applyCrlFloors } from './floors.js';
import { crlStanding } from './crl-standing.js';
import { ScanRaceError, TrustDirectoryError } from './errors.js';

export { ScanRaceError };

/** The problems `store doctor` prints and media_gateway_trust_problems counts (docs/errors.md). */
export const PROBLEM_CODES = [
  'unparsable',
  'hash_mismatch',
  'not_a_ca',
  'duplicate',
  'sequence_gap',
  'stray_file',
  'ca_without_crl',
  'crl_issuer_unknown',
  'crl_bad_signature',
  'crl_expired',
  'crl_expiring',
  'crl_not_yet_valid',
  'ca_expired',
  'delta_crl',
  'crl_rollback',
  'crl_kept',
  'no_ca',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

export interface Problem {
  severity: 'error' | 'warning';
  code: ProblemCode;
  file?: string;
  message: string;
}

export interface ScanResult {
  snapshot: TrustSnapshot;
  problems: Problem[];
}

export interface ScanOptions {
  crlEnabled: boolean;
  now?: Date;
  /** the snapshot in force: unparsable files keep their content from it (see header) */
  previous?: TrustSnapshot;
  /** 'crl_expiring' is reported when a CA's CRL coverage ends within this window (default 24 h) */
  crlExpiryWarningMs?: number;
  /** called after the directory is listed, before any file is read (tests only: races) */
  afterList?: () => Promise<void>;
}

const HASH_NAME = /^([0-9a-f]{8})\.(r?)(0|[1-9][0-9]{0,3})$/;
/** The largest `.N` / `.rN` index loaded; larger ones are stray files (OpenSSL's own readers stop far earlier). */
export const MAX_HASH_INDEX = 9999;
/**
 * Files larger than this are not read (reported, and a previous good content stays in force): a real CA
 * certificate or CRL of a private CA is far smaller, and this bounds the time and memory one scan can take.
 */
export const MAX_TRUST_FILE_BYTES = 16 * 1024 * 1024;
/**
 * PEM objects read from one file at most: a hash-directory file holds one certificate or a few CRLs. A file
 * of thousands of copies would otherwise cost a parse each (a 16 MiB file of one CRL repeated stalled the
 * server for 30 s).
 */
export const MAX_PEM_BLOCKS_PER_FILE = 64;
const CERT_LABELS = ['CERTIFICATE', 'TRUSTED CERTIFICATE'];
const CRL_LABEL = 'X509 CRL';
const DELTA_CRL_INDICATOR = '2.5.29.27';
const CRL_NUMBER = '2.5.29.20';
const REMOVE_FROM_CRL = 8;
const DAY_MS = 86_400_000;

interface HashFile {
  name: string;
  hash: string;
  crl: boolean;
  index: number;
}

type Blocks = { ok: true; ders: Buffer[] } | { ok: false; gone: boolean; why: string };

type Report = (severity: Problem['severity'], code: ProblemCode, message: string, file?: string) => void;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const iso = (d: Date): string => d.toISOString();

function describeDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= DAY_MS) return `${(abs / DAY_MS).toFixed(1)} days`;
  if (abs >= 3_600_000) return `${(abs / 3_600_000).toFixed(1)} hours`;
  if (abs >= 60_000) return `${Math.round(abs / 60_000)} minutes`;
  return `${Math.round(abs / 1000)} seconds`;
}

/** The PEM objects of the expected kind in one file, or why there are none usable. */
async function readBlocks(file: string, crl: boolean): Promise<Blocks> {
  let data: Buffer;
  try {
    const r = await readRegularFile(file, MAX_TRUST_FILE_BYTES);
    if (r === 'not-regular') return { ok: false, gone: true, why: 'is not a regular file' };
    if (r === 'too-large')
      return { ok: false, gone: false, why: `is larger than ${MAX_TRUST_FILE_BYTES} bytes and is not read` };
    data = r;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // a dangling symlink is a deliberate removal; a name that vanished since readdir is a race
      const dangling = await lstat(file).then(
        (st) => st.isSymbolicLink(),
        () => false,
      );
      if (!dangling) throw new ScanRaceError(`${path.basename(file)} vanished while the directory was read`);
      return { ok: false, gone: true, why: 'is a dangling symbolic link' };
    }
    return { ok: false, gone: false, why: `cannot be read (${code ?? (e as Error).message})` };
  }
  const kind = crl ? 'CRL' : 'certificate';
  if (data.length === 0) return { ok: false, gone: false, why: 'is empty' };
  if (data[0] === 0x30)
    return {
      ok: false,
      gone: false,
      why: `is DER; the directory needs PEM (openssl ${crl ? 'crl' : 'x509'} -inform DER -outform PEM)`,
    };
  const text = data.toString('latin1');
  const blocks = splitPem(text);
  if (blocks.length > MAX_PEM_BLOCKS_PER_FILE)
    return {
      ok: false,
      gone: false,
      why: `holds ${blocks.length} PEM objects; at most ${MAX_PEM_BLOCKS_PER_FILE} are read from one file`,
    };
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  if (begins > blocks.length)
    return { ok: false, gone: false, why: 'holds a truncated or corrupted PEM block (half-written?)' };
  const wanted = blocks.filter((b) => (crl ? b.label === CRL_LABEL : CERT_LABELS.includes(b.label)));
  if (wanted.length === 0) {
    const found = blocks.map((b) => b.label).join(', ');
    const need = crl ? `"BEGIN ${CRL_LABEL}"` : '"BEGIN CERTIFICATE"';
    return {
      ok: false,
      gone: false,
      why: found ? `holds ${found} but a ${kind} (${need}) was expected here` : `holds no PEM ${kind}`,
    };
  }
  return { ok: true, ders: wanted.map((b) => b.der) };
}

// CRL signature checks are the expensive part of a scan; a scan runs every poll interval, so the
// verdict is remembered per (CRL, CA) pair. Bounded so that a directory churning CRLs cannot grow it.
const crlVerdicts = new Map<string, boolean>();
async function crlSignedBy(
  crl: InstanceType<typeof x509.X509Crl>,
  crlFp: string,
  ca: CaEntry,
): Promise<boolean> {
  const key = `${crlFp}/${ca.fingerprint}`;
  const known = crlVerdicts.get(key);
  if (known !== undefined) return known;
  let ok = false;
  try {
    ok = await crl.verify({ publicKey: new x509.X509Certificate(ca.der) });
  } catch {
    ok = false;
  }
  if (crlVerdicts.size > 4096) crlVerdicts.clear();
  crlVerdicts.set(key, ok);
  return ok;
}

/** Scans `dir` in stages: list, load CAs, load CRLs, CRL floors, judge coverage, digest. */
export async function scanHashDirectory(dir: string, opts: ScanOptions): Promise<ScanResult> {
  const now = opts.now ?? new Date();
  const problems: Problem[] = [];
  const report: Report = (severity, code, message, file) =>
    problems.push(file === undefined ? { severity, code, message } : { severity, code, file, message });

  const listing = await listDirectory(dir);
  // test seam: lets a test change the directory between listing and reading, deterministically
  await opts.afterList?.();
  const files = hashFiles(listing.names, report);
  reportGaps(files, report);
  const load = fileLoader(dir, opts.previous, report);
  const cas = await loadCas(files, load, now, report);
  const crls = opts.crlEnabled ? await loadCrls(files, load, cas, opts.previous, report) : [];
  // A CA's effective CRL never goes back to an older one while the process runs (src/trust/floors.ts)
  const floors = applyCrlFloors(cas, crls, opts.previous?.crlFloors, now, report);
  const earliestNextUpdate = judgeCoverage(dir, cas, crls, floors.rolledBack, opts, now, report);
  const snapshot = assembleSnapshot(cas, crls, floors, earliestNextUpdate, now);
  const after = await dirIdentity(dir).catch(() => 'gone');
  if (after !== listing.identity)
    throw new ScanRaceError(`trust directory ${dir} was removed or replaced during the scan`);
  return { snapshot, problems };
}

/** Stage 1: the directory's identity and its entry names. */
async function listDirectory(dir: string): Promise<{ identity: string; names: string[] }> {
  try {
    const identity = await dirIdentity(dir);
    return { identity, names: await readdir(dir) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TrustDirectoryError(
      code === 'ENOENT'
        ? `trust directory ${dir} does not exist`
        : code === 'ENOTDIR'
          ? `trust directory ${dir} is not a directory`
          : `trust directory ${dir} cannot be read: ${(e as Error).message}`,
    );
  }
}

/** The entries named like a hash-directory file; others are reported as stray (dot-files silently skipped). */
function hashFiles(names: string[], report: Report): HashFile[] {
  const files: HashFile[] = [];
  for (const name of [...names].sort()) {
    if (name.startsWith('.')) continue;
    const m = HASH_NAME.exec(name);
    if (!m) {
      report(
        'warning',
        'stray_file',
        `${name} is ignored: not a hash-directory name (<8 hex digits>.N or .rN, N at most ${MAX_HASH_INDEX})`,
        name,
      );
      continue;
    }
    files.push({ name, hash: m[1], crl: m[2] === 'r', index: Number(m[3]) });
  }
  return files;
}

type Loader = (f: HashFile) => Promise<Buffer[]>;

/** Reads a file; unparsable → reported and, if it was good before, its previous content. */
function fileLoader(dir: string, previous: TrustSnapshot | undefined, report: Report): Loader {
  const previousDers = (file: string): Buffer[] => [
    ...(previous?.cas.filter((c) => c.file === file).map((c) => c.der) ?? []),
    ...(previous?.crls.filter((c) => c.file === file).map((c) => c.der) ?? []),
  ];
  return async (f) => {
    // one file at a time, with the event loop served in between: a scan never stalls requests for long
    await turnOfTheEventLoop();
    const full = path.join(dir, f.name);
    try {
      const st = await stat(full);
      if (!st.isFile()) {
        const what = st.isDirectory() ? 'a directory' : 'not a regular file (FIFO, socket or device)';
        report('warning', 'stray_file', `${f.name} is ${what} and is ignored`, f.name);
        return [];
      }
    } catch {
      // handled by readBlocks (vanished → ScanRaceError, dangling symlink → gone)
    }
    const r = await readBlocks(full, f.crl);
    if (r.ok) return r.ders;
    const kept = r.gone ? [] : previousDers(f.name);
    report(
      'error',
      'unparsable',
      `${f.name} ${r.why}; ${kept.length ? 'its previous content stays in force until it is fixed' : 'it is not used'}`,
      f.name,
    );
    return kept;
  };
}

/** Stage 2: the CA certificates, each named after its subject hash, CA:TRUE, loaded once. */
async function loadCas(files: HashFile[], load: Loader, now: Date, report: Report): Promise<CaEntry[]> {
  const cas: CaEntry[] = [];
  // fingerprint → subject of what is loaded: a repeated object is recognised before it is parsed again
  const seenCa = new Map<string, string>();
  for (const f of files.filter((x) => !x.crl)) {
    for (const der of await load(f)) {
      const fingerprint = sha256(der);
      const repeated = seenCa.get(fingerprint);
      if (repeated !== undefined) {
        report(
          'warning',
          'duplicate',
          `${f.name} repeats a certificate already loaded ("${repeated}"); the copy is ignored`,
          f.name,
        );
        continue;
      }
      const entry = judgeCa(f, der, fingerprint, now, report);
      if (!entry) continue;
      seenCa.set(fingerprint, entry.subject);
      cas.push(entry);
    }
  }
  return cas;
}

function judgeCa(
  f: HashFile,
  der: Buffer,
  fingerprint: string,
  now: Date,
  report: Report,
): CaEntry | undefined {
  let cert: X509Certificate;
  let subjectDer: Buffer;
  try {
    cert = new X509Certificate(der);
    subjectDer = certificateSubjectDer(der);
  } catch (e) {
    report(
      'error',
      'unparsable',
      `${f.name}: certificate cannot be parsed (${(e as Error).message}); it is not used`,
      f.name,
    );
    return undefined;
  }
  const subject = cert.subject.replace(/\n/g, ', ');
  const h = nameHash(subjectDer);
  if (h !== f.hash) {
    const old = nameHashOld(subjectDer) === f.hash;
    report(
      old ? 'warning' : 'error',
      'hash_mismatch',
      old
        ? `${f.name} is named with the pre-1.0.0 MD5 hash (c_rehash -old) of "${subject}"; it is not used (the current name would be ${h}.N)`
        : `${f.name} holds "${subject}", whose subject hash is ${h}: rename it to ${h}.N; it is not used`,
      f.name,
    );
    return undefined;
  }
  if (!cert.ca) {
    report(
      'error',
      'not_a_ca',
      `${f.name} holds "${subject}", which is not a CA certificate (basicConstraints CA:TRUE missing); it is not used`,
      f.name,
    );
    return undefined;
  }
  const entry: CaEntry = {
    file: f.name,
    pem: toPem('CERTIFICATE', der),
    der,
    cert,
    fingerprint,
    subjectHash: h,
    canonicalSubject: canonicalName(subjectDer),
    subject,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
  if (entry.notAfter.getTime() < now.getTime())
    report(
      'warning',
      'ca_expired',
      `${f.name}: CA "${subject}" expired on ${iso(entry.notAfter)}; its clients are refused`,
      f.name,
    );
  else if (entry.notBefore.getTime() > now.getTime())
    report(
      'warning',
      'ca_expired',
      `${f.name}: CA "${subject}" is not valid before ${iso(entry.notBefore)}; its clients are refused until then`,
      f.name,
    );
  return entry;
}

/** Stage 3: the CRLs, each signed by a CA of the directory; a rejected file keeps its last good content. */
async function loadCrls(
  files: HashFile[],
  load: Loader,
  cas: CaEntry[],
  previous: TrustSnapshot | undefined,
  report: Report,
): Promise<CrlEntry[]> {
  const crls: CrlEntry[] = [];
  const seenCrl = new Map<string, string>();
  const rejectedFiles = new Set<string>();
  const acceptedFiles = new Set<string>();
  for (const f of files.filter((x) => x.crl)) {
    for (const der of await load(f)) {
      const verdict = await judgeCrl(f, der, cas, seenCrl);
      if ('problem' in verdict) {
        const p = verdict.problem;
        report(p.severity, p.code, p.message, f.name);
        if (p.severity === 'error') rejectedFiles.add(f.name);
        continue;
      }
      seenCrl.set(sha256(der), verdict.entry.issuer);
      acceptedFiles.add(f.name);
      crls.push(verdict.entry);
    }
  }
  // A revocation, once loaded, is never forgotten because its file went bad: a CRL file whose new content
  // is rejected (bad signature, another key, wrong issuer, unparsable) keeps its last good content.
  for (const file of rejectedFiles) {
    if (acceptedFiles.has(file)) continue;
    for (const prev of previous?.crls.filter((c) => c.file === file) ?? []) {
      const fp = sha256(prev.der);
      if (seenCrl.has(fp) || !cas.some((ca) => ca.fingerprint === prev.issuerFingerprint)) continue;
      seenCrl.set(fp, prev.issuer);
      crls.push(prev);
      report(
        'error',
        'crl_kept',
        `${file}: its new content is rejected (see above); its previous content (thisUpdate ${iso(prev.thisUpdate)}) stays in force until a valid CRL replaces it`,
        file,
      );
    }
  }
  return crls;
}

/** Stage 4: per-CA CRL coverage (./crl-standing.ts); returns the earliest end of a CA's coverage. */
function judgeCoverage(
  dir: string,
  cas: CaEntry[],
  crls: CrlEntry[],
  rolledBack: ReadonlySet<string>,
  opts: ScanOptions,
  now: Date,
  report: Report,
): Date | undefined {
  const warnMs = opts.crlExpiryWarningMs ?? DAY_MS;
  let earliestNextUpdate: Date | undefined;
  if (cas.length === 0) {
    report('error', 'no_ca', `${dir} holds no usable CA certificate: every client certificate is refused`);
    return undefined;
  }
  if (!opts.crlEnabled) return undefined;
  for (const ca of cas) {
    if (rolledBack.has(ca.fingerprint)) continue; // reported as 'crl_rollback'
    const standing = crlStanding(
      crls.filter((c) => c.issuerFingerprint === ca.fingerprint),
      now,
    );
    switch (standing.state) {
      case 'missing':
        report(
          'error',
          'ca_without_crl',
          `CA "${ca.subject}" (${ca.file}) has no CRL (expected ${ca.subjectHash}.r0): its clients are refused`,
          ca.file,
        );
        break;
      case 'not_yet_valid':
        report(
          'error',
          'crl_not_yet_valid',
          `CA "${ca.subject}" has no CRL valid now; the first becomes valid at ${iso(standing.firstStart)}: its clients are refused until then`,
          ca.file,
        );
        break;
      case 'expired':
        report(
          'error',
          'crl_expired',
          `the CRL of CA "${ca.subject}" expired at ${iso(standing.lastEnd)} (${describeDuration(now.getTime() - standing.lastEnd.getTime())} ago): its clients are refused until a new CRL is published`,
          ca.file,
        );
        break;
      case 'valid': {
        const end = standing.until;
        if (end === undefined) break;
        if (!earliestNextUpdate || end < earliestNextUpdate) earliestNextUpdate = end;
        if (end.getTime() - now.getTime() < warnMs)
          report(
            'warning',
            'crl_expiring',
            `the CRL of CA "${ca.subject}" expires at ${iso(end)} (in ${describeDuration(end.getTime() - now.getTime())}): publish a new one before then`,
            ca.file,
          );
      }
    }
  }
  return earliestNextUpdate;
}

/** Stage 5: the snapshot, sorted by file name, with its digest over everything accepted. */
function assembleSnapshot(
  cas: CaEntry[],
  crls: CrlEntry[],
  floors: { floors: ReadonlyMap<string, CrlFloor>; rolledBack: ReadonlySet<string> },
  earliestNextUpdate: Date | undefined,
  now: Date,
): TrustSnapshot {
  cas.sort((a, b) => a.file.localeCompare(b.file));
  crls.sort((a, b) => a.file.localeCompare(b.file));
  const digest = createHash('sha256');
  for (const o of [...cas, ...crls].sort(
    (a, b) => a.file.localeCompare(b.file) || Buffer.compare(a.der, b.der),
  ))
    digest.update(`${o.file}\0${o.der.length}\0`).update(o.der);
  // a rollback changes verdicts without changing the objects in force
  for (const fp of [...floors.rolledBack].sort()) digest.update(`rollback\0${fp}\0`);

  const snapshot: TrustSnapshot = {
    cas,
    crls,
    caPems: cas.map((c) => c.pem),
    crlPems: crls.map((c) => c.pem),
    digest: digest.digest('hex'),
    loadedAt: now,
  };
  if (earliestNextUpdate) snapshot.earliestNextUpdate = earliestNextUpdate;
  snapshot.crlFloors = floors.floors;
  if (floors.rolledBack.size > 0) snapshot.crlRolledBack = floors.rolledBack;
  return snapshot;
}

type CrlVerdict = { entry: CrlEntry } | { problem: Omit<Problem, 'file'> };

/** One CRL of file `f`: parsed, named after its issuer, not a delta, signed by a CA of the directory. */
async function judgeCrl(
  f: HashFile,
  der: Buffer,
  cas: CaEntry[],
  seen: ReadonlyMap<string, string>,
): Promise<CrlVerdict> {
  const problem = (severity: Problem['severity'], code: ProblemCode, message: string): CrlVerdict => ({
    problem: { severity, code, message },
  });
  const fp = sha256(der);
  const repeated = seen.get(fp);
  if (repeated !== undefined)
    return problem(
      'warning',
      'duplicate',
      `${f.name} repeats a CRL already loaded ("${repeated}"); the copy is ignored`,
    );
  let crl: InstanceType<typeof x509.X509Crl>;
  let issuerDer: Buffer;
  try {
    crl = new x509.X509Crl(der);
    issuerDer = crlIssuerDer(der);
  } catch (e) {
    return problem(
      'error',
      'unparsable',
      `${f.name}: CRL cannot be parsed (${(e as Error).message}); it is not used`,
    );
  }
  const issuer = crl.issuer;
  const h = nameHash(issuerDer);
  if (h !== f.hash)
    return problem(
      'error',
      'hash_mismatch',
      `${f.name} holds a CRL of "${issuer}", whose issuer hash is ${h}: rename it to ${h}.rN; it is not used`,
    );
  if (crl.extensions.some((e) => e.type === DELTA_CRL_INDICATOR))
    return problem(
      'warning',
      'delta_crl',
      `${f.name} is a delta CRL of "${issuer}"; delta CRLs are not supported and it is ignored`,
    );
  const canon = canonicalName(issuerDer);
  const candidates = cas.filter((c) => c.canonicalSubject.equals(canon));
  if (candidates.length === 0)
    return problem(
      'error',
      'crl_issuer_unknown',
      `${f.name}: no CA certificate in the directory is named "${issuer}" (expected ${h}.0); the CRL is not used`,
    );
  let signer: CaEntry | undefined;
  for (const c of candidates) if (await crlSignedBy(crl, fp, c)) signer = signer ?? c;
  if (!signer)
    return problem(
      'error',
      'crl_bad_signature',
      `${f.name}: the signature of this CRL of "${issuer}" does not verify with ${candidates.map((c) => c.file).join(', ')}; it is not used`,
    );
  const revoked = new Set<string>();
  for (const e of crl.entries) if (e.reason !== REMOVE_FROM_CRL) revoked.add(normalizeSerial(e.serialNumber));
  const entry: CrlEntry = {
    file: f.name,
    pem: toPem(CRL_LABEL, der),
    der,
    issuerFingerprint: signer.fingerprint,
    issuer,
    thisUpdate: crl.thisUpdate,
    revoked,
  };
  if (crl.nextUpdate) entry.nextUpdate = crl.nextUpdate;
  const number = crlNumber(crl);
  if (number !== undefined) entry.number = number;
  return { entry };
}

/** The CRL Number extension (RFC 5280 5.2.3), or undefined when absent or unreadable. */
function crlNumber(crl: InstanceType<typeof x509.X509Crl>): bigint | undefined {
  const ext = crl.getExtension(CRL_NUMBER);
  if (!ext) return undefined;
  try {
    const value = Buffer.from(ext.value);
    const tlv = readTlv(value, 0);
    if (tlv.tag !== 0x02) return undefined;
    const hex = value.subarray(tlv.contentStart, tlv.end).toString('hex');
    return hex ? BigInt(`0x${hex}`) : undefined;
  } catch {
    return undefined;
  }
}

/** device:inode of the directory itself (a rename or re-creation changes it) */
async function dirIdentity(dir: string): Promise<string> {
  const st = await stat(dir);
  if (!st.isDirectory()) {
    const e = new Error(`${dir} is not a directory`) as NodeJS.ErrnoException;
    e.code = 'ENOTDIR';
    throw e;
  }
  return `${st.dev}:${st.ino}`;
}

function reportGaps(files: HashFile[], report: Report): void {
  const groups = new Map<string, number[]>();
  for (const f of files) {
    const key = `${f.hash}.${f.crl ? 'r' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), f.index]);
  }
  for (const [prefix, indices] of groups) {
    const sorted = [...new Set(indices)].sort((a, b) => a - b);
    // the first index i with sorted[i] !== i is the first gap (linear; indexes are at most MAX_HASH_INDEX)
    const firstMissing = sorted.findIndex((v, i) => v !== i);
    if (firstMissing === -1) continue;
    const after = sorted.filter((i) => i > firstMissing);
    report(
      'warning',
      'sequence_gap',
      `${prefix}${firstMissing} is missing: this gateway still loads ${after.map((i) => prefix + i).join(', ')}, but native OpenSSL readers stop at the gap and would not`,
      `${prefix}${firstMissing}`,
    );
  }
}

/** The next instant at which a snapshot's verdicts change without any file change (CRL expiry or start). */
export function nextTimeEvent(snap: TrustSnapshot, now: Date = new Date()): Date | undefined {
  const t = now.getTime();
  let best: number | undefined;
  for (const c of snap.crls)
    for (const d of [c.thisUpdate, c.nextUpdate])
      if (d && d.getTime() > t && (best === undefined || d.getTime() < best)) best = d.getTime();
  return best === undefined ? undefined : new Date(best);
}
