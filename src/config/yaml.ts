import { type Document, isScalar, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import type { Problem } from './issues.js';

/** Aliases expanded in all: a handful of anchors nested a few levels deep otherwise builds gigabytes. */
const MAX_ALIASES = 100;

/** Parses YAML with merge keys (`<<: *base`) and unique keys; returns the value or the problems, each at a line and column. */
export const parseYaml = (source: string): { value: unknown } | { problems: Problem[] } => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  if (doc.errors.length > 0) {
    return { problems: doc.errors.map((error) => ({ path: at(error.pos[0]), problem: describe(doc, error) })) };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIASES }) };
  } catch (error) {
    // yaml throws a ReferenceError for an unknown alias and for one expanding past maxAliasCount.
    const problem = (error as Error).message.startsWith('Excessive alias count')
      ? `anchors and aliases expand to more than ${MAX_ALIASES} copies; write the values out instead`
      : (error as Error).message;
    return { problems: [{ path: '', problem }] };
  }
};

const describe = (doc: Document, error: YAMLError): string => {
  if (error.code !== 'DUPLICATE_KEY') return error.message;
  const [offset] = error.pos;
  let key: unknown;
  visit(doc, {
    Pair: (_, { key: node }) => {
      if (isScalar(node) && node.range && node.range[0] <= offset && offset < node.range[1]) key = node.value;
    },
  });
  return `the key ${JSON.stringify(key)} is given twice in one mapping; keep one`;
};
