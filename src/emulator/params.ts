// Request parameters, read the way the Files.com API reads them (docs/files-api.md
// §1): from the query string, a JSON body and a form body alike, merged (body
// over query). Keys may carry Rails brackets, in any source: `sort_by[path]=asc`,
// `etags[][etag]=…` (Ruby), `etags[0][part]` (an old Go SDK sent those inside
// JSON). `+` means space in a query or form (URLSearchParams), never in the path.
import { ApiError } from './errors.js';

type Value = unknown;
type Tree = Record<string, Value>;

/** Maximum API request body we parse (JSON/form); parts go to upload URLs, not here. */
export const MAX_API_BODY_BYTES = 8 * 1024 * 1024;

function splitKey(key: string): string[] {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!m) return [key];
  const rest = [...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!);
  return [m[1]!, ...rest];
}

/**
 * Containers made from bracket keys. Only these may turn from `{"0": …}` into
 * arrays: an object that arrived as a JSON value (custom_metadata with numeric
 * keys, say) keeps its shape.
 */
type Bracketed = WeakSet<object>;

/** Puts `value` at bracket path `parts` under `target`, Rails style. */
function assign(target: Tree, parts: string[], value: Value, made: Bracketed): void {
  const [head, ...rest] = parts;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  if (rest[0] === '') {
    // `a[]…`: an array; `a[][k]` starts a new element when the last one has k already.
    const list = Array.isArray(target[head]) ? (target[head] as Value[]) : (target[head] = [] as Value[]) as Value[];
    made.add(list);
    const tail = rest.slice(1);
    if (tail.length === 0) {
      list.push(value);
      return;
    }
    let last = list[list.length - 1] as Tree | undefined;
    if (!last || typeof last !== 'object' || tail[0]! in last) {
      list.push((last = {}));
      made.add(last);
    }
    assign(last, tail, value, made);
    return;
  }
  const child = target[head];
  let obj: Tree;
  if (child && typeof child === 'object') obj = child as Tree;
  else {
    obj = target[head] = {} as Tree;
    made.add(obj);
  }
  assign(obj, rest, value, made);
}

function fromPairs(pairs: Iterable<[string, Value]>, made: Bracketed, into: Tree = {}): Tree {
  for (const [key, value] of pairs) assign(into, splitKey(key), value, made);
  return into;
}

/** `{"0": x, "1": y}` (from `a[0][k]`) → `[x, y]`, recursively, for bracket-made containers only. */
function arraysFromIndexes(value: Value, made: Bracketed): Value {
  if (!value || typeof value !== 'object' || !made.has(value)) return value;
  if (Array.isArray(value)) return value.map((v) => arraysFromIndexes(v, made));
  const obj = value as Tree;
  const keys = Object.keys(obj);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => arraysFromIndexes(obj[k], made));
  }
  for (const k of keys) obj[k] = arraysFromIndexes(obj[k], made);
  return obj;
}

export class Params {
  constructor(private readonly tree: Tree) {}

  static parse(query: URLSearchParams, body: Buffer | null, contentType: string | undefined): Params {
    const made: Bracketed = new WeakSet();
    const tree = fromPairs(query.entries(), made);
    if (body && body.length > 0) {
      const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
      const text = body.toString('utf8');
      if (type === 'application/x-www-form-urlencoded') {
        fromPairs(new URLSearchParams(text).entries(), made, tree);
      } else if (type === 'application/json' || type === '' || type.endsWith('+json') || text.trimStart().startsWith('{')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new ApiError('bad-request/invalid-body', 'The request body is not valid JSON.');
        }
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
          fromPairs(Object.entries(parsed as Tree), made, tree);
        } else if (parsed !== null) {
          throw new ApiError('bad-request/invalid-body', 'The request body must be a JSON object.');
        }
      }
    }
    made.add(tree);
    return new Params(arraysFromIndexes(tree, made) as Tree);
  }

  has(name: string): boolean {
    const v = this.tree[name];
    return v !== undefined && v !== null && v !== '';
  }

  raw(name: string): Value {
    return this.tree[name];
  }

  string(name: string): string | undefined {
    const v = this.tree[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'object') return undefined;
    return String(v);
  }

  bool(name: string): boolean {
    const v = this.tree[name];
    return v === true || v === 1 || (typeof v === 'string' && ['true', '1', 'yes', 'on'].includes(v.trim().toLowerCase()));
  }

  /** An integer parameter; a present but malformed one is a 400 naming it. */
  int(name: string, range: { min?: number; max?: number } = {}): number | undefined {
    const v = this.tree[name];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(String(v)) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || (range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      throw new ApiError('bad-request/request-params-invalid', `Invalid ${name}: ${JSON.stringify(String(v).slice(0, 40))}.`);
    }
    return n;
  }

  object(name: string): Tree | undefined {
    const v = this.tree[name];
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Tree) : undefined;
  }

  list(name: string): Value[] | undefined {
    const v = this.tree[name];
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object') return [v];
    return undefined;
  }
}
