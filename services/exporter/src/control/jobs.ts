/**
 * How many jobs the inference service has in flight (its `GET /api/v1/jobs`), to say why a reboot
 * meets an update lock. The inference service may be down or restarting: then the answer is null,
 * never an error, since the 409 it decorates stands on the supervisor's word alone.
 */

/** Longer than a busy service takes to answer, short enough that a reboot click stays snappy. */
const TIMEOUT_MS = 3000;

export async function jobsInFlight(inferenceUrl: string): Promise<number | null> {
  try {
    const res = await fetch(`${inferenceUrl.replace(/\/+$/, '')}/api/v1/jobs`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { jobsInFlight?: unknown } | null;
    const n = body?.jobsInFlight;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}
