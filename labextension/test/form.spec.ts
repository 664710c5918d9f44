import { defaultText, floatNames, inputKind, parametersJson, parameterText, readInput, valuesError } from '../src/form';
import { hintWithButtons, uiHint } from '../src/format';
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

describe('batch form validation and typed values', () => {
  const [nRows, C, label, fast, , , grid] = parseParameters({
    parameters: [
      { name: 'n_rows', default: 2000, default_source: '2000', type: 'int' },
      { name: 'C', default: 1.0, default_source: '1.0', type: 'float' },
      { name: 'label', default: 'churn', type: 'str' },
      { name: 'fast', default: false, type: 'bool' },
      { name: 'cols', default: ['a'], type: 'list' },
      { name: 'maybe', default: null, type: null },
      { name: 'grid', default: null, default_source: 'np.arange(3)', literal: false, type: 'unknown' }
    ]
  });

  it('marks values that do not fit the parameter, as the server would refuse them', () => {
    expect(valuesError(C, [0.1, 1])).toBe('');
    expect(valuesError(C, [0.1, 'abc'])).toBe('abc: C takes a number');
    expect(valuesError(nRows, [300, 2.5])).toBe('2.5: n_rows takes a whole number');
    expect(valuesError(fast, [true, 'yes please'])).toMatch(/true or false/);
    expect(valuesError(label, [1])).toMatch(/quote it/);
    expect(valuesError(label, [null])).toBe('');
    // an expression default: anything goes
    expect(valuesError(grid, ['x', 1])).toBe('');
  });

  it('keeps the decimal point of float parameters in the JSON sent', () => {
    const floats = floatNames([nRows, C]);
    expect(parametersJson({ C: [1, 0.5], n_rows: [600] }, floats)).toBe('{"C": [1.0, 0.5], "n_rows": [600]}');
    expect(JSON.parse(parametersJson([{ C: 2 }], floats))).toEqual([{ C: 2 }]);
    expect(parametersJson({ C: 1 }, floats)).toBe('{"C": 1.0}');
    expect(parameterText(1, 'float')).toBe('1.0');
    expect(parameterText(1, 'int')).toBe('1');
  });

  it('names the button where the core names a command', () => {
    expect(uiHint('run `nbprod export`')).toBe('press Export in the Production panel');
    expect(uiHint('fix the findings above, then run `nbprod push` again')).toBe('fix the findings above, then press Check & Push again');
    expect(uiHint('or overwrite them with `nbprod export --force`; then push again')).toBe('or press Force Export; then push again');
    expect(uiHint('run `nbprod deps --add` (adds pandas)')).toBe('press Add dependencies (adds pandas)');
  });

  it("names the panel's buttons for an error's remedies", () => {
    // the hint of a hand-edited refusal (nbprod/errors.py HandEditedError)
    expect(hintWithButtons('pull the edits into the notebook with a sync, or overwrite them with a forced export', ['sync', 'force_export'])).toBe(
      'pull the edits into the notebook with a sync, or overwrite them with a forced export: press Pull edits into notebook or Force Export in the Production panel'
    );
    // a remedy without a button adds nothing; a hint that names the button is not repeated
    expect(hintWithButtons('set the project up first', ['init'])).toBe('set the project up first');
    expect(hintWithButtons('run `nbprod export --force`', ['force_export'])).toBe('press Force Export');
    expect(hintWithButtons(null, ['export'])).toBe('press Export in the Production panel');
  });
});
