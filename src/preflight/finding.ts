// One result of a start-up check: where in the configuration (JSON path) and what is wrong.

export interface Finding {
  severity: 'error' | 'warning';
  /** JSON path of the configuration field the finding is about, e.g. `$.tls.identity.certificate` */
  path: string;
  message: string;
}
