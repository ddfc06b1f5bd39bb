// Accounts as users and operators see them: balances as decimal strings of every configured asset,
// deposits applied once per id, and the local stack's opening grant. The ledger (ledger/) keeps
// the integers; this module turns them into the API's words.
import { FieldError } from '../domain/errors';
import { formatAmount, parseAmount, type Assets } from '../domain/assets';
import type { Balance, Ledger, LedgerResult } from '../ledger/ledger';

/** One asset of an account on the wire. */
export interface AccountBalance {
  asset: string;
  free: string;
  locked: string;
}

/** The changeId of the local stack's opening grant: once per user. */
export const grantChangeId = 'grant:open';

export interface Accounts {
  /** Every configured asset, zeros included, in the order of config/assets.json. */
  status(userID: string): Promise<{ balances: AccountBalance[] }>;
  /** Credits `amount` of `asset` once per `depositId`; a repeat answers the same (ledger units). */
  deposit(
    userID: string,
    asset: string,
    amount: string,
    depositId: string,
  ): Promise<{ repeated: boolean; seq: number; balances: Balance[] }>;
  /** The opening grant (local stack only), once per user. */
  grant(userID: string, amounts: ReadonlyMap<string, bigint>): Promise<void>;
}

/** Ledger balances (integers) as the API writes them. */
export function toAccountBalances(assets: Assets, balances: Balance[]): AccountBalance[] {
  return balances.map((b) => {
    const asset = assets.get(b.asset) ?? { name: b.asset, decimals: 0 };
    return {
      asset: b.asset,
      free: formatAmount(asset, b.free),
      locked: formatAmount(asset, b.locked),
    };
  });
}

export function createAccounts(deps: { ledger: Ledger; assets: Assets }): Accounts {
  const { ledger, assets } = deps;
  const wire = (balances: Balance[]): AccountBalance[] => toAccountBalances(assets, balances);

  const assetOf = (name: string) => {
    const asset = assets.get(name);
    if (!asset) {
      throw new FieldError(
        'UNKNOWN_ASSET',
        `unknown asset "${name}"; known: ${[...assets.keys()].join(', ')}`,
        'asset',
      );
    }
    return asset;
  };

  const applied = (
    result: LedgerResult,
  ): { repeated: boolean; seq: number; balances: Balance[] } => {
    if (!result.applied) throw new Error(`ledger refused a credit: ${result.reason}`);
    return { repeated: result.repeated, seq: result.seq, balances: result.balances };
  };

  return {
    async status(userID) {
      const held = new Map((await ledger.balances(userID)).map((b) => [b.asset, b]));
      const all = [...assets.keys()].map(
        (asset) => held.get(asset) ?? { asset, free: 0n, locked: 0n },
      );
      // An asset no longer configured still shows while the account has some of it.
      for (const b of held.values()) if (!assets.has(b.asset)) all.push(b);
      return { balances: wire(all) };
    },

    async deposit(userID, asset, amount, depositId) {
      const units = parseAmount(assetOf(asset), amount, 'amount', 'INVALID_AMOUNT');
      return applied(
        await ledger.apply({
          userID,
          changeId: `deposit:${depositId}`,
          kind: 'deposit',
          ref: depositId,
          balances: [{ asset, free: units, locked: 0n }],
        }),
      );
    },

    async grant(userID, amounts) {
      if (amounts.size === 0) return;
      applied(
        await ledger.apply({
          userID,
          changeId: grantChangeId,
          kind: 'grant',
          ref: 'opening-grant',
          balances: [...amounts].map(([asset, units]) => ({ asset, free: units, locked: 0n })),
        }),
      );
    },
  };
}

/**
 * The opening grant from its setting: `USDT=100000,BTC=10,ETH=100` (empty: none). Throws naming
 * the part that does not read.
 */
export function parseGrant(text: string, assets: Assets): Map<string, bigint> {
  const grant = new Map<string, bigint>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name = '', amount = ''] = part.split('=');
    if (!assets.has(name)) {
      throw new Error(
        `ACCOUNT_GRANT: "${part}" names no configured asset (${[...assets.keys()].join(', ')})`,
      );
    }
    grant.set(
      name,
      parseAmount(assets.get(name)!, amount, `ACCOUNT_GRANT ${name}`, 'INVALID_CONFIG'),
    );
  }
  return grant;
}
