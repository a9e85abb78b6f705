// `media-gateway pki`: a private CA that shares its directory format with `openssl ca` (the seed's
// recipe), so both tools can be used on the same CA in any order.
import { initCa, generateCrl, issueCertificate, listCertificates, revokeCertificate } from '../pki/index.js';
import { dispatch, out, positionals, type Subcommand } from '../pki/command.js';
import { parseDays } from '../pki/duration.js';
import { PkiError } from '../pki/errors.js';
import { parseKeyKind } from '../pki/keys.js';

const PROG = 'media-gateway pki';
const CA_OPTION = { ca: { type: 'string' as const } };
const CA_HELP = '  --ca DIR       the CA directory (default: the current directory)';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const caDir = (v: Record<string, unknown>): string => str(v.ca) ?? process.cwd();

const init: Subcommand = {
  usage: `init <ca-dir> [--cn NAME] [--key rsa|ec] [--days N]
Creates a CA in a new or empty directory: ca.conf (usable with 'openssl ca -config'), ca.key
(PKCS#8), ca.crt (CA:true critical, keyCertSign+cRLSign, key identifiers), index.txt,
index.txt.attr, serial (01), crlnumber (1000), certs/, crl/.
  --cn NAME      subject common name (default: ca.example.com)
  --key rsa|ec   RSA 2048 (default) or EC P-256
  --days N       validity in days (default: 365)`,
  options: { cn: { type: 'string' }, key: { type: 'string' }, days: { type: 'string' } },
  async run(args, v) {
    const [dir] = positionals(args, ['ca-dir'], `${PROG} ${init.usage.split('\n')[0]}`);
    const r = await initCa(dir, {
      cn: str(v.cn),
      key: parseKeyKind(str(v.key)),
      days: parseDays(str(v.days), 365),
    });
    out(`created CA ${r.certPath} (key ${r.keyPath})`);
    return 0;
  },
};

const issue: Subcommand = {
  usage: `issue server|client <name> [--san DNS:host,IP:addr ...] [--cn NAME] [--key rsa|ec] [--days N] [--out DIR] [--force] [--ca DIR]
Issues a key (<name>.key, PKCS#8 PEM) and certificate (<name>.crt) with the seed's extensions:
serverAuth or clientAuth, critical key usage, key identifiers; recorded in index.txt like 'openssl ca'.
  --cn NAME      subject common name (default: <name>)
  --san LIST     subject alternative names, comma separated or repeated: DNS:host, IP:1.2.3.4,
                 email:a@b, URI:u (servers default to DNS:<cn>)
  --key rsa|ec   RSA 2048 (default) or EC P-256
  --days N       validity in days (default: 365)
  --out DIR      where to write the files (default: <ca-dir>/certs)
  --force        overwrite existing <name>.key/<name>.crt
${CA_HELP}`,
  options: {
    ...CA_OPTION,
    cn: { type: 'string' },
    san: { type: 'string', multiple: true },
    key: { type: 'string' },
    days: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(args, v) {
    const [kind, name] = positionals(
      args,
      ['server|client', 'name'],
      `${PROG} ${issue.usage.split('\n')[0]}`,
    );
    if (kind !== 'server' && kind !== 'client')
      throw new PkiError(`expected 'server' or 'client', got '${kind}'`, 2);
    const r = await issueCertificate(caDir(v), kind, name, {
      cn: str(v.cn),
      san: Array.isArray(v.san) ? v.san : undefined,
      key: parseKeyKind(str(v.key)),
      days: parseDays(str(v.days), 365),
      out: str(v.out),
      force: v.force === true,
    });
    out(
      `issued ${kind} certificate serial ${r.serial} ${r.subject}\n  certificate ${r.certPath}\n  key         ${r.keyPath}`,
    );
    return 0;
  },
};

const revoke: Subcommand = {
  usage: `revoke <cert-file|serial> [--reason REASON] [--ca DIR]
Marks a certificate revoked in index.txt (run 'pki crl' afterwards to publish it). The serial is hex.
  --reason R     unspecified, keyCompromise, CACompromise, affiliationChanged, superseded,
                 cessationOfOperation (default: none recorded)
${CA_HELP}`,
  options: { ...CA_OPTION, reason: { type: 'string' } },
  async run(args, v) {
    const [target] = positionals(args, ['cert-file|serial'], `${PROG} ${revoke.usage.split('\n')[0]}`);
    const r = await revokeCertificate(caDir(v), target, str(v.reason));
    out(
      `revoked serial ${r.serial} ${r.subject}${r.reason ? ` (${r.reason})` : ''}; run 'pki crl' to publish`,
    );
    return 0;
  },
};

const crl: Subcommand = {
  usage: `crl [--days N] [--publish HASH_DIR] [--ca DIR]
Writes a new CRL of every revoked certificate to <ca-dir>/crl/ca.crl (number from crlnumber).
  --days N          nextUpdate in N days (default: 30)
  --publish DIR     also install it in a hash directory as <hash>.r<next free N> (and the CA
                    certificate as <hash>.N if it is not there yet), atomically
${CA_HELP}`,
  options: { ...CA_OPTION, days: { type: 'string' }, publish: { type: 'string' } },
  async run(args, v) {
    positionals(args, [], `${PROG} ${crl.usage.split('\n')[0]}`);
    const r = await generateCrl(caDir(v), { days: parseDays(str(v.days), 30), publishTo: str(v.publish) });
    out(
      `wrote CRL number ${r.crlNumber} (${r.revoked} revoked, next update ${r.nextUpdate.toISOString()}) to ${r.crlPath}` +
        (r.publishedPath ? `\npublished ${r.publishedPath}` : ''),
    );
    return 0;
  },
};

const list: Subcommand = {
  usage: `list [--json] [--ca DIR]
Every certificate in index.txt (ours and openssl's) with its status: valid, revoked or expired.
  --json         one JSON array instead of a table
${CA_HELP}`,
  options: { ...CA_OPTION, json: { type: 'boolean' } },
  async run(args, v) {
    positionals(args, [], `${PROG} ${list.usage.split('\n')[0]}`);
    const rows = await listCertificates(caDir(v));
    if (v.json) {
      out(JSON.stringify(rows, null, 2));
      return 0;
    }
    const lines = [['STATUS', 'SERIAL', 'NOT AFTER', 'REVOKED', 'SUBJECT']];
    for (const r of rows) {
      const revoked = r.revoked ? r.revoked.toISOString() + (r.reason ? ` ${r.reason}` : '') : '-';
      lines.push([r.status, r.serial, r.expires.toISOString(), revoked, r.subject]);
    }
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
    out(
      lines.map((l) => l.map((c, i) => (i < l.length - 1 ? c.padEnd(widths[i]) : c)).join('  ')).join('\n'),
    );
    return 0;
  },
};

export async function run(argv: string[]): Promise<number> {
  return dispatch(
    PROG,
    `Usage: ${PROG} <subcommand> [options]\n\nA private CA in the layout of 'openssl ca' (the seed's recipe).`,
    { init, issue, revoke, crl, list },
    argv,
  );
}
