// `npm run account -- …`: the operators' tool for accounts, straight on the ledger store
// (LEDGER_REDIS_URL).
//
//   npm run account -- deposit --user alice USDT 1000 --id dep-1   credit once per id
//   npm run account -- balance --user alice                        free and locked per asset
//   npm run account -- history --user alice [--count 50]           the journal, oldest first
//   npm run account -- check [--user alice --user bob]             the ledger's consistency
import { Command } from 'commander';
import { toAccountBalances } from '../accounts/accounts';
import { accountPosition, createPushAccountPosition } from '../accounts/positionPush';
import { processAccounts } from '../accounts/process';
import { serviceLogger } from '../platform/log';
import { assets } from '../config/markets';
import { formatBalance } from '../client/format';
import { formatAmount } from '../domain/assets';
import { checkLedger } from '../ledger/check';
import { processLedger } from '../ledger/connection';
import type { JournalEntry } from '../ledger/ledger';
import { closeClients } from '../platform/lazy';

const out = (line: string): void => void process.stdout.write(`${line}\n`);

const amount = (asset: string, units: bigint): string => {
  const a = assets.get(asset);
  return a ? formatAmount(a, units) : units.toString();
};

/** One journal line: when, what, why, and each asset's free/locked before → after. */
function formatJournalEntry(e: JournalEntry): string {
  const moves = e.changes.map(
    (c) =>
      `${c.asset} free ${amount(c.asset, c.freeBefore)} → ${amount(c.asset, c.freeAfter)}, ` +
      `locked ${amount(c.asset, c.lockedBefore)} → ${amount(c.asset, c.lockedAfter)}`,
  );
  return `${new Date(e.time).toISOString()}  ${e.kind.padEnd(10)} ${e.ref}  ${moves.join('; ')}`;
}

const program = new Command('account')
  .description('Operate on user accounts: deposits, balances, the journal')
  .option('--json', 'print JSON instead of text');

program
  .command('deposit')
  .description('credit an amount of an asset to a user, once per deposit id')
  .requiredOption('-u, --user <userID>', 'the account')
  .requiredOption('--id <depositId>', 'the deposit id: a repeat with the same id changes nothing')
  .argument('<asset>', 'e.g. USDT')
  .argument('<amount>', 'a decimal, e.g. 1000 or 0.5')
  .action(async (asset: string, value: string, opts: { user: string; id: string }) => {
    const accounts = await processAccounts();
    const result = await accounts.deposit(opts.user, asset, value, opts.id);
    if (!result.repeated) {
      // Connected clients see the new balance at once.
      await createPushAccountPosition({
        log: serviceLogger('account').child({}, { level: 'warn' }),
      })(accountPosition(assets, opts.user, result, Date.now()));
    }
    const balances = toAccountBalances(assets, result.balances);
    if (program.opts<{ json?: boolean }>().json) {
      return out(JSON.stringify({ repeated: result.repeated, seq: result.seq, balances }));
    }
    out(
      result.repeated
        ? `deposit ${opts.id} was already applied; nothing changed`
        : `deposited ${value} ${asset} to ${opts.user} (${opts.id})`,
    );
    for (const b of balances) out(`${b.asset}: free ${b.free}, locked ${b.locked}`);
  });

program
  .command('balance')
  .description("a user's free and locked amount of every asset")
  .requiredOption('-u, --user <userID>', 'the account')
  .action(async (opts: { user: string }) => {
    const accounts = await processAccounts();
    const status = await accounts.status(opts.user);
    if (program.opts<{ json?: boolean }>().json) return out(JSON.stringify(status));
    for (const b of status.balances) out(formatBalance(b));
  });

program
  .command('history')
  .description("a user's journal: every balance change, what it was about, before and after")
  .requiredOption('-u, --user <userID>', 'the account')
  .option('-n, --count <n>', 'at most this many entries', (v) => Number.parseInt(v, 10))
  .action(async (opts: { user: string; count?: number }) => {
    const entries = await (await processLedger()).journal(opts.user, { count: opts.count });
    if (program.opts<{ json?: boolean }>().json) {
      return out(
        JSON.stringify(entries, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      );
    }
    if (entries.length === 0) out(`no entries for ${opts.user}`);
    for (const e of entries) out(formatJournalEntry(e));
  });

program
  .command('check')
  .description(
    'check the ledger: no negative amount, locked = holds, balances = what came in − what went out',
  )
  .option(
    '-u, --user <userID...>',
    'only these accounts (they must have traded only among themselves)',
  )
  .action(async (opts: { user?: string[] }) => {
    const check = await checkLedger(await processLedger(), { users: opts.user });
    if (program.opts<{ json?: boolean }>().json) {
      out(JSON.stringify(check, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    } else {
      out(`${check.users} accounts`);
      for (const t of check.totals) {
        out(
          `${t.asset.padEnd(6)} free ${amount(t.asset, t.free)}  locked ${amount(t.asset, t.locked)}  ` +
            `came in ${amount(t.asset, t.cameIn)}  went out ${amount(t.asset, t.wentOut)}`,
        );
      }
      for (const p of check.problems) out(`problem: ${p}`);
      out(check.ok ? 'consistent' : `${check.problems.length} problems`);
    }
    if (!check.ok) process.exitCode = 2;
  });

program
  .parseAsync()
  .catch((err: unknown) => {
    process.stderr.write(`account: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void closeClients());
