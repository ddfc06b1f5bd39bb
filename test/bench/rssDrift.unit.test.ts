import { duration } from '../../bench/support/options';
import type { RssPoint } from '../../bench/support/proc';
import { rssDrift } from '../../bench/support/rssDrift';

const MiB = 2 ** 20;

/** Readings every 5 s for `seconds`, each process's MiB given by a function of the time. */
function series(seconds: number, mibAt: Record<string, (s: number) => number>): RssPoint[] {
  const points: RssPoint[] = [];
  for (let atS = 0; atS <= seconds; atS += 5)
    points.push({
      atS,
      processes: Object.entries(mibAt).map(([name, f], i) => ({
        name,
        pid: 100 + i,
        bytes: f(atS) * MiB,
      })),
    });
  return points;
}

test('flat after the warm-up passes; growth past 15% fails; the warm-up itself does not count', () => {
  const [flat, growing] = rssDrift(
    series(600, {
      // A warm-up ramp, then flat with one high reading a minute (a collection due).
      flat: (s) => (s < 120 ? 100 + s : 220 + (s % 60 === 0 ? 20 : 0)),
      growing: (s) => 200 + s / 2,
    }),
    120,
  );
  expect(flat).toMatchObject({ name: 'flat', pass: true, max: 240 * MiB });
  expect(flat!.drift).toBe(0);
  expect(growing).toMatchObject({ name: 'growing', pass: false });
  // Medians: 260 MiB at 2 min, 492.5 MiB over the last 30 s.
  expect(growing!.drift!).toBeCloseTo(492.5 / 260 - 1, 6);
  expect(growing!.reason).toBe('drifted +89%');
});

test('a restarted process fails: its memory is no longer one process’s', () => {
  const points = series(300, { worker: () => 300 });
  for (const p of points.filter((x) => x.atS > 200)) p.processes[0]!.pid = 999;
  const [worker] = rssDrift(points, 120);
  expect(worker).toMatchObject({ pass: false, pids: [100, 999] });
  expect(worker!.reason).toMatch(/restarted/);
});

test('a run that ends before warm-up plus one window cannot be judged', () => {
  const [worker] = rssDrift(series(140, { worker: () => 300 }), 120);
  expect(worker).toMatchObject({ pass: false });
  expect(worker!.reason).toMatch(/longer than 150 s/);
});

test('durations in seconds, minutes or hours', () => {
  expect(duration('20m')).toBe(1200);
  expect(duration('90s')).toBe(90);
  expect(duration('90')).toBe(90);
  expect(duration('1.5h')).toBe(5400);
  expect(() => duration('soon')).toThrow(/duration/);
  expect(() => duration('0m')).toThrow(/duration/);
});
