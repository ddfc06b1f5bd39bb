// Where the gateway's Lambda handlers live. Production synthesizes them from gateway/handlers; the
// tests point the same stack at a fixture so they never depend on another folder's progress.
import { existsSync } from 'node:fs';
import path from 'node:path';

export type HandlerEntries = {
  /** `$connect`: records the connection under its user in Redis. */
  connect: string;
  /** `$disconnect`: forgets the connection. */
  disconnect: string;
  /** `$default`: dispatches on the envelope's `method` (order.place, order.cancel, …). */
  default: string;
  /** REQUEST authorizer on `$connect`: verifies the HS256 JWT (header or `?token=`). */
  authorizer: string;
};

export const projectRoot = path.resolve(__dirname, '..');

export function defaultHandlerEntries(root: string = projectRoot): HandlerEntries {
  const at = (name: string): string => path.join(root, 'gateway', 'handlers', `${name}.ts`);
  return {
    connect: at('connect'),
    disconnect: at('disconnect'),
    default: at('default'),
    authorizer: at('authorizer'),
  };
}

/** Throws one error naming every handler file that is missing, so `cdk synth` says what to add. */
export function assertHandlerEntriesExist(entries: HandlerEntries): void {
  const missing = Object.entries(entries)
    .filter(([, file]) => !existsSync(file))
    .map(([route, file]) => `  ${route}: ${path.relative(projectRoot, file)}`);
  if (missing.length > 0) {
    throw new Error(
      `Cannot synthesize: Lambda handler entry file(s) missing (each must export \`handler\`):\n${missing.join('\n')}`,
    );
  }
}
