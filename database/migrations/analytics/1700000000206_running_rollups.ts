import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

const SUMMED = [
  'runs',
  'succeeded',
  'errors',
  'input_tokens',
  'output_tokens',
  'credits_micros',
  'latency_sum_ms',
  'latency_count',
]
const PAGE = 2000

/**
 * Running sums per breakdown key: usage_running holds, per (tenant, dim, key, local day), the
 * sums of every day up to and including that one (histograms too: counts only grow). A row
 * exists on the days the key had runs; the sums at any date are the key's last row on or
 * before it, so any range is two rows per key (end − day before start), not ~19 (months,
 * weeks and edge days). `dim` is 'agent', 'member', 'model' or 'total' (the tenant's day
 * totals, for the previous period); `key` is '' for none (NULL would not index an equality).
 * Filled here from usage_dims_daily and usage_days, tenant by tenant, in keyset pages.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE usage_running (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        dim varchar(6) NOT NULL CHECK (dim IN ('agent', 'member', 'model', 'total')),
        key varchar(200) NOT NULL,
        day date NOT NULL,
        runs integer NOT NULL DEFAULT 0,
        succeeded integer NOT NULL DEFAULT 0,
        errors integer NOT NULL DEFAULT 0,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        credits_micros bigint NOT NULL DEFAULT 0,
        latency_sum_ms bigint NOT NULL DEFAULT 0,
        latency_count integer NOT NULL DEFAULT 0,
        latency_hist bytea NOT NULL DEFAULT ''::bytea,
        PRIMARY KEY (tenant_id, dim, key, day)
      )`)
    for (const sql of enableTenantRls('usage_running')) this.schema.raw(sql)
    this.defer(async (db) => {
      const tenants = await db.from('usage_days').distinct('tenant_id')
      for (const { tenant_id: tenantId } of tenants) {
        for (const dim of ['agent', 'member', 'model', 'total']) {
          const source =
            dim === 'total'
              ? `SELECT '' AS key, day, ${SUMMED.join(', ')}, latency_hist FROM usage_days WHERE tenant_id = ?`
              : `SELECT coalesce(key, '') AS key, day, ${SUMMED.join(', ')}, latency_hist
                 FROM usage_dims_daily WHERE tenant_id = ? AND dim = '${dim}'`
          let after = ['', '1900-01-01']
          let key: string | null = null
          let sums: Record<string, bigint> = {}
          let hist = new Map<number, number>()
          for (;;) {
            const { rows } = await db.rawQuery(
              `SELECT s.*, to_char(day, 'YYYY-MM-DD') AS on_day FROM (${source}) s
               WHERE (key, day) > (?, ?::date) ORDER BY key, day LIMIT ${PAGE}`,
              [tenantId, ...after]
            )
            if (!rows.length) break
            const out: unknown[][] = [[], [], [], ...SUMMED.map(() => []), []]
            for (const row of rows) {
              if (row.key !== key) {
                key = row.key
                sums = Object.fromEntries(SUMMED.map((c) => [c, 0n]))
                hist = new Map()
              }
              for (const c of SUMMED) sums[c] += BigInt(row[c])
              const bytes = Buffer.from(row.latency_hist)
              for (let i = 0; i + 6 <= bytes.length; i += 6) {
                const bucket = bytes.readUInt16BE(i)
                hist.set(bucket, (hist.get(bucket) ?? 0) + bytes.readUInt32BE(i + 2))
              }
              const packed = Buffer.alloc(hist.size * 6)
              ;[...hist]
                .sort((a, b) => a[0] - b[0])
                .forEach(([bucket, n], i) => {
                  packed.writeUInt16BE(bucket, i * 6)
                  packed.writeUInt32BE(n, i * 6 + 2)
                })
              const values = [
                dim,
                row.key,
                row.on_day,
                ...SUMMED.map((c) => sums[c].toString()),
                packed.toString('hex'),
              ]
              values.forEach((value, i) => out[i].push(value))
            }
            await db.rawQuery(
              `INSERT INTO usage_running (tenant_id, dim, key, day, ${SUMMED.join(', ')}, latency_hist)
               SELECT ?::uuid, d, k, y, r, s, e, i, o, c, ls, lc, decode(h, 'hex')
               FROM unnest(?::varchar[], ?::varchar[], ?::date[], ?::int[], ?::int[], ?::int[],
                           ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::int[], ?::text[])
                    AS x (d, k, y, r, s, e, i, o, c, ls, lc, h)`,
              [tenantId, ...out]
            )
            after = [key!, out[2][out[2].length - 1] as string]
          }
        }
      }
    })
  }

  async down() {
    for (const sql of disableTenantRls('usage_running')) this.schema.raw(sql)
    this.schema.raw('DROP TABLE usage_running')
  }
}
