// Exact decimal ↔ integer conversion. Prices become integer ticks and quantities integer steps at
// the edge; matching and money math never see binary floating point.
import { FieldError } from './errors';

const decimalPattern = /^(\d+)(?:\.(\d+))?$/;

/** A non-negative decimal as digits and scale: "12.50" → { units: 1250n, scale: 2 }. */
export interface Decimal {
  units: bigint;
  scale: number;
}

/**
 * Reads a JSON number or a decimal string exactly. A JSON number is read through its shortest
 * round-trip form, so `0.1 + 0.2` arrives as 0.30000000000000004 and is rejected as off-tick,
 * never silently rounded to 0.3.
 */
export function parseDecimal(input: unknown, field: string, code: string): Decimal {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input))
      throw new FieldError(code, `${field} must be a finite number`, field);
    text = numberToPlainString(input);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    throw new FieldError(code, `${field} must be a number or a decimal string`, field);
  }
  if (text.startsWith('-')) throw new FieldError(code, `${field} must be positive`, field);
  const match = decimalPattern.exec(text);
  if (!match)
    throw new FieldError(code, `${field} must be a plain decimal like "0.5", got "${text}"`, field);
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return { units: BigInt(whole + fraction), scale: fraction.length };
}

/** Number → plain decimal text without exponent (1e-7 → "0.0000001"), exactly as JS prints it. */
function numberToPlainString(value: number): string {
  const text = String(value);
  const exp = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exp) return text;
  const [, sign, lead, rest = '', power] = exp;
  const digits = `${lead}${rest}`;
  const shift = Number(power);
  if (shift < 0) return `${sign}0.${'0'.repeat(-shift - 1)}${digits}`;
  return `${sign}${digits}${'0'.repeat(Math.max(0, shift - rest.length))}`;
}

/** Parses a unit size from config ("0.01") into a Decimal; throws on malformed config. */
export function unitSize(text: string): Decimal {
  const size = parseDecimal(text, 'unit size', 'INVALID_CONFIG');
  if (size.units === 0n) throw new Error(`unit size must be positive, got "${text}"`);
  return size;
}

/**
 * value / size as an exact integer. Throws `code` naming `field` when the value is not a whole
 * multiple of size or does not fit a safe integer.
 */
export function toUnits(
  input: unknown,
  size: Decimal,
  field: string,
  code: string,
  sizeText: string,
): number {
  const value = parseDecimal(input, field, code);
  const scale = Math.max(value.scale, size.scale);
  const numerator = value.units * 10n ** BigInt(scale - value.scale);
  const denominator = size.units * 10n ** BigInt(scale - size.scale);
  if (numerator % denominator !== 0n) {
    throw new FieldError(code, `${field} must be a multiple of ${sizeText}`, field);
  }
  const units = numerator / denominator;
  if (units > BigInt(Number.MAX_SAFE_INTEGER))
    throw new FieldError(code, `${field} is too large`, field);
  return Number(units);
}

/** units × size as a decimal string with the size's scale: (1250, "0.01") → "12.50". */
export function formatUnits(units: number | bigint, size: Decimal): string {
  return formatScaled(BigInt(units) * size.units, size.scale);
}

/** An integer of 10^-scale units as a decimal string: (1250n, 2) → "12.50". */
export function formatScaled(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
