// The ledger's rules as plain TypeScript (bigint arithmetic), for the property test to compare the
// Lua script against: per user, exactly once per changeId, all or nothing, closed holds' remaining
// back to free, the first refusal in the script's order (each asset free then locked, releases
// counted, then each hold delta: asset, then remaining), a value past int64 an error that records
// nothing.
import type {
  Balance,
  HoldRelease,
  JournalChange,
  JournalEntry,
  JournalHold,
  LedgerChange,
  LedgerResult,
} from '../../ledger/ledger';

const int64Max = (1n << 63n) - 1n;

export class ReferenceOverflowError extends Error {
  override name = 'ReferenceOverflowError';
}

export type StoredResult = LedgerResult extends infer R
  ? R extends LedgerResult
    ? Omit<R, 'repeated'>
    : never
  : never;

/** A journal entry without what Redis assigns (stream id, time). */
export type ReferenceJournalEntry = Omit<JournalEntry, 'id' | 'time'>;

interface UserState {
  balances: Map<string, { free: bigint; locked: bigint }>;
  holds: Map<string, { asset: string; amount: bigint }>;
  applied: Map<string, StoredResult>;
  seq: number;
  journal: ReferenceJournalEntry[];
}

export class ReferenceLedger {
  private readonly users = new Map<string, UserState>();

  private user(userID: string): UserState {
    let u = this.users.get(userID);
    if (!u) {
      u = { balances: new Map(), holds: new Map(), applied: new Map(), seq: 0, journal: [] };
      this.users.set(userID, u);
    }
    return u;
  }

  apply(change: LedgerChange): LedgerResult {
    const u = this.user(change.userID);
    const stored = u.applied.get(change.changeId);
    if (stored) return { ...stored, repeated: true };

    const deltas = new Map<string, { free: bigint; locked: bigint }>();
    for (const d of change.balances) {
      const sum = deltas.get(d.asset);
      if (sum) {
        sum.free += d.free;
        sum.locked += d.locked;
      } else deltas.set(d.asset, { free: d.free, locked: d.locked });
    }
    const holdDeltas = new Map<string, { asset: string; amount: bigint; mismatch: boolean }>();
    for (const h of change.holds ?? []) {
      const sum = holdDeltas.get(h.holdId);
      if (sum) {
        sum.amount += h.amount;
        sum.mismatch ||= sum.asset !== h.asset;
      } else holdDeltas.set(h.holdId, { asset: h.asset, amount: h.amount, mismatch: false });
    }
    // Holds before balances: the closes' releases count in the balance checks.
    const holdRows: JournalHold[] = [];
    const holdRow = new Map<string, JournalHold>();
    for (const [holdId, h] of holdDeltas) {
      const existing = u.holds.get(holdId);
      h.mismatch ||= existing !== undefined && existing.asset !== h.asset;
      const before = existing?.amount ?? 0n;
      const row = { holdId, asset: h.asset, before, after: before + h.amount };
      if (row.after > int64Max) throw new ReferenceOverflowError(holdId);
      holdRows.push(row);
      holdRow.set(holdId, row);
    }
    // A close gives back what is left after the change's own delta; a mismatched or overdrawn
    // hold is refused below and gives back nothing.
    const released: HoldRelease[] = [];
    for (const holdId of change.closeHolds ?? []) {
      let row = holdRow.get(holdId);
      const existing = u.holds.get(holdId);
      if (!row && existing && existing.amount > 0n) {
        row = { holdId, asset: existing.asset, before: existing.amount, after: existing.amount };
        holdRows.push(row);
        holdRow.set(holdId, row);
      }
      if (!row || holdDeltas.get(holdId)?.mismatch || row.after <= 0n) continue;
      released.push({ holdId, asset: row.asset, amount: row.after });
      const d = deltas.get(row.asset) ?? { free: 0n, locked: 0n };
      deltas.set(row.asset, { free: d.free + row.after, locked: d.locked - row.after });
      row.after = 0n;
    }

    const rows: JournalChange[] = [];
    let refusal: StoredResult | undefined;
    for (const [asset, d] of deltas) {
      const before = u.balances.get(asset) ?? { free: 0n, locked: 0n };
      const row = {
        asset,
        freeBefore: before.free,
        freeAfter: before.free + d.free,
        lockedBefore: before.locked,
        lockedAfter: before.locked + d.locked,
      };
      if (row.freeAfter > int64Max || row.lockedAfter > int64Max)
        throw new ReferenceOverflowError(asset);
      rows.push(row);
      for (const field of ['free', 'locked'] as const) {
        const after = field === 'free' ? row.freeAfter : row.lockedAfter;
        if (!refusal && after < 0n)
          refusal = {
            applied: false,
            reason: 'INSUFFICIENT_BALANCE',
            asset,
            field,
            available: before[field],
            needed: -d[field],
          };
      }
    }
    for (const [holdId, h] of holdDeltas) {
      if (refusal) break;
      const row = holdRow.get(holdId)!;
      if (h.mismatch) refusal = { applied: false, reason: 'HOLD_ASSET_MISMATCH', holdId };
      else if (row.after < 0n)
        refusal = {
          applied: false,
          reason: 'HOLD_INSUFFICIENT',
          holdId,
          available: row.before,
          needed: -h.amount,
        };
    }

    if (refusal) {
      u.applied.set(change.changeId, refusal);
      return { ...refusal, repeated: false };
    }
    for (const row of rows) {
      if (row.freeAfter === 0n && row.lockedAfter === 0n) u.balances.delete(row.asset);
      else u.balances.set(row.asset, { free: row.freeAfter, locked: row.lockedAfter });
    }
    for (const h of holdRows) {
      if (h.after === 0n) u.holds.delete(h.holdId);
      else u.holds.set(h.holdId, { asset: h.asset, amount: h.after });
    }
    u.seq += 1;
    u.journal.push({
      changeId: change.changeId,
      kind: change.kind,
      ref: change.ref,
      changes: rows,
      holds: holdRows,
    });
    const result: StoredResult = {
      applied: true,
      seq: u.seq,
      balances: rows.map((r) => ({ asset: r.asset, free: r.freeAfter, locked: r.lockedAfter })),
      released,
    };
    u.applied.set(change.changeId, result);
    return { ...result, repeated: false };
  }

  /** Every asset with a nonzero free or locked, sorted by asset (as Ledger.balances). */
  balances(userID: string): Balance[] {
    return [...(this.users.get(userID)?.balances ?? new Map<string, Balance>())]
      .map(([asset, b]) => ({ asset, free: b.free, locked: b.locked }))
      .sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0));
  }

  holds(userID: string): Map<string, { asset: string; amount: bigint }> {
    return new Map(this.users.get(userID)?.holds ?? []);
  }

  journal(userID: string): ReferenceJournalEntry[] {
    return this.users.get(userID)?.journal ?? [];
  }

  seq(userID: string): number {
    return this.users.get(userID)?.seq ?? 0;
  }
}
