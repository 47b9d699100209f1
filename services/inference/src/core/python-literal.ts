/**
 * Ultralytics writes class names as `str(dict)`, a Python literal, not JSON: single or double quotes
 * (whichever repr picks), Python escapes, integer keys. Older YOLOv5 exports write `str(list)`.
 */

/** Far above any real detector; stops `{99999999: 'x'}` from allocating a huge array. */
const MAX_CLASS_ID = 65_535;

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': '',
};

interface Cursor {
  src: string;
  pos: number;
}

function fail(c: Cursor, reason: string): never {
  throw new Error(`class names are not a Python dict or list of strings: ${reason} at character ${c.pos}`);
}

function skipSpace(c: Cursor): void {
  while (c.pos < c.src.length && /\s/.test(c.src[c.pos])) c.pos++;
}

function expect(c: Cursor, ch: string): void {
  skipSpace(c);
  if (c.src[c.pos] !== ch) fail(c, `expected '${ch}'`);
  c.pos++;
}

function hexEscape(c: Cursor, digits: number): string {
  const hex = c.src.slice(c.pos, c.pos + digits);
  if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) fail(c, 'bad hex escape');
  const code = Number.parseInt(hex, 16);
  if (code > 0x10ffff) fail(c, 'escape beyond Unicode');
  c.pos += digits;
  return String.fromCodePoint(code);
}

function readString(c: Cursor): string {
  skipSpace(c);
  const quote = c.src[c.pos];
  if (quote !== "'" && quote !== '"') fail(c, 'expected a quoted string');
  c.pos++;
  let out = '';
  for (;;) {
    if (c.pos >= c.src.length) fail(c, 'unterminated string');
    const ch = c.src[c.pos++];
    if (ch === quote) return out;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    if (c.pos >= c.src.length) fail(c, 'unterminated string');
    const e = c.src[c.pos++];
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x') out += hexEscape(c, 2);
    else if (e === 'u') out += hexEscape(c, 4);
    else if (e === 'U') out += hexEscape(c, 8);
    else if (e >= '0' && e <= '7') {
      const octal = /^[0-7]{1,3}/.exec(c.src.slice(c.pos - 1, c.pos + 2))![0];
      c.pos += octal.length - 1;
      out += String.fromCharCode(Number.parseInt(octal, 8));
    } else {
      // Python keeps unknown escapes verbatim, backslash included.
      out += `\\${e}`;
    }
  }
}

function readClassId(c: Cursor): number {
  skipSpace(c);
  let raw = '';
  if (c.src[c.pos] === "'" || c.src[c.pos] === '"') {
    // JSON-style dicts quote their keys; accept them too.
    raw = readString(c);
  } else {
    while (c.pos < c.src.length && c.src[c.pos] >= '0' && c.src[c.pos] <= '9') raw += c.src[c.pos++];
  }
  if (!/^\d+$/.test(raw)) fail(c, 'expected a class id');
  const id = Number(raw);
  if (id > MAX_CLASS_ID) fail(c, `class id ${raw} is too large`);
  return id;
}

/** Reads items separated by commas (a trailing comma allowed) up to `close`. */
function readItems(c: Cursor, close: string, item: () => void): void {
  skipSpace(c);
  while (c.src[c.pos] !== close) {
    item();
    skipSpace(c);
    if (c.src[c.pos] === ',') {
      c.pos++;
      skipSpace(c);
    } else if (c.src[c.pos] !== close) {
      fail(c, c.pos >= c.src.length ? `missing '${close}'` : `expected ',' or '${close}'`);
    }
  }
  c.pos++;
}

/**
 * Parses `{0: 'person', 1: "it's"}` or `['person', "it's"]` into names indexed by class id. Ids missing
 * from a dict are named `class<id>`, the name used for any id a model has no name for.
 */
export function parseClassNames(src: string): string[] {
  const c: Cursor = { src, pos: 0 };
  skipSpace(c);
  const names: string[] = [];
  if (src[c.pos] === '{') {
    c.pos++;
    const byId = new Map<number, string>();
    readItems(c, '}', () => {
      const id = readClassId(c);
      expect(c, ':');
      byId.set(id, readString(c));
    });
    const count = byId.size === 0 ? 0 : Math.max(...byId.keys()) + 1;
    for (let id = 0; id < count; id++) names.push(byId.get(id) ?? `class${id}`);
  } else if (src[c.pos] === '[') {
    c.pos++;
    readItems(c, ']', () => {
      names.push(readString(c));
    });
  } else {
    fail(c, "expected '{' or '['");
  }
  skipSpace(c);
  if (c.pos !== src.length) fail(c, 'unexpected text after the closing bracket');
  return names;
}
