// Exact decimal ↔ integer conversion: prices and quantities never touch binary floating point.
import fc from 'fast-check';
import { FieldError } from '../../domain/errors';
import {
  formatScaled,
  formatUnits,
  parseDecimal,
  toUnits,
  unitSize,
} from '../../domain/fixedPoint';

const cent = unitSize('0.01');
const satoshiStep = unitSize('0.00001');
const price = (input: unknown) => toUnits(input, cent, 'price', 'INVALID_PRICE', '0.01');

function fieldError(fn: () => unknown): FieldError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FieldError) return err;
    throw err;
  }
  throw new Error('expected a FieldError');
}

describe('parseDecimal', () => {
  test.each([
    ['12.50', 125n, 1],
    ['0.000', 0n, 0],
    ['007', 7n, 0],
    [' 3.25 ', 325n, 2],
  ])('%s → %s × 10^-%s', (text, units, scale) => {
    expect(parseDecimal(text, 'x', 'BAD')).toEqual({ units, scale });
  });

  test('JSON numbers are read through their shortest round-trip form, exponents included', () => {
    expect(parseDecimal(1e-7, 'x', 'BAD')).toEqual({ units: 1n, scale: 7 });
    expect(parseDecimal(1.5e-7, 'x', 'BAD')).toEqual({ units: 15n, scale: 8 });
    expect(parseDecimal(1e21, 'x', 'BAD')).toEqual({ units: 10n ** 21n, scale: 0 });
  });

  test.each(['-1', '1e5', '.5', '1.', '1,5', '', 'abc', '+1'])('%j is rejected', (text) => {
    expect(fieldError(() => parseDecimal(text, 'price', 'INVALID_PRICE'))).toMatchObject({
      code: 'INVALID_PRICE',
      field: 'price',
    });
  });

  test.each([NaN, Infinity, -1, null, true, {}])('%p is rejected', (value) => {
    expect(fieldError(() => parseDecimal(value, 'quantity', 'INVALID_QUANTITY')).code).toBe(
      'INVALID_QUANTITY',
    );
  });
});

describe('toUnits', () => {
  test('decimal strings and JSON numbers become exact integer ticks', () => {
    expect(price('100.50')).toBe(10050);
    expect(price(100.5)).toBe(10050);
    expect(price(100)).toBe(10000);
    expect(price('0.30')).toBe(30);
    expect(toUnits('0.00001', satoshiStep, 'quantity', 'INVALID_QUANTITY', '0.00001')).toBe(1);
  });

  test('0.1 + 0.2 never drifts to 0.3: it arrives as 0.30000000000000004 and is off-tick', () => {
    const error = fieldError(() => price(0.1 + 0.2));
    expect(error).toMatchObject({ code: 'INVALID_PRICE', field: 'price' });
    expect(error.message).toBe('price must be a multiple of 0.01');
  });

  test('a value off the step is rejected naming the field', () => {
    expect(
      fieldError(() => toUnits('0.000015', satoshiStep, 'quantity', 'INVALID_QUANTITY', '0.00001')),
    ).toMatchObject({ code: 'INVALID_QUANTITY', field: 'quantity' });
  });

  test('a value beyond a safe integer of units is rejected', () => {
    expect(fieldError(() => price('90071992547409.92')).message).toBe('price is too large');
    expect(price('90071992547409.91')).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('round trip: formatUnits then toUnits gives the integer back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (units) => {
        const text = formatUnits(units, satoshiStep);
        expect(toUnits(text, satoshiStep, 'q', 'BAD', '0.00001')).toBe(units);
      }),
    );
  });
});

describe('formatting', () => {
  test('units × size with the size scale', () => {
    expect(formatUnits(1250, cent)).toBe('12.50');
    expect(formatUnits(5, cent)).toBe('0.05');
    expect(formatUnits(0, satoshiStep)).toBe('0.00000');
    expect(formatUnits(3, unitSize('5'))).toBe('15');
    expect(formatScaled(-1250n, 2)).toBe('-12.50');
  });

  test('a zero unit size is a configuration error', () => {
    expect(() => unitSize('0.00')).toThrow(/unit size must be positive/);
  });
});
