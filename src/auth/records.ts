// User records as stored in etcd (docs/auth.md): `{password_hash?, allowed_routing_labels?}`
// in JSON or YAML (the server's `data_format`). Certificate identity records use the same shape without a hash.
import { GatewayError } from '../errors/index.js';
import { parseLabelRule, parseYamlText, labelRuleToYaml, type LabelRule } from './labels.js';

export interface UserRecord {
  /** Argon2 PHC string; absent for certificate identity records */
  password_hash?: string;
  allowed_routing_labels?: LabelRule;
}

export type DataFormat = 'json' | 'yaml';

export class RecordError extends GatewayError {
  declare readonly code: 'user_record_invalid';
  constructor(message: string) {
    super('user_record_invalid', message);
  }
}

export function parseUserRecord(value: Buffer | string, format: DataFormat, where: string): UserRecord {
  const text = typeof value === 'string' ? value : value.toString('utf8');
  let plain: unknown;
  try {
    plain = format === 'json' ? JSON.parse(text) : parseYamlText(text, where);
  } catch (err) {
    throw new RecordError(`${where}: not valid ${format.toUpperCase()}: ${(err as Error).message}`);
  }
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw new RecordError(`${where}: expected a map with password_hash and/or allowed_routing_labels`);
  }
  const obj = plain as Record<string, unknown>;
  const record: UserRecord = {};
  if (obj.password_hash !== undefined && obj.password_hash !== null) {
    if (typeof obj.password_hash !== 'string')
      throw new RecordError(`${where}.password_hash: expected a string`);
    record.password_hash = obj.password_hash;
  }
  if (obj.allowed_routing_labels !== undefined && obj.allowed_routing_labels !== null) {
    try {
      record.allowed_routing_labels = parseLabelRule(
        obj.allowed_routing_labels,
        `${where}.allowed_routing_labels`,
      );
    } catch (err) {
      throw new RecordError((err as Error).message);
    }
  }
  return record;
}

/** The stored text of a record; YAML uses the tagged rule form so the original gateway can read it too. */
export function formatUserRecord(record: UserRecord, format: DataFormat): string {
  if (format === 'json') return JSON.stringify(record);
  const lines: string[] = [];
  if (record.password_hash !== undefined)
    lines.push(`password_hash: ${JSON.stringify(record.password_hash)}`);
  if (record.allowed_routing_labels)
    lines.push(`allowed_routing_labels: ${labelRuleToYaml(record.allowed_routing_labels)}`);
  return lines.length ? lines.join('\n') + '\n' : '{}\n';
}
