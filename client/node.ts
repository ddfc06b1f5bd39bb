// The trading client in Node: client/tradingClient.ts with `ws` as its WebSocket, which sends the
// token as a header and tells a refused upgrade (HTTP status and body) from a network error.
import WebSocket from 'ws';
import * as core from './tradingClient';

export {
  ClientClosedError,
  ConnectRefusedError,
  type Answer,
  type BackoffOptions,
  type CloseInfo,
  type ConnectOptions,
  type RateLimit,
  type ReconnectOptions,
} from './tradingClient';

export const openWithWs: core.OpenSocket = (url, init, events) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: init.headers, handshakeTimeout: init.timeoutMs });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        reject(new core.ConnectRefusedError(res.statusCode ?? 0, Buffer.concat(chunks).toString()));
        ws.terminate();
      });
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.on('error', () => undefined); // the close event follows
      ws.on('message', (data: Buffer) => events.message(data.toString('utf8')));
      ws.once('close', (code, reason) => events.close(code, reason.toString()));
      resolve({
        send: (data) => ws.send(data),
        close: (code) => ws.close(code),
        terminate: () => ws.terminate(),
      });
    });
  });

/** A TradingClient that connects with `ws` unless told otherwise. */
export class TradingClient extends core.TradingClient {
  static override async connect(
    url: string,
    options: core.ConnectOptions & { openSocket?: core.OpenSocket } = {},
  ): Promise<TradingClient> {
    const client = new TradingClient(url, {
      ...options,
      openSocket: options.openSocket ?? openWithWs,
    });
    await client.start();
    return client;
  }
}
