/**
 * The latency histogram: fixed buckets, so histograms of any rows merge by adding counts.
 *
 * Layout (milliseconds, integers): bucket 0 is [0, 1); buckets 1–99 are 1 ms wide ([b, b + 1),
 * exact); from 100 ms on, each bucket starts at ceil(100 × 1.02^k) (k = 0, 1, …): 2 % wide, so an
 * estimate inside a bucket is within ~1 % of the true value. The last bucket (from 1 hour) is open.
 * Stored sparse as jsonb {"<bucket>": count}. SQL computes the same bucket with
 * width_bucket(latency_ms, HIST_THRESHOLDS) — integer comparisons, no floating-point drift.
 */
const GROWTH = 1.02
const LOG_START = 100
const LAST_MS = 3_600_000

/** Lower bounds of buckets 1…n (bucket 0 starts at 0): strictly increasing integers. */
export const HIST_THRESHOLDS: number[] = (() => {
  const bounds: number[] = []
  for (let ms = 1; ms < LOG_START; ms++) bounds.push(ms)
  for (let k = 0; ; k++) {
    const bound = Math.ceil(LOG_START * GROWTH ** k - 1e-9)
    if (bound > bounds[bounds.length - 1]) bounds.push(bound)
    if (bound >= LAST_MS) return bounds
  }
})()

export type Histogram = Record<string, number>

/** The bucket of a latency (null for none). */
export function bucketOf(ms: number | null | undefined): number | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return null
  let lo = 0
  let hi = HIST_THRESHOLDS.length
  // Count of thresholds ≤ ms, like width_bucket.
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (HIST_THRESHOLDS[mid] <= ms) lo = mid + 1
    else hi = mid
  }
  return lo
}

function bounds(bucket: number): [number, number] {
  const lo = bucket === 0 ? 0 : HIST_THRESHOLDS[bucket - 1]
  const hi = bucket < HIST_THRESHOLDS.length ? HIST_THRESHOLDS[bucket] : Math.ceil(lo * GROWTH)
  return [lo, hi]
}

/** Adds histograms (any number of them) into a new one. */
export function mergeHistograms(...histograms: (Histogram | null | undefined)[]): Histogram {
  const sum: Histogram = {}
  for (const histogram of histograms) {
    for (const [bucket, count] of Object.entries(histogram ?? {}))
      sum[bucket] = (sum[bucket] ?? 0) + Number(count)
  }
  return sum
}

/**
 * The p-quantile (0…1) with percentile_cont's definition: rank p × (n − 1) between the two
 * nearest order statistics. An order statistic inside a bucket is placed evenly across it
 * (1 ms buckets hold exact integers). Null when the histogram is empty.
 */
export function percentile(histogram: Histogram | null | undefined, p: number): number | null {
  const buckets = Object.entries(histogram ?? {})
    .map(([bucket, count]) => [Number(bucket), Number(count)] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0])
  const total = buckets.reduce((sum, [, count]) => sum + count, 0)
  if (!total) return null
  const rank = Math.min(1, Math.max(0, p)) * (total - 1)
  const at = (k: number) => {
    let before = 0
    for (const [bucket, count] of buckets) {
      if (k < before + count) {
        const [lo, hi] = bounds(bucket)
        return hi - lo <= 1 ? lo : lo + ((hi - lo) * (k - before + 0.5)) / count
      }
      before += count
    }
    return bounds(buckets[buckets.length - 1][0])[1]
  }
  const below = Math.floor(rank)
  const low = at(below)
  return rank === below ? low : low + (rank - below) * (at(below + 1) - low)
}

/**
 * Adds a histogram given as jsonb text (`{"120": 3, "121": 1}`) into dense arrays, scanning the
 * text once: dashboards merge thousands of rollup rows, and building a JS object per row costs
 * several times more than this scan.
 */
export function addHistogramText(text: string, targets: Float64Array[]) {
  let bucket = 0
  let count = 0
  let inKey = false
  let keyDone = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      inKey = !inKey
      if (inKey) bucket = 0
      else {
        keyDone = true
        count = 0
      }
    } else if (c >= 48 && c <= 57) {
      if (inKey) bucket = bucket * 10 + (c - 48)
      else if (keyDone) count = count * 10 + (c - 48)
    } else if ((c === 44 || c === 125) && keyDone) {
      for (const target of targets) target[bucket] += count
      keyDone = false
    }
  }
}
