import { parseDocument, type CollectionTag, type ScalarTag } from 'yaml';

/**
 * YAML with CloudFormation's short-form tags, as the Serverless Framework reads serverless.yml
 * (`!Ref X`, `!GetAtt A.B`, `!Sub …`, `!Join [...]`): each becomes its long form
 * (`{ Ref: X }`, `{ 'Fn::GetAtt': ['A', 'B'] }`), in scalar, sequence and mapping form alike.
 */
const FUNCTIONS = ['And', 'Base64', 'Cidr', 'Condition', 'Equals', 'FindInMap', 'GetAtt', 'GetAZs', 'If', 'ImportValue', 'Join', 'Not', 'Or', 'Select', 'Split', 'Sub'] as const;

function longName(name: string): string {
  return name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
}

function cloudFormationTags(): Array<ScalarTag | CollectionTag> {
  const tags: Array<ScalarTag | CollectionTag> = [];
  for (const name of ['Ref', ...FUNCTIONS]) {
    const key = longName(name);
    tags.push({
      tag: `!${name}`,
      resolve: (value: string) =>
        // `!GetAtt Res.Attr.Sub` is [Res, 'Attr.Sub'] (split at the first dot), as CloudFormation reads it.
        name === 'GetAtt' ? { [key]: value.includes('.') ? [value.slice(0, value.indexOf('.')), value.slice(value.indexOf('.') + 1)] : [value] } : { [key]: value },
    } as ScalarTag);
    tags.push({ tag: `!${name}`, collection: 'seq', resolve: (seq: { toJSON(): unknown }) => ({ [key]: seq.toJSON() }) } as unknown as CollectionTag);
    tags.push({ tag: `!${name}`, collection: 'map', resolve: (map: { toJSON(): unknown }) => ({ [key]: map.toJSON() }) } as unknown as CollectionTag);
  }
  return tags;
}

const TAGS = cloudFormationTags();

/** Parses serverless.yml (or an included YAML/JSON file); throws with the parser's first message. */
export function parseServerlessYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { customTags: TAGS, merge: true });
  if (doc.errors.length > 0) throw new Error(`${file} is not valid YAML: ${doc.errors[0]!.message}`);
  return doc.toJS({ maxAliasCount: 1000 });
}
