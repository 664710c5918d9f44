import { isRole, plannedRole, ROLES, sameTags, tagList, taggedAs, withRole } from '../src/roles';
import { parsePlan } from '../src/parse';

describe('taggedAs', () => {
  it('is none without role tags', () => {
    expect(taggedAs(undefined, 'none')).toBe(true);
    expect(taggedAs(['hide-input', 'slow'], 'none')).toBe(true);
    expect(taggedAs('export', 'none')).toBe(true);
  });

  it('finds the role tag among others', () => {
    expect(taggedAs(['slow', 'test'], 'test')).toBe(true);
    expect(taggedAs(['parameters'], 'export')).toBe(false);
  });

  it('never picks one of two role tags (the exporter refuses such a cell)', () => {
    expect(taggedAs(['test', 'export'], 'export')).toBe(false);
    expect(taggedAs(['test', 'export'], 'test')).toBe(false);
  });
});

describe('plannedRole', () => {
  const plan = parsePlan({
    cells: [
      { index: 1, cell_id: 'a', role: 'export', module: 'pkg.m' },
      { index: 2, cell_id: 'b', role: 'exporti', module: 'pkg.m' },
      { index: 3, cell_id: 'c', role: 'none', module: null },
      { index: 4, cell_id: 'd', role: 'test', module: null }
    ]
  });

  it('takes the role the server decided, directives and exporti included', () => {
    expect(plannedRole(plan, 'a', 99)).toBe('export');
    expect(plannedRole(plan, 'b', 2)).toBe('exporti');
    expect(plannedRole(plan, 'd', 4)).toBe('test');
    expect(plannedRole(plan, 'c', 3)).toBe('none');
  });

  it('is none for cells the plan does not list; falls back to the index without ids', () => {
    expect(plannedRole(plan, 'zz', 1)).toBe('none');
    const old = parsePlan({ cells: [{ index: 0, role: 'parameters' }] });
    expect(plannedRole(old, null, 0)).toBe('parameters');
  });
});

describe('withRole', () => {
  it('adds the role tag and keeps other tags in order', () => {
    expect(withRole(['slow', 'hide-input'], 'export')).toEqual(['slow', 'hide-input', 'export']);
  });

  it('makes roles exclusive', () => {
    expect(withRole(['export', 'slow', 'test'], 'parameters')).toEqual(['slow', 'parameters']);
  });

  it('none removes all three role tags and nothing else', () => {
    expect(withRole(['export', 'test', 'parameters', 'keep'], 'none')).toEqual(['keep']);
    expect(withRole(undefined, 'none')).toEqual([]);
  });

  it('setting the same role twice is stable and drops duplicates', () => {
    const once = withRole(['a'], 'test');
    expect(withRole(once, 'test')).toEqual(once);
    expect(withRole(['test', 'test', 'a'], 'test')).toEqual(['a', 'test']);
  });

  it('ignores tags that are not strings', () => {
    expect(withRole(['a', 3, null], 'export')).toEqual(['a', 'export']);
    expect(tagList({ tags: 1 })).toEqual([]);
  });

  it('round-trips through taggedAs for every role', () => {
    for (const role of ROLES) {
      expect(taggedAs(withRole(['export', 'x'], role), role)).toBe(true);
    }
  });
});

describe('helpers', () => {
  it('isRole', () => {
    expect(isRole('export')).toBe(true);
    expect(isRole('none')).toBe(true);
    expect(isRole('hide')).toBe(false);
    expect(isRole(1)).toBe(false);
  });

  it('sameTags compares order and content', () => {
    expect(sameTags(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameTags(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameTags(undefined, [])).toBe(true);
  });
});
