// Client tokens: HS256 JWTs whose `sub` is the userID. Minted locally by `npm run token` and the
// trade CLI; verified by the $connect authorizer (and by $connect itself when no authorizer ran).
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { jwtSecret } from '../config/env';
import { placeOrderParamsSchema } from '../domain/order';
import { secretFromEnv } from '../config/secrets';

const encoder = new TextEncoder();
const key = (secret: string): Uint8Array => encoder.encode(secret);

/** The same rule as `userID` of an order, so every token's subject is a valid order owner. */
const userIdSchema = placeOrderParamsSchema.shape.userID;

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

export interface SignOptions {
  /** A jose time span ("24h", "15m") or seconds; default 24h. */
  expiresIn?: string | number;
  secret?: string;
}

export async function signToken(userID: string, opts: SignOptions = {}): Promise<string> {
  if (!userIdSchema.safeParse(userID).success)
    throw new InvalidTokenError(
      `userID "${userID}" must be 1–64 characters of A–Z, a–z, 0–9, _ . : -`,
    );
  const expiresIn = opts.expiresIn ?? '24h';
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userID)
    .setIssuedAt(now)
    .setExpirationTime(typeof expiresIn === 'number' ? now + expiresIn : expiresIn)
    .sign(key(opts.secret ?? (await tokenSecret())));
}

/**
 * The signing key: the Secrets Manager secret of JWT_SECRET_ARN (production), else JWT_SECRET,
 * else the local development secret (never when NODE_ENV=production).
 */
export async function tokenSecret(): Promise<string> {
  return (await secretFromEnv('JWT_SECRET')) ?? jwtSecret();
}

/** The userID (`sub`) of a valid, unexpired HS256 token; throws InvalidTokenError otherwise. */
export async function verifyToken(token: string, secret?: string): Promise<string> {
  const keyText = secret ?? (await tokenSecret());
  try {
    const { payload } = await jwtVerify(token, key(keyText), {
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
    });
    const sub = userIdSchema.safeParse(payload.sub);
    if (!sub.success) throw new InvalidTokenError('token subject is not a valid userID');
    return sub.data;
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError('token expired');
    if (err instanceof joseErrors.JOSEError)
      throw new InvalidTokenError(`invalid token (${err.code})`);
    throw err;
  }
}

/** The token of a $connect request: `Authorization: Bearer …` first, then `?token=` (browsers). */
export function tokenFromRequest(
  headers: Record<string, string | undefined> | undefined,
  query: Record<string, string | undefined> | null | undefined,
): string | undefined {
  const authorization = Object.entries(headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'authorization',
  )?.[1];
  const bearer = authorization && /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return bearer || query?.token || undefined;
}
