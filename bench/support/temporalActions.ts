// Billable Temporal actions, as the server itself counts them: the `action` counter of its
// Prometheus endpoint (by action_type and namespace), which Temporal documents as following Temporal
// Cloud's metering. A bench reads it before and after a run and divides the difference by orders.

/** The action counter's values of one namespace, by action type. */
export type ActionCounts = Map<string, number>;

const actionLine = /^action\{([^}]*)\}\s+([0-9.eE+-]+)$/;
const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Parses the `action` samples of a Prometheus text exposition for one namespace. */
export function parseActions(text: string, namespace: string): ActionCounts {
  const counts: ActionCounts = new Map();
  for (const line of text.split('\n')) {
    const match = actionLine.exec(line.trim());
    if (!match) continue;
    const labels = new Map([...match[1]!.matchAll(label)].map((m) => [m[1]!, m[2]!]));
    if (labels.get('namespace') !== namespace) continue;
    const type = labels.get('action_type') ?? 'unknown';
    counts.set(type, (counts.get(type) ?? 0) + Number(match[2]));
  }
  return counts;
}

export async function readActions(metricsUrl: string, namespace: string): Promise<ActionCounts> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  return parseActions(await res.text(), namespace);
}

/** What happened between two readings, by action type, largest first. */
export function actionsBetween(
  before: ActionCounts,
  after: ActionCounts,
): Array<{ type: string; count: number }> {
  return [...after]
    .map(([type, count]) => ({ type, count: count - (before.get(type) ?? 0) }))
    .filter((a) => a.count > 0)
    .sort((a, b) => b.count - a.count);
}
