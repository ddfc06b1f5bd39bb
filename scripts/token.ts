// `npm run token -- user1 [--expires 24h]`: prints a local HS256 client token (JWT, sub = userID)
// signed with JWT_SECRET, or the local development secret when it is unset.
import { Command } from 'commander';
import { signToken } from '../gateway/auth';

const program = new Command('token')
  .description('Mint a client token for the WebSocket API (HS256 JWT whose sub is the userID)')
  .argument('<userID>', 'the user the token speaks for')
  .option('-e, --expires <span>', 'lifetime: a time span like 15m, 24h, 7d', '24h')
  .action(async (userID: string, opts: { expires: string }) => {
    const span = /^\d+$/.test(opts.expires) ? Number(opts.expires) : opts.expires;
    process.stdout.write(`${await signToken(userID, { expiresIn: span })}\n`);
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
