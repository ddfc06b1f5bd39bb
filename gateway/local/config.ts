// Settings of the local API Gateway twin, from the environment with API Gateway's own limits as
// defaults (tests shorten them).
import { positiveInt } from '../../config/env';

export const apiGatewayLimits = {
  /** API Gateway's WebSocket message payload limit. */
  maxMessageBytes: 128 * 1024,
  /** Idle connection timeout. */
  idleTimeoutMs: 10 * 60 * 1000,
  /** Maximum connection duration. */
  maxConnectionMs: 2 * 60 * 60 * 1000,
} as const;

export interface TwinLimits {
  maxMessageBytes: number;
  idleTimeoutMs: number;
  maxConnectionMs: number;
  /** Per-connection token bucket for inbound frames. */
  rateLimit: { perSecond: number; burst: number };
}

export function twinLimitsFromEnv(): TwinLimits {
  return {
    maxMessageBytes: positiveInt('GATEWAY_MAX_MESSAGE_BYTES', apiGatewayLimits.maxMessageBytes),
    idleTimeoutMs: positiveInt('GATEWAY_IDLE_TIMEOUT_MS', apiGatewayLimits.idleTimeoutMs),
    maxConnectionMs: positiveInt('GATEWAY_MAX_CONNECTION_MS', apiGatewayLimits.maxConnectionMs),
    rateLimit: {
      perSecond: positiveInt('GATEWAY_RATE_LIMIT_PER_SEC', 50),
      burst: positiveInt('GATEWAY_RATE_LIMIT_BURST', 100),
    },
  };
}
