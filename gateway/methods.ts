// The four trading methods, the two account methods (gateway/accountMethods.ts) and ping behind
// the $default route: validation and authorization at the edge, then the order's workflow through
// the contract of workflows/messages.ts.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  ApplicationFailure,
  isGrpcDeadlineError,
  isGrpcServiceError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { z } from 'zod';
import { FieldError, fieldErrorFromZod } from '../domain/errors';
import type { Markets } from '../domain/markets';
import {
  orderFieldCodes,
  parseOrder,
  placeOrderParamsSchema,
  terminalStatuses,
  toAcceptedOrder,
  workflowIdFor,
  type AcceptedOrder,
  type OrderStatus,
} from '../domain/order';
import { orderSnapshot, orderTerms, sameTerms, type OrderSnapshot } from '../domain/orderPresenter';
import {
  cancelUpdate,
  orderErrorTypes,
  orderSearchAttributes,
  statusQuery,
} from '../workflows/messages';
import { env, gatewayTemporalTimeoutMs } from '../config/env';
import { ApiError, type Method } from './envelope';
import type { Logger } from '../platform/log';
import { submitOrder, type SendCommand } from './submitOrder';
import type { Admission } from './admission';
import { OrderState } from '../domain/orderState';
import type { Accounts } from '../accounts/accounts';
import { accountMethods } from './accountMethods';
import { ownUser } from './ownUser';

/** How long a method waits for Temporal; below API Gateway's 29 s integration timeout. */
export const defaultTemporalTimeoutMs = 20_000;
/** At most this many orders in one `openOrders.status` answer. */
export const openOrdersLimit = 200;
const openStatuses: OrderStatus[] = ['PENDING_NEW', 'NEW', 'PARTIALLY_FILLED'];
/** gRPC status UNAVAILABLE. */
const grpcUnavailable = 14;

export interface MethodDeps {
  temporal: () => Promise<Client>;
  /** Sends a command to the matcher's queue (the first place command of each order). */
  sendCommand: () => Promise<SendCommand>;
  markets: Markets;
  /** The order workflows' task queue; default ORDER_TASK_QUEUE or 'orders'. */
  taskQueue?: string;
  /** Read per call, so tests can shorten it; default GATEWAY_TEMPORAL_TIMEOUT_MS or 20 s. */
  timeoutMs?: () => number;
  now?: () => number;
  /** Refuses new orders while the order path lags (gateway/admission.ts); none: all admitted. */
  admission?: Admission;
  /** The users' accounts (accounts/accounts.ts, on the ledger store). */
  accounts: () => Promise<Accounts>;
}

/** Who is asking: the connection's authenticated user. */
export interface CallContext {
  userID: string;
  connectionId: string;
  log: Logger;
  /** Fields the method adds to the request's log line (e.g. the workflowId). */
  annotate(fields: Record<string, unknown>): void;
  /** Counts a valid order against the user's order rate limits; throws 429 past one. */
  countOrder?(): Promise<void>;
}

export type MethodFn = (params: Record<string, unknown>, ctx: CallContext) => Promise<unknown>;

const orderRefSchema = z.strictObject({
  orderId: placeOrderParamsSchema.shape.orderId,
  userID: placeOrderParamsSchema.shape.userID.optional(),
});
const openOrdersSchema = z.strictObject({
  userID: placeOrderParamsSchema.shape.userID.optional(),
  coinID: z.string().min(1).max(20).optional(),
});

const timeoutFromEnv = (): number => gatewayTemporalTimeoutMs(defaultTemporalTimeoutMs);

function parseWith<T>(schema: z.ZodType<T>, params: unknown): T {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw ApiError.from(fieldErrorFromZod(parsed.error, orderFieldCodes));
  return parsed.data;
}

