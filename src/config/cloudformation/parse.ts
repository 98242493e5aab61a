import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../load.js';

/**
 * CloudFormation's YAML short tags and the intrinsic each stands for (the set the Serverless
 * Framework's CloudFormation schema accepts, plus the AWS::LanguageExtensions ones).
 */
const SHORT_TAGS: Record<string, string> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!And': 'Fn::And',
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!Equals': 'Fn::Equals',
  '!FindInMap': 'Fn::FindInMap',
  '!GetAtt': 'Fn::GetAtt',
  '!GetAZs': 'Fn::GetAZs',
  '!If': 'Fn::If',
  '!ImportValue': 'Fn::ImportValue',
  '!Join': 'Fn::Join',
  '!Not': 'Fn::Not',
  '!Or': 'Fn::Or',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!Sub': 'Fn::Sub',
  '!Transform': 'Fn::Transform',
  '!Length': 'Fn::Length',
  '!ToJsonString': 'Fn::ToJsonString',
};

/**
 * Parses a CloudFormation / SAM template: JSON, or YAML with short tags (`!Ref X`, `!GetAtt X.Arn`,
 * `!Sub [...]`, in scalar, sequence and mapping form), which become their long forms
 * (`{Ref: X}`, `{"Fn::GetAtt": ["X", "Arn"]}`). The text is parsed as is: it never goes through the
 * configuration file's `${NAME}` expansion, which would eat `Fn::Sub` variables.
 */
export function parseTemplate(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  if (/^\s*\{/.test(text)) {
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined; // not strict JSON (comments, YAML flow style): the YAML parser says why
    }
  }
  if (value === undefined) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const at = lines.linePos(e.pos[0]);
      throw new ConfigError(`${file}:${at.line}:${at.col}: not a valid template (YAML/JSON): ${e.message.split('\n')[0]}`);
    }
    value = toJS(doc.contents as Node | null, doc, file, lines);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${file}: a template is a mapping with a Resources section`);
  return value as Record<string, unknown>;
}

function where(node: Node, file: string, lines: LineCounter): string {
  const at = node.range ? lines.linePos(node.range[0]) : undefined;
  return at ? `${file}:${at.line}:${at.col}` : file;
}

/** Converts the YAML tree, turning short tags into intrinsic objects; an unknown `!Tag` is an error naming its line. */
function toJS(node: Node | null, doc: Document, file: string, lines: LineCounter, depth = 0): unknown {
  if (node === null || node === undefined) return null;
  if (depth > 200) throw new ConfigError(`${where(node, file, lines)}: nested too deeply`);
  if (isAlias(node)) return toJS(node.resolve(doc) as Node, doc, file, lines, depth + 1);
  let value: unknown;
  if (isScalar(node)) value = node.value;
  else if (isSeq(node)) value = node.items.map((n) => toJS(n as Node, doc, file, lines, depth + 1));
  else if (isMap(node)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') throw new ConfigError(`${where(pair.key as Node, file, lines)}: a mapping key must be a plain value`);
      out[String(key)] = toJS(pair.value as Node | null, doc, file, lines, depth + 1);
    }
    value = out;
  } else throw new ConfigError(`${where(node, file, lines)}: unexpected YAML node`);
  const tag = node.tag;
  if (tag === undefined || !tag.startsWith('!') || tag.startsWith('!!')) return value;
  const fn = SHORT_TAGS[tag];
  if (fn === undefined) throw new ConfigError(`${where(node, file, lines)}: unknown tag ${tag} (CloudFormation's are ${Object.keys(SHORT_TAGS).join(' ')})`);
  // `!GetAtt Res.Attr` splits at the first dot (attributes may contain dots: `Endpoint.Address`).
  if (fn === 'Fn::GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    value = dot === -1 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
  }
  return { [fn]: value };
}
