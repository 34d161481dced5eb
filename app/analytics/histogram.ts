/**
 * The latency histogram: fixed buckets, so histograms of any rows merge by adding counts.
 *
 * Layout (milliseconds, integers): bucket 0 is [0, 1); buckets 1–99 are 1 ms wide ([b, b + 1),
 * exact); from 100 ms on, each bucket starts at ceil(100 × 1.02^k) (k = 0, 1, …): 2 % wide, so an
 * estimate inside a bucket is within ~1 % of the true value. The last bucket (from 1 hour) is open.
 * Stored packed (see packHistogram). SQL computes the same bucket with
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

/** A histogram as a dense array indexed by bucket. */
export function denseHistogram(histogram: Histogram | null | undefined): Float64Array {
  const dense = new Float64Array(HIST_THRESHOLDS.length + 1)
  for (const [bucket, count] of Object.entries(histogram ?? {}))
    dense[Number(bucket)] += Number(count)
  return dense
}

/** A dense array as a histogram (its non-empty buckets). */
export function sparseHistogram(dense: Float64Array): Histogram {
  const histogram: Histogram = {}
  dense.forEach((count, bucket) => {
    if (count) histogram[bucket] = count
  })
  return histogram
}

/**
 * The p-quantile (0…1) with percentile_cont's definition: rank p × (n − 1) between the two
 * nearest order statistics. An order statistic inside a bucket is placed evenly across it
 * (1 ms buckets hold exact integers). Null when the histogram is empty.
 */
export function percentile(
  histogram: Histogram | Float64Array | null | undefined,
  p: number
): number | null {
  return percentiles(histogram, [p])[0]
}

/**
 * Several quantiles (as `percentile`) in one pass over the buckets: dashboards ask three of
 * each of ~100 groups. Dense arrays are read as they are.
 */
export function percentiles(
  histogram: Histogram | Float64Array | null | undefined,
  ps: readonly number[]
): (number | null)[] {
  const dense = histogram instanceof Float64Array ? histogram : denseHistogram(histogram)
  let total = 0
  let last = -1
  for (let bucket = 0; bucket < dense.length; bucket++) {
    if (dense[bucket] > 0) {
      total += dense[bucket]
      last = bucket
    }
  }
  if (!total) return ps.map(() => null)
  const ranks = ps.map((p) => Math.min(1, Math.max(0, p)) * (total - 1))
  // The order statistics needed (each rank's two neighbours), found in one ascending walk.
  const wanted = [...new Set(ranks.flatMap((rank) => [Math.floor(rank), Math.ceil(rank)]))].sort(
    (a, b) => a - b
  )
  const values = new Map<number, number>()
  let next = 0
  let before = 0
  for (let bucket = 0; bucket <= last && next < wanted.length; bucket++) {
    const count = dense[bucket]
    if (count <= 0) continue
    while (next < wanted.length && wanted[next] < before + count) {
      const k = wanted[next++]
      const [lo, hi] = bounds(bucket)
      values.set(k, hi - lo <= 1 ? lo : lo + ((hi - lo) * (k - before + 0.5)) / count)
    }
    before += count
  }
  const at = (k: number) => values.get(k) ?? bounds(last)[1]
  return ranks.map((rank) => {
    const below = Math.floor(rank)
    const low = at(below)
    return rank === below ? low : low + (rank - below) * (at(below + 1) - low)
  })
}

/** A histogram packed as stored: (int2 bucket, int4 count) pairs, big-endian, by bucket. */
export function packHistogram(histogram: Histogram): Buffer {
  const pairs = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), Number(count)] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0])
  const bytes = Buffer.alloc(pairs.length * 6)
  pairs.forEach(([bucket, count], i) => {
    bytes.writeUInt16BE(bucket, i * 6)
    bytes.writeUInt32BE(count, i * 6 + 2)
  })
  return bytes
}

/** Adds a packed histogram into dense arrays (sign −1 subtracts it: running sums). */
export function addPackedHistogram(bytes: Uint8Array, targets: Float64Array[], sign = 1) {
  for (let i = 0; i + 6 <= bytes.length; i += 6) {
    const bucket = (bytes[i] << 8) | bytes[i + 1]
    const count =
      sign *
      (bytes[i + 2] * 0x1000000 + ((bytes[i + 3] << 16) | (bytes[i + 4] << 8) | bytes[i + 5]))
    for (const target of targets) target[bucket] += count
  }
}

/** A packed histogram as an object. */
export function unpackHistogram(bytes: Uint8Array): Histogram {
  const histogram: Histogram = {}
  for (let i = 0; i + 6 <= bytes.length; i += 6) {
    const bucket = (bytes[i] << 8) | bytes[i + 1]
    histogram[bucket] =
      bytes[i + 2] * 0x1000000 + ((bytes[i + 3] << 16) | (bytes[i + 4] << 8) | bytes[i + 5])
  }
  return histogram
}
