// The in-process PKI API, for the demo, benchmarks and tests that need a CA and a trust directory
// made by our own code (the CLI commands in src/cli/pki.ts and src/cli/store.ts wrap the same calls).
export { initCa, loadCa, caPaths, type InitCaOptions, type CaPaths, type LoadedCa } from './ca.js';
export { issueCertificate, type CertKind, type IssueOptions, type IssueResult } from './issue.js';
export {
  revokeCertificate,
  listCertificates,
  type RevokeResult,
  type ListedCertificate,
  type CertStatus,
} from './revoke.js';
export { generateCrl, type GenerateCrlOptions, type GenerateCrlResult } from './crl.js';
export { storeAdd, hashOfFile, readHashDirectory, type StoreAddResult } from './hash-dir.js';
export { doctor, formatDoctorReport, type DoctorReport } from './doctor.js';
export { renewCrls, type RenewResult } from './renew.js';
export { makePki, type DemoPki } from './demo-pki.js';
export { PkiError } from './errors.js';
export type { KeyKind } from './keys.js';
