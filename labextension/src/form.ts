/**
 * The run form's values: which input a parameter gets, the text of its
 * default, and reading typed text back into the JSON value sent.
 */
import { InputKind, Parameter } from './wire';

export function inputKind(type: string): InputKind {
  switch (type) {
    case 'int':
    case 'float':
    case 'bool':
    case 'str':
      return type;
    default:
      return 'json';
  }
}

/**
 * Read a value typed in the run form into the JSON value sent to the
 * server. Returns an error message instead when it cannot be read.
 */
export function readInput(kind: InputKind, text: string | boolean): { value?: unknown; error?: string } {
  if (kind === 'bool') {
    return { value: Boolean(text) };
  }
  const raw = String(text);
  if (kind === 'str') {
    return { value: raw };
  }
  const trimmed = raw.trim();
  if (kind === 'int') {
    return /^[-+]?\d+$/.test(trimmed)
      ? { value: parseInt(trimmed, 10) }
      : { error: `${JSON.stringify(raw)} is not a whole number` };
  }
  if (kind === 'float') {
    const value = Number(trimmed);
    return trimmed !== '' && isFinite(value)
      ? { value }
      : { error: `${JSON.stringify(raw)} is not a number` };
  }
  try {
    return { value: JSON.parse(trimmed) };
  } catch {
    return { error: `${JSON.stringify(raw)} is not valid JSON` };
  }
}

/** The text a parameter's default shows in the run form. */
export function defaultText(parameter: Parameter): string {
  const kind = inputKind(parameter.type);
  if (!parameter.literal) {
    // an expression: the field stays empty (placeholder: the expression)
    return '';
  }
  const source = parameter.default_source.trim();
  if ((kind === 'int' || kind === 'float') && /^[-+]?(\d[\d_]*)?\.?\d*(e[-+]?\d+)?$/i.test(source) && source) {
    // as written: 1.0 stays 1.0, 1e3 stays 1e3
    return source.replace(/_/g, '');
  }
  if (kind === 'str') {
    return typeof parameter.default === 'string' ? parameter.default : String(parameter.default ?? '');
  }
  if (kind === 'bool') {
    return parameter.default ? 'true' : 'false';
  }
  if (kind === 'float' && typeof parameter.default === 'number' && Number.isInteger(parameter.default)) {
    // JSON lost the decimal point
    return parameter.default.toFixed(1);
  }
  return JSON.stringify(parameter.default ?? null);
}
