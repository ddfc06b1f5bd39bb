import { parseMarkets, type Markets } from '../domain/markets';
import marketsJson from './markets.json';

/** The configured markets (config/markets.json), validated at load. */
export const markets: Markets = parseMarkets(marketsJson);
