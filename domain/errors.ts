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
