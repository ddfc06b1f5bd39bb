// The container's sender of matcher commands (see platform/lazy.ts): the gateway sends each order's
// first place command itself, right after starting its workflow.
import { env } from '../config/env';
import { createEnqueueCommand } from '../activities/enqueueCommand';
import { queueUrl, sqsClient } from '../platform/aws';
import { lazy } from '../platform/lazy';
import type { SendCommand } from './submitOrder';

const sender = lazy(
  async () => {
    const sqs = sqsClient();
    const url = await queueUrl(sqs, env.ordersQueueUrl, env.ordersQueueName);
    return { sqs, send: createEnqueueCommand(sqs, url) };
  },
  ({ sqs }) => Promise.resolve(sqs.destroy()),
);

export const commandSender = async (): Promise<SendCommand> => (await sender.get()).send;
