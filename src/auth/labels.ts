// Routing-label rules (savant_core 0.3.5 LabelFilterRule, docs/auth.md): which routing labels a user's
// messages must carry. Parsed from the JSON map form (`{"set": "x"}`) and from YAML, where both the map
// form and the tagged form the original's serde_yaml 0.9 wants (`!set x`, `!and [!set a, !set b]`) work.
import { GatewayError } from '../errors/index.js';
import { parseDocument, isMap, isSeq, isScalar, isAlias, type Node } from 'yaml';

export type LabelRule =
  { set: string } | { unset: string } | { and: LabelRule[] } | { or: LabelRule[] } | { not: LabelRule };

export class LabelRuleError extends GatewayError {
  declare readonly code: 'label_rule_invalid';
  constructor(message: string) {
    super('label_rule_invalid', message);
  }
}

const KINDS = ['set', 'unset', 'and', 'or', 'not'] as const;
type Kind = (typeof KINDS)[number];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Validates an already-decoded value (JSON, or YAML turned plain by `yamlToPlain`) as a rule. */
export function parseLabelRule(value: unknown, where: string): LabelRule {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LabelRuleError(
      `${where}: expected a label rule such as {"set": "label"}, found ${describe(value)}`,
    );
  }
  const keys = Object.keys(value);
  if (keys.length !== 1 || !(KINDS as readonly string[]).includes(keys[0])) {
    throw new LabelRuleError(
      `${where}: expected exactly one of ${KINDS.join(', ')} as the key of a label rule, found ${keys.length ? keys.map((k) => JSON.stringify(k)).join(', ') : 'an empty map'}`,
    );
  }
  const kind = keys[0] as Kind;
  const arg = (value as Record<string, unknown>)[kind];
  const at = `${where}.${kind}`;
  switch (kind) {
    case 'set':
    case 'unset':
      if (typeof arg !== 'string')
        throw new LabelRuleError(`${at}: expected a label string, found ${describe(arg)}`);
      return kind === 'set' ? { set: arg } : { unset: arg };
    case 'and':
    case 'or': {
      if (!Array.isArray(arg))
        throw new LabelRuleError(`${at}: expected a list of rules, found ${describe(arg)}`);
      const rules = arg.map((r, i) => parseLabelRule(r, `${at}[${i}]`));
      return kind === 'and' ? { and: rules } : { or: rules };
    }
    case 'not':
      // `!not [!set a]` is the only way to nest a tagged rule under !not in YAML (a node has one tag).
      if (Array.isArray(arg) && arg.length === 1) return { not: parseLabelRule(arg[0], `${at}[0]`) };
      return { not: parseLabelRule(arg, at) };
  }
}

export function matchLabels(rule: LabelRule, labels: readonly string[]): boolean {
  if ('set' in rule) return labels.includes(rule.set);
  if ('unset' in rule) return !labels.includes(rule.unset);
  if ('and' in rule) return rule.and.every((r) => matchLabels(r, labels));
  if ('or' in rule) return rule.or.some((r) => matchLabels(r, labels));
  return !matchLabels(rule.not, labels);
}

/**
 * Turns a YAML node into plain data, rewriting our local tags into the map form: `!set x` → `{set: "x"}`,
 * `!and [...]` → `{and: [...]}`. Standard `!!` tags resolve as usual; any other local tag is an error.
 */
export function yamlToPlain(node: Node | null | undefined, where: string): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) throw new LabelRuleError(`${where}: YAML aliases are not supported here`);
  const tag = node.tag;
  let plain: unknown;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const k = yamlToPlain(pair.key as Node, where);
      if (typeof k !== 'string' && typeof k !== 'number')
        throw new LabelRuleError(`${where}: map keys must be strings`);
      out[String(k)] = yamlToPlain(pair.value as Node, `${where}.${k}`);
    }
    plain = out;
  } else if (isSeq(node)) {
    plain = node.items.map((item, i) => yamlToPlain(item as Node, `${where}[${i}]`));
  } else if (isScalar(node)) {
    // an unresolved local tag leaves the scalar's source text in value (a string)
    plain = node.value;
  } else {
    throw new LabelRuleError(`${where}: unsupported YAML node`);
  }
  if (tag && tag.startsWith('!') && !tag.startsWith('!!')) {
    const kind = tag.slice(1);
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new LabelRuleError(
        `${where}: unknown YAML tag ${tag} (expected one of ${KINDS.map((k) => '!' + k).join(', ')})`,
      );
    }
    return { [kind]: plain };
  }
  return plain;
}

/** Parses YAML (so also JSON) text into plain data with the label tags understood. */
export function parseYamlText(text: string, where: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problems = doc.errors.concat(doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED'));
  if (problems.length) throw new LabelRuleError(`${where}: invalid YAML: ${problems[0].message}`);
  return yamlToPlain(doc.contents as Node | null, where);
}

/** `--labels` and YAML record fields: a rule in JSON, YAML map form or YAML tagged form. */
export function parseLabelRuleText(text: string, where: string): LabelRule {
  return parseLabelRule(parseYamlText(text, where), where);
}

/** YAML for a record: tagged form where serde_yaml 0.9 can read it; `!not` carries its operand in map form. */
export function labelRuleToYaml(rule: LabelRule): string {
  if ('set' in rule) return `!set ${JSON.stringify(rule.set)}`;
  if ('unset' in rule) return `!unset ${JSON.stringify(rule.unset)}`;
  if ('and' in rule) return `!and [${rule.and.map(labelRuleToYaml).join(', ')}]`;
  if ('or' in rule) return `!or [${rule.or.map(labelRuleToYaml).join(', ')}]`;
  return `!not ${JSON.stringify(rule.not)}`;
}
