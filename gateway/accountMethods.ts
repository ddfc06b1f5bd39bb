// The account methods behind the $default route: a user's balances and the markets' commission
// rates. Balances come from the ledger (accounts/); nothing here changes money.
import { z } from 'zod';
import type { Accounts } from '../accounts/accounts';
import { fieldErrorFromZod } from '../domain/errors';
import { formatScaled } from '../domain/fixedPoint';
import type { Markets } from '../domain/markets';
import { ApiError } from './envelope';
import type { CallContext, MethodFn } from './methods';
import { ownUser } from './ownUser';

export interface AccountMethodDeps {
  accounts: () => Promise<Accounts>;
  markets: Markets;
}

const ownUserSchema = z.strictObject({ userID: z.string().min(1).max(64).optional() });

function parseOwnUser(params: Record<string, unknown>, ctx: CallContext): void {
  const parsed = ownUserSchema.safeParse(ownUser(params, ctx));
  if (!parsed.success) {
    throw ApiError.from(
      fieldErrorFromZod(parsed.error, { byField: {}, otherwise: 'INVALID_PARAMS' }),
    );
  }
}

/** 1000 ppm → `"0.00100000"`: rates print with 8 places, as Binance's commission rates do. */
const rateText = (ppm: bigint): string => formatScaled(ppm * 100n, 8);

export function accountMethods(
  deps: AccountMethodDeps,
): Record<'account.status' | 'account.commission', MethodFn> {
  return {
    async 'account.status'(params, ctx) {
      parseOwnUser(params, ctx);
      return (await deps.accounts()).status(ctx.userID);
    },

    // eslint-disable-next-line @typescript-eslint/require-await
    async 'account.commission'(params, ctx) {
      parseOwnUser(params, ctx);
      return {
        commissionRates: [...deps.markets.values()].map((m) => ({
          coinID: m.name,
          maker: rateText(m.makerFeePpm),
          taker: rateText(m.takerFeePpm),
        })),
      };
    },
  };
}
