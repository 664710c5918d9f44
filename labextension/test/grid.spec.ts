import {
  countRuns,
  expandGrid,
  formatValue,
  gridFromRows,
  GridError,
  parseGridYaml,
  parseValueList
} from '../src/grid';
import grids from './fixtures/grids.json';

interface Case {
  grid: unknown;
  sets?: Record<string, unknown>[];
  error?: string;
}

// Generated from the server's nbprod.run.batch.expand_grid: both sides must agree.
const fixture = grids as { cases: Case[] };

describe('expandGrid matches the server', () => {
  it.each(fixture.cases.map(c => [JSON.stringify(c.grid), c] as const))('%s', (_, c) => {
    if (c.error !== undefined) {
      expect(() => expandGrid(c.grid)).toThrow(GridError);
      expect(() => expandGrid(c.grid)).toThrow(c.error);
    } else {
      expect(expandGrid(c.grid)).toEqual(c.sets);
    }
  });

  it('is a cartesian product with the first parameter slowest', () => {
    const sets = expandGrid({ a: [1, 2], b: [3, 4], c: [5, 6] });
    expect(sets).toHaveLength(8);
    expect(sets[0]).toEqual({ a: 1, b: 3, c: 5 });
    expect(sets[1]).toEqual({ a: 1, b: 3, c: 6 });
    expect(sets[7]).toEqual({ a: 2, b: 4, c: 6 });
  });

  it('countRuns is 0 for invalid grids', () => {
    expect(countRuns({ a: [1, 2], b: [1, 2, 3] })).toBe(6);
    expect(countRuns({ a: [] })).toBe(0);
    expect(countRuns('nope')).toBe(0);
  });
});

describe('parseGridYaml', () => {
  it('reads the example grid', () => {
    const text = '# 2 x 2 = 4 runs\nn_rows: [600]\nC: [0.1, 1.0]\nseed: [0, 1]\n';
    const grid = parseGridYaml(text);
    expect(grid).toEqual({ n_rows: [600], C: [0.1, 1.0], seed: [0, 1] });
    expect(expandGrid(grid)).toHaveLength(4);
  });

  it('reads block lists and the runs shape', () => {
    expect(parseGridYaml('a:\n  - x\n  - y\n')).toEqual({ a: ['x', 'y'] });
    const runs = parseGridYaml('runs:\n  - {a: 1}\n  - {a: 2, b: two}\n');
    expect(expandGrid(runs)).toEqual([{ a: 1 }, { a: 2, b: 'two' }]);
  });

  it('says what is wrong', () => {
    expect(() => parseGridYaml('a: [1, 2')).toThrow(/not valid YAML/);
    expect(() => parseGridYaml('')).toThrow(/empty/);
    expect(() => parseGridYaml('- 1\n- 2\n')).toThrow(/mapping/);
    expect(() => parseGridYaml('a: []')).toThrow(/empty list of values for a/);
  });
});

describe('grid editor rows', () => {
  it('parses comma-separated values with YAML types', () => {
    expect(parseValueList('0.1, 1.0')).toEqual([0.1, 1]);
    expect(parseValueList('[1, 2]')).toEqual([1, 2]);
    expect(parseValueList('true, no, null')).toEqual([true, 'no', null]);
    expect(parseValueList('"a, b", c')).toEqual(['a, b', 'c']);
    expect(parseValueList('  ')).toEqual([]);
  });

  it('builds a grid and leaves empty rows out', () => {
    const grid = gridFromRows({ n_rows: '600', C: '0.1, 1.0', seed: '0, 1', test_size: '' });
    expect(grid).toEqual({ n_rows: [600], C: [0.1, 1], seed: [0, 1] });
    expect(countRuns(grid)).toBe(4);
  });

  it('names the parameter whose values cannot be read', () => {
    expect(() => gridFromRows({ C: '[1, 2' })).toThrow(/^C: /);
  });

  it('formats values for the editor', () => {
    expect(formatValue('abc')).toBe('abc');
    expect(formatValue('a, b')).toBe('"a, b"');
    expect(formatValue('1.5')).toBe('"1.5"');
    expect(formatValue('true')).toBe('"true"');
    expect(formatValue(2)).toBe('2');
    expect(parseValueList([formatValue('a, b'), formatValue('1.5'), formatValue(3)].join(', '))).toEqual([
      'a, b',
      '1.5',
      3
    ]);
  });
});
