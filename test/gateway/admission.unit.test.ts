// Admission control's decisions, on a stand-in clock and lag: refused at once past the lag limit or
// the in-flight limit, with a bounded retryAfterMs; the lag read at most once per cache period.
import { ApiError } from '../../gateway/envelope';
import { createAdmission } from '../../gateway/admission';

const refusal = (err: unknown) => {
  expect(err).toBeInstanceOf(ApiError);
  const e = err as ApiError;
  return { status: e.status, code: e.code, retryAfterMs: e.retryAfterMs };
};

test('past the lag limit a new order is refused 503 OVERLOADED with a retryAfterMs between 250 ms and 5 s', async () => {
  let lag = 2000;
  let now = 0;
  let reads = 0;
  const admission = createAdmission({
    readLag: () => {
      reads++;
      return Promise.resolve(lag);
    },
    shedLagMs: 1000,
    maxInFlight: 10,
    now: () => now,
  });
  const placed: string[] = [];
  const err = await admission
    .admit(() => Promise.resolve(placed.push('a')))
    .catch((e: unknown) => e);
  expect(refusal(err)).toMatchObject({ status: 503, code: 'OVERLOADED' });
  expect(refusal(err).retryAfterMs).toBeGreaterThanOrEqual(1000);
  expect(refusal(err).retryAfterMs).toBeLessThanOrEqual(3000);
  lag = 60_000;
  now = 300;
  const long = await admission
    .admit(() => Promise.resolve(placed.push('b')))
    .catch((e: unknown) => e);
  expect(refusal(long).retryAfterMs).toBe(5000);
  // Within the cache period the lag is not read again; after it, the path has caught up.
  lag = 10;
  await admission.admit(() => Promise.resolve(placed.push('c'))).catch(() => undefined);
  expect(reads).toBe(2);
  now = 600;
  await admission.admit(() => Promise.resolve(placed.push('d')));
  expect(placed).toEqual(['d']);
});

test('past the in-flight limit a new order is refused; finished ones make room', async () => {
  const admission = createAdmission({
    readLag: () => Promise.resolve(0),
    shedLagMs: 1000,
    maxInFlight: 2,
  });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const first = admission.admit(() => gate);
  const second = admission.admit(() => gate);
  await new Promise((resolve) => setImmediate(resolve));
  expect(admission.inFlight).toBe(2);
  const third = await admission.admit(() => Promise.resolve()).catch((e: unknown) => e);
  expect(refusal(third)).toMatchObject({ status: 503, code: 'OVERLOADED' });
  release();
  await Promise.all([first, second]);
  expect(admission.inFlight).toBe(0);
  await expect(admission.admit(() => Promise.resolve('ok'))).resolves.toBe('ok');
});

test('an unreadable lag admits: no news is no reason to refuse', async () => {
  const admission = createAdmission({
    readLag: () => Promise.reject(new Error('redis down')),
    shedLagMs: 1000,
    maxInFlight: 2,
  });
  await expect(admission.admit(() => Promise.resolve('ok'))).resolves.toBe('ok');
});

test('an admitted order reports when it began once it is placed; a refused or failed one does not', async () => {
  let now = 1000;
  const began: number[] = [];
  const admission = createAdmission({
    readLag: () => Promise.resolve(0),
    shedLagMs: 1000,
    maxInFlight: 1,
    now: () => now,
    placed: (startedAt) => began.push(startedAt),
  });
  let release!: () => void;
  const slow = admission.admit(
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  await admission.admit(() => Promise.resolve()).catch(() => undefined); // refused: in flight
  now = 2500;
  release();
  await slow;
  await admission.admit(() => Promise.reject(new Error('start failed'))).catch(() => undefined);
  expect(began).toEqual([1000]);
});
