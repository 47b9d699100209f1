import { describe, expect, it } from 'vitest';
import { parseClassNames } from '../../src/core/python-literal.ts';

describe('parseClassNames', () => {
  it('reads an Ultralytics names dict', () => {
    expect(parseClassNames("{0: 'person', 1: 'bicycle', 2: 'traffic light'}")).toEqual([
      'person',
      'bicycle',
      'traffic light',
    ]);
  });

  it('reads double-quoted names, as Python writes names containing a quote', () => {
    expect(parseClassNames(`{0: "it's", 1: 'say "hi"'}`)).toEqual(["it's", 'say "hi"']);
  });

  it('decodes Python escapes', () => {
    const src = String.raw`{0: 'it\'s', 1: 'a\\b', 2: 'tab\there', 3: '\xb5m', 4: '\u00b5m', 5: '\U0001f52c', 6: '\101', 7: '\q'}`;
    expect(parseClassNames(src)).toEqual(["it's", 'a\\b', 'tab\there', 'µm', 'µm', '🔬', 'A', '\\q']);
  });

  it('keeps non-ASCII names as written', () => {
    expect(parseClassNames("{0: 'Zellkern', 1: 'µ-Partikel', 2: '細胞'}")).toEqual([
      'Zellkern',
      'µ-Partikel',
      '細胞',
    ]);
  });

  it('accepts whitespace, newlines and a trailing comma', () => {
    expect(parseClassNames("  {\n  0 : 'a' ,\n  1:'b',\n}  ")).toEqual(['a', 'b']);
  });

  it('orders names by class id, not by position', () => {
    expect(parseClassNames("{1: 'b', 0: 'a'}")).toEqual(['a', 'b']);
  });

  it('names ids missing from the dict class<id>', () => {
    expect(parseClassNames("{0: 'a', 3: 'd'}")).toEqual(['a', 'class1', 'class2', 'd']);
  });

  it('reads JSON-style dicts with quoted keys', () => {
    expect(parseClassNames('{"0": "person", "1": "car"}')).toEqual(['person', 'car']);
  });

  it('reads the list form of older YOLOv5 exports', () => {
    expect(parseClassNames("['person', 'bicycle']")).toEqual(['person', 'bicycle']);
  });

  it('reads empty collections', () => {
    expect(parseClassNames('{}')).toEqual([]);
    expect(parseClassNames('[]')).toEqual([]);
  });

  it.each([
    ["{0: 'person'", /missing '\}'/],
    ['{0: person}', /expected a quoted string/],
    ["{'a': 'x'}", /expected a class id/],
    ["{-1: 'x'}", /expected a class id/],
    ["{0 'x'}", /expected ':'/],
    ["{0: 'x' 1: 'y'}", /expected ',' or '\}'/],
    ["{0: 'x'} extra", /unexpected text/],
    ["{0: 'unterminated}", /unterminated string/],
    [String.raw`{0: 'bad \x4'}`, /bad hex escape/],
    ["{99999999: 'x'}", /too large/],
    ['person, car', /expected '\{' or '\['/],
    ['', /expected '\{' or '\['/],
  ])('rejects %j', (src, reason) => {
    expect(() => parseClassNames(src)).toThrow(/class names are not a Python dict or list of strings/);
    expect(() => parseClassNames(src)).toThrow(reason);
  });
});
