// The process's accounts: the configured assets on the shared ledger connection.
import { assets } from '../config/markets';
import { processLedger } from '../ledger/connection';
import { createAccounts, type Accounts } from './accounts';

export const processAccounts = async (): Promise<Accounts> =>
  createAccounts({ ledger: await processLedger(), assets });
