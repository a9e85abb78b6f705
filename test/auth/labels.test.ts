import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  matchLabels,
  parseLabelRule,
  parseLabelRuleText,
  labelRuleToYaml,
  LabelRuleError,
} from '../../src/auth/labels.js';
import { parseUserRecord, formatUserRecord, RecordError } from '../../src/auth/records.js';

test('each rule kind against labels with and without the label', () => {
  const cases: [string, string[], boolean][] = [
    ['{"set": "a"}', ['a', 'b'], true],
    ['{"set": "a"}', ['b'], false],
    ['{"set": "a"}', ['A'], false],
    ['{"unset": "a"}', ['b'], true],
    ['{"unset": "a"}', ['a'], false],
    ['{"and": [{"set": "a"}, {"set": "b"}]}', ['a', 'b'], true],
    ['{"and": [{"set": "a"}, {"set": "b"}]}', ['a'], false],
    ['{"and": []}', [], true],
    ['{"or": [{"set": "a"}, {"set": "b"}]}', ['b'], true],
    ['{"or": [{"set": "a"}, {"set": "b"}]}', ['c'], false],
    ['{"or": []}', ['a'], false],
    ['{"not": {"set": "a"}}', ['b'], true],
    ['{"not": {"set": "a"}}', ['a'], false],
    ['{"and":[{"set":"camera"},{"not":{"set":"private"}}]}', ['camera'], true],
    ['{"and":[{"set":"camera"},{"not":{"set":"private"}}]}', ['camera', 'private'], false],
  ];
  for (const [text, labels, expected] of cases) {
    const rule = parseLabelRule(JSON.parse(text), 'rule');
    assert.equal(matchLabels(rule, labels), expected, `${text} vs ${JSON.stringify(labels)}`);
  }
});

test('YAML: tagged form and map form give the same rule', () => {
  const pairs: [string, string][] = [
    ['!set camera', '{set: camera}'],
    ['!unset x', 'unset: x'],
    ['!and [!set a, !set b]', '{and: [{set: a}, {set: b}]}'],
    ['!or [!set a, !not {set: b}]', '{or: [{set: a}, {not: {set: b}}]}'],
    ['!not [!and [!set a]]', '{not: {and: [{set: a}]}}'],
  ];
  for (const [tagged, map] of pairs) {
    assert.deepEqual(parseLabelRuleText(tagged, 't'), parseLabelRuleText(map, 'm'), tagged);
  }
  // what we write reads back as the same rule
  const rule = parseLabelRuleText('{and: [{set: a}, {not: {or: [{unset: b}]}}]}', 'r');
  assert.deepEqual(parseLabelRuleText(labelRuleToYaml(rule), 'back'), rule);
});

test('bad rules get clear errors naming where', () => {
  assert.throws(() => parseLabelRule({ sett: 'a' }, 'user.allowed_routing_labels'), {
    name: 'LabelRuleError',
    message: /user\.allowed_routing_labels: expected exactly one of set, unset, and, or, not .*"sett"/,
  });
  assert.throws(() => parseLabelRule({ set: 'a', unset: 'b' }, 'r'), LabelRuleError);
  assert.throws(
    () => parseLabelRule({ and: { set: 'a' } }, 'r'),
    /r\.and: expected a list of rules, found a map/,
  );
  assert.throws(
    () => parseLabelRule({ or: [{ set: 1 }] }, 'r'),
    /r\.or\[0\]\.set: expected a label string, found number 1/,
  );
  assert.throws(() => parseLabelRule('camera', 'r'), /expected a label rule/);
  assert.throws(() => parseLabelRuleText('!bogus x', 'r'), /unknown YAML tag !bogus/);
  assert.throws(() => parseLabelRuleText('{set: [', 'r'), /invalid YAML/);
});

test('user records in JSON and YAML', () => {
  const hash = '$argon2i$v=19$m=12,t=3,p=1$c2FsdHNhbHQ$aGFzaA';
  const fromJson = parseUserRecord(
    Buffer.from(JSON.stringify({ password_hash: hash, allowed_routing_labels: { set: 'label' } })),
    'json',
    '/users/u',
  );
  const fromYaml = parseUserRecord(
    `password_hash: "${hash}"\nallowed_routing_labels: !set label\n`,
    'yaml',
    '/users/u',
  );
  assert.deepEqual(fromJson, { password_hash: hash, allowed_routing_labels: { set: 'label' } });
  assert.deepEqual(fromYaml, fromJson);
  assert.deepEqual(parseUserRecord('{"password_hash": "x"}', 'json', 'k'), { password_hash: 'x' });
  for (const fmt of ['json', 'yaml'] as const) {
    assert.deepEqual(parseUserRecord(formatUserRecord(fromJson, fmt), fmt, 'k'), fromJson);
  }
  assert.throws(() => parseUserRecord('{not json', 'json', '/users/u'), {
    name: 'RecordError',
    message: /\/users\/u: not valid JSON/,
  });
  assert.throws(() => parseUserRecord('[1]', 'json', 'k'), RecordError);
  assert.throws(
    () => parseUserRecord('{"password_hash": 5}', 'json', 'k'),
    /k\.password_hash: expected a string/,
  );
  assert.throws(
    () => parseUserRecord('allowed_routing_labels: {sett: a}', 'yaml', 'k'),
    /k\.allowed_routing_labels/,
  );
});
