// Activity: a matcher command onto the orders SQS FIFO queue. One queue for both sides with
// MessageGroupId = market keeps the arrival order across buy and sell, which price-time priority needs.
import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ApplicationFailure } from '@temporalio/common';
import { matcherCommandSchema, type MatcherCommand } from '../domain/order';
import type { OrderActivities } from '../workflows/messages';

/** SQS allows 128 characters; a long workflow id is hashed instead (still unique per send). */
export function deduplicationId(commandId: string, sendNumber: number): string {
  const id = sendNumber === 0 ? commandId : `${commandId}~${sendNumber}`;
  return id.length <= 128 ? id : createHash('sha256').update(id).digest('hex');
}

export function createEnqueueCommand(
  sqs: SQSClient,
  queueUrl: string,
): OrderActivities['enqueueCommand'] {
  return async function enqueueCommand(command: MatcherCommand, sendNumber: number): Promise<void> {
    const parsed = matcherCommandSchema.safeParse(command);
    if (!parsed.success) {
      // Retrying cannot fix a malformed command.
      throw ApplicationFailure.nonRetryable(
        `invalid matcher command: ${parsed.error.message}`,
        'INVALID_COMMAND',
      );
    }
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(parsed.data),
        MessageGroupId: command.market,
        MessageDeduplicationId: deduplicationId(command.commandId, sendNumber),
        MessageAttributes: {
          cmd: { DataType: 'String', StringValue: command.cmd },
          ...(command.cmd === 'place' && {
            side: { DataType: 'String', StringValue: command.side },
          }),
        },
      }),
    );
  };
}