/** Any failure of a method as an answer to the client; the original error stays as `cause`. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const cause = { cause: err };
  if (err instanceof FieldError) return new ApiError(400, err.code, err.message, err.field, cause);
  if (err instanceof WorkflowNotFoundError)
    return new ApiError(404, 'UNKNOWN_ORDER', 'no such order', 'orderId', cause);
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const type = err.cause.type ?? 'ORDER_REFUSED';
    const conflict =
      type === orderErrorTypes.duplicateOrderId || type === orderErrorTypes.notCancellable;
    return conflict
      ? new ApiError(409, type, err.cause.message, 'orderId', cause)
      : new ApiError(400, type, err.cause.message, undefined, cause);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
    return new ApiError(
      504,
      'TIMEOUT',
      'no answer from the order service in time; the request may still take effect: ask order.status, or re-send the same order (idempotent)',
      undefined,
      cause,
    );
  }
  const grpc = [err, (err as Error | undefined)?.cause].find(isGrpcServiceError);
  if ((grpc?.code as number | undefined) === grpcUnavailable)
    return new ApiError(
      503,
      'UNAVAILABLE',
      'the order service is unavailable; try again',
      undefined,
      cause,
    );
  return new ApiError(500, 'INTERNAL', 'internal error', undefined, cause);
}

/** The methods; each fails only with ApiError (the original error as its `cause`). */
export function createMethods(deps: MethodDeps): Record<Method, MethodFn> {
  const methods = rawMethods(deps);
  return Object.fromEntries(
    Object.entries(methods).map(([name, fn]) => [
      name,
      (params: Record<string, unknown>, ctx: CallContext) =>
        fn(params, ctx).catch((err: unknown) => Promise.reject(toApiError(err))),
    ]),
  ) as Record<Method, MethodFn>;
}

