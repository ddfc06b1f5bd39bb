import type { z } from 'zod';

/** A rejected input: an enumerated code, a human message, and the field it concerns. */
export class FieldError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }

  toJSON(): { code: string; msg: string; field?: string } {
    return {
      code: this.code,
      msg: this.message,
      ...(this.field !== undefined && { field: this.field }),
    };
  }
}

/** How one input's zod issues read as field errors. */
export interface FieldErrorCodes {
  /** The error code of an issue with each top-level field. */
  byField: Record<string, string>;
  /** The code of an issue with any other field, or with the whole input. */
  otherwise: string;
  /** The field an issue with the whole input names (none when unset). */
  wholeInput?: string;
  /** Added to the message of an unknown field, e.g. which fields there are. */
  knownFields?: string;
}

/** The first zod issue as a FieldError naming the field and the rule. */
export function fieldErrorFromZod(error: z.ZodError, codes: FieldErrorCodes): FieldError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const known = codes.knownFields ? ` (${codes.knownFields})` : '';
    return new FieldError('UNKNOWN_FIELD', `unknown field "${key}"${known}`, key);
  }
  const path = issue?.path.map(String).join('.') ?? '';
  const field = path || codes.wholeInput;
  const name = field ?? '';
  const code = codes.byField[String(issue?.path[0] ?? '')] ?? codes.otherwise;
  if (!issue) return new FieldError(code, `${name}: invalid`, field);
  const missing = issue.code === 'invalid_type' && issue.message.includes('undefined');
  return new FieldError(code, missing ? `${name} is required` : `${name}: ${issue.message}`, field);
}
