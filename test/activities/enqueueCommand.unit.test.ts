// The sender's group commit with a stand-in SQS client: who waits for whom, and whose send fails.
import type { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createEnqueueCommand } from '../../activities/enqueueCommand';
import type { MatcherCommand } from '../../domain/order';
import { placeCmd } from '../matcher/support';

interface Call {
  ids: string[];
  answer: (failedIds?: string[]) => void;
  fail: (err: Error) => void;
}

/** A client whose every request waits until the test answers it. */
function standInSqs(): { sqs: SQSClient; calls: Call[] } {
  const calls: Call[] = [];
  const send = (command: SendMessageBatchCommand) =>
    new Promise((resolve, reject) => {
      const entries = command.input.Entries ?? [];
      calls.push({
        ids: entries.map((e) => (JSON.parse(e.MessageBody ?? '{}') as MatcherCommand).orderId),
        answer: (failedIds = []) =>
          resolve({
            Failed: entries
              .filter((e) =>
                failedIds.includes((JSON.parse(e.MessageBody ?? '{}') as MatcherCommand).orderId),
              )
              .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
          }),
        fail: reject,
      });
    });
  return { sqs: { send } as unknown as SQSClient, calls };
}

const place = (orderId: string): MatcherCommand =>
  placeCmd({ userID: 'u-unit', orderId, side: 'SELL', price: 5, quantity: 1 });
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('four go at once; the rest wait and go in batches of ten, in the order they came', async () => {
  const { sqs, calls } = standInSqs();
  const send = createEnqueueCommand(sqs, 'queue');
  const sends = Array.from({ length: 26 }, (_, i) => send(place(`o${i}`), 0));
  await settle();
  expect(calls.map((c) => c.ids)).toEqual([['o0'], ['o1'], ['o2'], ['o3']]);

  calls[0]?.answer();
  await settle();
  expect(calls[4]?.ids).toEqual(Array.from({ length: 10 }, (_, i) => `o${i + 4}`));
  for (let i = 1; i < 4; i++) calls[i]?.answer();
  await settle();
  expect(calls.slice(5).map((c) => c.ids)).toEqual([
    Array.from({ length: 10 }, (_, i) => `o${i + 14}`),
    ['o24', 'o25'],
  ]);
  for (const call of calls.slice(4)) call.answer();
  await expect(Promise.all(sends)).resolves.toHaveLength(26);
});

test('an entry SQS refuses fails only its own send', async () => {
  const { sqs, calls } = standInSqs();
  const send = createEnqueueCommand(sqs, 'queue');
  const early = Array.from({ length: 4 }, (_, i) => send(place(`e${i}`), 0));
  const batched = ['a', 'b', 'c'].map((id) => send(place(id), 0));
  await settle();
  for (const call of calls.slice(0, 4)) call.answer();
  await settle();
  calls[4]?.answer(['b']);
  await Promise.all(early);
  const outcomes = await Promise.allSettled(batched);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/InternalError/);
});

test('a failed request fails every send in it, and later sends still go', async () => {
  const { sqs, calls } = standInSqs();
  const send = createEnqueueCommand(sqs, 'queue');
  const sends = Array.from({ length: 6 }, (_, i) => send(place(`f${i}`), 0));
  await settle();
  calls[0]?.fail(new Error('connection reset'));
  await expect(sends[0]).rejects.toThrow('connection reset');
  await settle();
  expect(calls[4]?.ids).toEqual(['f4', 'f5']);
  calls[4]?.fail(new Error('throttled'));
  await expect(sends[4]).rejects.toThrow('throttled');
  await expect(sends[5]).rejects.toThrow('throttled');
  for (const call of calls.slice(1, 4)) call.answer();
  await Promise.all(sends.slice(1, 4));

  const later = send(place('g'), 0);
  await settle();
  calls[5]?.answer();
  await expect(later).resolves.toBeUndefined();
});

test('a malformed command fails at once and sends nothing', async () => {
  const { sqs, calls } = standInSqs();
  const send = createEnqueueCommand(sqs, 'queue');
  const bad = { ...place('x'), quantity: -1 };
  await expect(send(bad, 0)).rejects.toMatchObject({ type: 'INVALID_COMMAND' });
  expect(calls).toHaveLength(0);
});
