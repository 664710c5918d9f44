import { isRole, roleOf, ROLES, sameTags, tagList, withRole } from '../src/roles';

describe('roleOf', () => {
  it('is none without role tags', () => {
    expect(roleOf(undefined)).toBe('none');
    expect(roleOf([])).toBe('none');
    expect(roleOf(['hide-input', 'slow'])).toBe('none');
    expect(roleOf('export')).toBe('none');
  });

  it('finds the role tag among others', () => {
    expect(roleOf(['slow', 'test'])).toBe('test');
    expect(roleOf(['parameters'])).toBe('parameters');
  });

  it('prefers export, then test, then parameters when several are set', () => {
    expect(roleOf(['test', 'export'])).toBe('export');
    expect(roleOf(['parameters', 'test'])).toBe('test');
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

  it('round-trips through roleOf for every role', () => {
    for (const role of ROLES) {
      expect(roleOf(withRole(['export', 'x'], role))).toBe(role);
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
