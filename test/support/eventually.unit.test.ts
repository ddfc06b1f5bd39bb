import { eventually } from './eventually';

test('returns the first truthy value, trying again after falsy values and failures', async () => {
  const answers: Array<() => number> = [
    () => 0,
    () => {
      throw new Error('not yet');
    },
    () => 7,
  ];
  let calls = 0;
  await expect(eventually(() => answers[calls++]!(), 'seven', { intervalMs: 1 })).resolves.toBe(7);
  expect(calls).toBe(3);
});

test('when the time is up, names what it waited for and carries the last failure', async () => {
  const failure = new Error('connection refused');
  const err = await eventually(
    () => {
      throw failure;
    },
    'the server',
    { timeoutMs: 30, intervalMs: 5 },
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toBe(
    'timed out after 30 ms waiting for the server: connection refused',
  );
  expect((err as Error).cause).toBe(failure);
});

test('when the time is up after falsy values, says the last value', async () => {
  await expect(
    eventually(() => [].length, 'a message', { timeoutMs: 20, intervalMs: 5 }),
  ).rejects.toThrow('timed out after 20 ms waiting for a message: last value 0');
});
