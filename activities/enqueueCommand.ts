// Activity: a matcher command onto the orders SQS FIFO queue. One queue for both sides with
// MessageGroupId = market keeps the arrival order across buy and sell, which price-time priority needs.
// Sends are group-committed: a command goes out at once while fewer than `maxBatchesInFlight` sends
// are under way, else it joins the next SendMessageBatch (up to 10). Nothing waits at low load; under
// load one request carries several commands. Within a batch SQS keeps the entries' order.
import { createHash } from 'node:crypto';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ApplicationFailure } from '@temporalio/common';
import { matcherCommandSchema, type MatcherCommand } from '../domain/order';
import type { OrderActivities } from '../workflows/messages';

/** SQS allows 128 characters; a long workflow id is hashed instead (still unique per send). */
export function deduplicationId(commandId: string, sendNumber: number): string {
  const id = sendNumber === 0 ? commandId : `${commandId}~${sendNumber}`;
  return id.length <= 128 ? id : createHash('sha256').update(id).digest('hex');
}

const batchLimit = 10; // SQS SendMessageBatch
const maxBatchesInFlight = 4;

interface PendingSend {
  entry: Omit<SendMessageBatchRequestEntry, 'Id'>;
  resolve: () => void;
  reject: (err: Error) => void;
}

export function createEnqueueCommand(
  sqs: SQSClient,
  queueUrl: string,
): OrderActivities['enqueueCommand'] {
  const pending: PendingSend[] = [];
  let inFlight = 0;

  const flush = (): void => {
    while (inFlight < maxBatchesInFlight && pending.length > 0) {
      const batch = pending.splice(0, batchLimit);
      inFlight++;
      void sqs
        .send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((p, i) => ({ ...p.entry, Id: String(i) })),
          }),
        )
        .then(
          (out) => {
            const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
            batch.forEach((p, i) => {
              const f = failed.get(String(i));
              if (f) p.reject(new Error(`SQS refused the command: ${f.Code} ${f.Message ?? ''}`));
              else p.resolve();
            });
          },
          (err: unknown) => {
            const error = err instanceof Error ? err : new Error(String(err));
            for (const p of batch) p.reject(error);
          },
        )
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  };

  return async function enqueueCommand(command: MatcherCommand, sendNumber: number): Promise<void> {
    const parsed = matcherCommandSchema.safeParse(command);
    if (!parsed.success) {
      // Retrying cannot fix a malformed command.
      throw ApplicationFailure.nonRetryable(
        `invalid matcher command: ${parsed.error.message}`,
        'INVALID_COMMAND',
      );
    }
    await new Promise<void>((resolve, reject) => {
      pending.push({
        entry: {
          MessageBody: JSON.stringify(parsed.data),
          MessageGroupId: command.market,
          MessageDeduplicationId: deduplicationId(command.commandId, sendNumber),
          MessageAttributes: {
            cmd: { DataType: 'String', StringValue: command.cmd },
            ...(command.cmd === 'place' && {
              side: { DataType: 'String', StringValue: command.side },
            }),
          },
        },
        resolve,
        reject,
      });
      flush();
    });
  };
}
