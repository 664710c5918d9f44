import { defaultText, inputKind, readInput } from '../src/form';
import { parseParameters } from '../src/parse';

describe('parameters and the run form', () => {
  const parameters = parseParameters({
    notebook: 'notebooks/02_train.ipynb',
    parameters: [
      { name: 'n_rows', default: 2000, type: 'int', comment: 'customers to generate' },
      { name: 'C', default: 1.0, type: 'float', comment: '' },
      { name: 'label', default: 'churn', type: 'str', comment: '' },
      { name: 'fast', default: false, type: 'bool', comment: '' },
      { name: 'cols', default: ['a', 'b'], type: 'list', comment: '' },
      { name: 'big', default: 1000, default_source: '1_000', literal: true, type: 'int', comment: '' },
      { name: 'grid', default: null, default_source: 'np.arange(3)', literal: false, type: 'unknown', comment: '' },
      { default: 1 }
    ]
  });

  it('keeps named parameters with their types', () => {
    expect(parameters.map(p => p.name)).toEqual(['n_rows', 'C', 'label', 'fast', 'cols', 'big', 'grid']);
    expect(parameters.map(p => inputKind(p.type))).toEqual(['int', 'float', 'str', 'bool', 'json', 'int', 'json']);
    expect(parameters[6]).toMatchObject({ literal: false, default_source: 'np.arange(3)' });
  });

  it('shows defaults as typed text (1.0 stays a float)', () => {
    expect(parameters.map(defaultText)).toEqual(['2000', '1.0', 'churn', 'false', '["a","b"]', '1000', '']);
  });

  it('reads typed values and refuses bad ones', () => {
    expect(readInput('int', ' 300 ')).toEqual({ value: 300 });
    expect(readInput('int', '3.5').error).toMatch(/whole number/);
    expect(readInput('float', '0.5')).toEqual({ value: 0.5 });
    expect(readInput('float', 'abc').error).toMatch(/not a number/);
    expect(readInput('float', '').error).toMatch(/not a number/);
    expect(readInput('str', ' x ')).toEqual({ value: ' x ' });
    expect(readInput('bool', true)).toEqual({ value: true });
    expect(readInput('json', '[1, 2]')).toEqual({ value: [1, 2] });
    expect(readInput('json', '[1,').error).toMatch(/JSON/);
  });
});