function rawMethods(deps: MethodDeps): Record<Method, MethodFn> {
  const taskQueue = deps.taskQueue ?? env.orderTaskQueue;
  const timeoutMs = deps.timeoutMs ?? timeoutFromEnv;
  const now = deps.now ?? Date.now;

  async function withTimeout<T>(client: Client, fn: () => Promise<T>): Promise<T> {
    return client.withDeadline(now() + timeoutMs(), fn);
  }

  /** The snapshot of an order: its query while running, its result once completed. */
  async function snapshotOf(client: Client, handle: WorkflowHandle): Promise<OrderSnapshot> {
    const description = await withTimeout(client, () => handle.describe());
    switch (description.status.name) {
      case 'RUNNING':
        // Before its first workflow task (the delayed start) a query would wait for it.
        if (description.historyLength <= 1) return pendingSnapshot(client, handle);
        return withTimeout(client, () => handle.query(statusQuery));
      case 'COMPLETED':
        return withTimeout(client, () => handle.result() as Promise<OrderSnapshot>);
      default:
        throw new ApiError(
          500,
          'ORDER_UNAVAILABLE',
          `the order's workflow ended ${description.status.name}; ask an operator`,
        );
    }
  }

  /** An order the matcher has not answered yet, from its workflow's input. */
  async function pendingSnapshot(client: Client, handle: WorkflowHandle): Promise<OrderSnapshot> {
    const history = await withTimeout(client, () => handle.fetchHistory());
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const payload = started?.input?.payloads?.[0];
    if (!payload)
      throw new ApiError(500, 'ORDER_UNAVAILABLE', 'the order has no input; ask an operator');
    const accepted =
      client.options.loadedDataConverter.payloadConverter.fromPayload<AcceptedOrder>(payload);
    return orderSnapshot(new OrderState(accepted));
  }

  /** The order id is taken by a finished order: same order → its final snapshot, else 409. */
  async function finishedOrder(
    client: Client,
    workflowId: string,
    accepted: AcceptedOrder,
  ): Promise<OrderSnapshot> {
    const handle = client.workflow.getHandle(workflowId);
    const description = await withTimeout(client, () => handle.describe());
    if (description.status.name === 'COMPLETED') {
      const snapshot = await withTimeout(client, () => handle.result() as Promise<OrderSnapshot>);
      if (sameTerms(snapshot, orderTerms(accepted))) return snapshot;
    }
    throw new ApiError(
      409,
      orderErrorTypes.duplicateOrderId,
      `order id "${accepted.orderId}" was already used by another order`,
      'orderId',
    );
  }

  return {
    ...accountMethods(deps),

    async 'order.place'(params, ctx) {
      const parsed = parseOrder(ownUser(params, ctx), deps.markets);
      const accepted = toAcceptedOrder(parsed, now());
      const workflowId = workflowIdFor(accepted.userID, accepted.orderId);
      ctx.annotate({ workflowId });
      const place = async (): Promise<OrderSnapshot> => {
        await ctx.countOrder?.();
        const client = await deps.temporal();
        try {
          const sendCommand = await deps.sendCommand();
          return await withTimeout(client, () =>
            submitOrder(client, sendCommand, accepted, taskQueue),
          );
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            return finishedOrder(client, workflowId, accepted);
          throw err;
        }
      };
      // A refused order counts against no rate limit: it is refused before it is counted.
      return deps.admission ? deps.admission.admit(place) : place();
    },

    async 'order.cancel'(params, ctx) {
      const ref = parseWith(orderRefSchema, ownUser(params, ctx));
      const workflowId = workflowIdFor(ctx.userID, ref.orderId);
      ctx.annotate({ workflowId });
      const client = await deps.temporal();
      const handle = client.workflow.getHandle(workflowId);
      try {
        return await withTimeout(client, () => handle.executeUpdate(cancelUpdate));
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // Not found also means "already completed": tell the two apart.
        try {
          await withTimeout(client, () => handle.describe());
        } catch (e) {
          throw e instanceof WorkflowNotFoundError ? err : e;
        }
        throw new ApiError(
          409,
          orderErrorTypes.notCancellable,
          'the order is already final',
          'orderId',
        );
      }
    },

    async 'order.status'(params, ctx) {
      const ref = parseWith(orderRefSchema, ownUser(params, ctx));
      const workflowId = workflowIdFor(ctx.userID, ref.orderId);
      ctx.annotate({ workflowId });
      const client = await deps.temporal();
      return snapshotOf(client, client.workflow.getHandle(workflowId));
    },

    async 'openOrders.status'(params, ctx) {
      const filter = parseWith(openOrdersSchema, ownUser(params, ctx));
      if (filter.coinID !== undefined && !deps.markets.has(filter.coinID)) {
        throw new ApiError(
          400,
          'UNKNOWN_MARKET',
          `unknown market "${filter.coinID}"; known: ${[...deps.markets.keys()].join(', ')}`,
          'coinID',
        );
      }
      // userID and coinID are validated above: no quotes can reach the query.
      const { status, userID, market } = orderSearchAttributes;
      const statuses = openStatuses.map((s) => `"${s}"`).join(',');
      const query =
        `ExecutionStatus="Running" AND ${userID.name}="${ctx.userID}"` +
        ` AND ${status.name} IN (${statuses})` +
        (filter.coinID ? ` AND ${market.name}="${filter.coinID}"` : '');
      const client = await deps.temporal();
      const workflowIds: string[] = [];
      await withTimeout(client, async () => {
        for await (const execution of client.workflow.list({ query, pageSize: openOrdersLimit })) {
          workflowIds.push(execution.workflowId);
          if (workflowIds.length >= openOrdersLimit) break;
        }
      });
      const snapshots = await mapLimit(workflowIds, 8, (id) =>
        withTimeout(client, () => client.workflow.getHandle(id).query(statusQuery)),
      );
      // Visibility lags a little: drop orders that turned final since they were listed.
      return snapshots
        .filter((s) => !terminalStatuses.has(s.status))
        .sort((a, b) => a.createdAt - b.createdAt || a.orderId.localeCompare(b.orderId));
    },

    // eslint-disable-next-line @typescript-eslint/require-await
    async ping(params) {
      parseWith(z.strictObject({}), params);
      return { time: now() };
    },
  };
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
