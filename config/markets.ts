import { marketAssets, parseAssets, type Assets, type MarketAssets } from '../domain/assets';
import { parseMarkets, type Markets } from '../domain/markets';
import assetsJson from './assets.json';
import marketsJson from './markets.json';

/** The configured markets (config/markets.json), validated at load. */
export const markets: Markets = parseMarkets(marketsJson);

/** The assets' precision (config/assets.json); every market's two assets must be there. */
export const assets: Assets = parseAssets(assetsJson);

/** Each market's ticks and steps in its assets' units, checked exact at load. */
export const assetsOfMarket: ReadonlyMap<string, MarketAssets> = new Map(
  [...markets.values()].map((market) => [market.name, marketAssets(market, assets)]),
);
