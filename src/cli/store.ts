// `media-gateway store`: maintain an OpenSSL hash directory (the server's `certificate_directory`)
// without the openssl binary: install CAs and CRLs, print name hashes, diagnose, renew CRLs.
import { dispatch, out, positionals, type Subcommand } from '../pki/command.js';
import { doctor, formatDoctorReport, hashOfFile, storeAdd, renewCrls } from '../pki/index.js';
import { parseDays, parseDurationMs } from '../pki/duration.js';
import { PkiError } from '../pki/errors.js';

const PROG = 'media-gateway store';
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const add: Subcommand = {
  usage: `add <hash-dir> <file>...
Installs CA certificates as <subject-hash>.N and CRLs as <issuer-hash>.rN at the next free N,
atomically (temp file + link), skipping exact duplicates. Refuses (and then installs nothing)
non-CA certificates, private keys, and CRLs whose CA is neither in the directory nor in the files.`,
  options: {},
  async run(args) {
    if (args.length < 2)
      throw new PkiError(`expected <hash-dir> <file>... (usage: ${PROG} ${add.usage.split('\n')[0]})`, 2);
    const [dir, ...files] = args;
    const r = await storeAdd(dir, files);
    for (const i of r.installed) out(`added ${i.source} -> ${i.path}`);
    for (const s of r.skipped) out(`skipped ${s.source}: identical to ${s.existing}`);
    return 0;
  },
};

const hash: Subcommand = {
  usage: `hash <file>
Prints the subject hash of a certificate or the issuer hash of a CRL, as openssl does.`,
  options: {},
  async run(args) {
    const [file] = positionals(args, ['file'], `${PROG} ${hash.usage.split('\n')[0]}`);
    out(await hashOfFile(file));
    return 0;
  },
};

const doctorCmd: Subcommand = {
  usage: `doctor <hash-dir> [--json] [--warn-within 7d]
Explains everything wrong with a hash directory: CAs without a CRL, CRLs expired or expiring soon,
CRL signatures not from their CA, file names not matching name hashes, sequence gaps, non-CA
certificates, expired CAs, unparsable and stray files. Exit 0 clean, 1 warnings only, 2 errors.
  --json             machine-readable report
  --warn-within D    warn about CRLs expiring within D (default: 7d; units s, m, h, d, w)`,
  options: { json: { type: 'boolean' }, 'warn-within': { type: 'string' } },
  async run(args, v) {
    const [dir] = positionals(args, ['hash-dir'], `${PROG} ${doctorCmd.usage.split('\n')[0]}`);
    const within = str(v['warn-within']);
    const report = await doctor(dir, {
      warnWithinMs: within ? parseDurationMs(within, '--warn-within') : undefined,
    });
    out(v.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    return report.exitCode;
  },
};

const renew: Subcommand = {
  usage: `renew-crls <ca-dir> <hash-dir> --if-expiring-within 7d [--days 30]
Reissues the CA's CRL and publishes it to the hash directory (next .rN) when the published CRL
expires within the given time, has expired, or is missing; otherwise does nothing. For cron or a
systemd timer: exit 0 in both cases, non-zero on failure.
  --if-expiring-within D   renewal threshold (required; units s, m, h, d, w)
  --days N                 validity of the new CRL in days (default: 30)`,
  options: { 'if-expiring-within': { type: 'string' }, days: { type: 'string' } },
  async run(args, v) {
    const [caDir, dir] = positionals(args, ['ca-dir', 'hash-dir'], `${PROG} ${renew.usage.split('\n')[0]}`);
    const within = str(v['if-expiring-within']);
    if (!within) throw new PkiError('--if-expiring-within is required (e.g. --if-expiring-within 7d)', 2);
    const r = await renewCrls(caDir, dir, {
      ifExpiringWithinMs: parseDurationMs(within, '--if-expiring-within'),
      days: parseDays(str(v.days), 30),
    });
    if (!r.renewed) out(`nothing to do: ${r.reason}`);
    else
      out(
        `renewed: ${r.reason}\nwrote CRL number ${r.crl!.crlNumber} to ${r.crl!.crlPath}\npublished ${r.crl!.publishedPath}`,
      );
    return 0;
  },
};

export async function run(argv: string[]): Promise<number> {
  return dispatch(
    PROG,
    `Usage: ${PROG} <subcommand> [options]\n\nMaintains an OpenSSL hash directory of CA certificates and CRLs.`,
    { add, hash, doctor: doctorCmd, 'renew-crls': renew },
    argv,
  );
}
