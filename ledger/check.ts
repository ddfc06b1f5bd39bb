// The ledger's consistency check, for the fault bench and operators: over every user, per asset,
// no negative amount, locked equal to the sum of the user's holds, and the total of all balances
// (the fee account included) equal to what came in minus what went out, by the journals.
import type { Ledger } from './ledger';

export interface AssetTotals {
  asset: string;
  free: bigint;
  locked: bigint;
  /** Σ of every user's holds of the asset. */
  held: bigint;
  /** Credited by deposits and grants, debited by withdrawals, by the journals. */
  cameIn: bigint;
  wentOut: bigint;
}

export interface LedgerCheck {
  ok: boolean;
  users: number;
  totals: AssetTotals[];
  /** Each violation as a sentence naming the user and asset. */
  problems: string[];
}

const inflows = new Set(['deposit', 'grant']);

/**
 * Checks every user of the store, or only `users`: then conservation holds only if no money moved
 * between them and anyone else (a run's users with their own fee account).
 */
export async function checkLedger(
  ledger: Ledger,
  opts: { users?: string[] } = {},
): Promise<LedgerCheck> {
  const totals = new Map<string, AssetTotals>();
  const totalOf = (asset: string): AssetTotals => {
    let t = totals.get(asset);
    if (!t) {
      t = { asset, free: 0n, locked: 0n, held: 0n, cameIn: 0n, wentOut: 0n };
      totals.set(asset, t);
    }
    return t;
  };
  const problems: string[] = [];
  const users = opts.users ?? (await ledger.users());
  for (const userID of users) {
    const heldByAsset = new Map<string, bigint>();
    for (const [holdId, hold] of await ledger.holds(userID)) {
      if (hold.amount < 0n) problems.push(`${userID}: hold ${holdId} is negative (${hold.amount})`);
      heldByAsset.set(hold.asset, (heldByAsset.get(hold.asset) ?? 0n) + hold.amount);
      totalOf(hold.asset).held += hold.amount;
    }
    const balances = await ledger.balances(userID);
    for (const b of balances) {
      const t = totalOf(b.asset);
      t.free += b.free;
      t.locked += b.locked;
      if (b.free < 0n || b.locked < 0n) {
        problems.push(`${userID}: ${b.asset} is negative (free ${b.free}, locked ${b.locked})`);
      }
      const held = heldByAsset.get(b.asset) ?? 0n;
      if (b.locked !== held) {
        problems.push(`${userID}: ${b.asset} locked ${b.locked} but its holds add up to ${held}`);
      }
      heldByAsset.delete(b.asset);
    }
    for (const [asset, held] of heldByAsset) {
      if (held !== 0n) problems.push(`${userID}: holds of ${held} ${asset} with nothing locked`);
    }
    for (const entry of await ledger.journal(userID)) {
      if (!inflows.has(entry.kind) && entry.kind !== 'withdrawal') continue;
      for (const c of entry.changes) {
        const moved = c.freeAfter + c.lockedAfter - (c.freeBefore + c.lockedBefore);
        if (entry.kind === 'withdrawal') totalOf(c.asset).wentOut -= moved;
        else totalOf(c.asset).cameIn += moved;
      }
    }
  }
  const sorted = [...totals.values()].sort((a, b) => a.asset.localeCompare(b.asset));
  for (const t of sorted) {
    const balance = t.free + t.locked;
    const expected = t.cameIn - t.wentOut;
    if (balance !== expected) {
      problems.push(
        `${t.asset}: balances add up to ${balance}, but ${t.cameIn} came in and ${t.wentOut} went out (${balance - expected} unaccounted)`,
      );
    }
  }
  return { ok: problems.length === 0, users: users.length, totals: sorted, problems };
}
