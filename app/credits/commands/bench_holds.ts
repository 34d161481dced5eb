import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * bench:holds — places holds as fast as `concurrency` callers per tenant can for `seconds` and
 * prints one JSON line: holds/s, rejections and latency percentiles. `--mode=naive` is the
 * baseline (one guarded UPDATE + INSERT transaction per hold on its own pg pool); `batched` is
 * Agora's hold(). Driven by bench/credits_contention.js; needs PostgreSQL (DATABASE_URL).
 */
export default class BenchHolds extends OperatorCommand {
  static commandName = 'bench:holds'
  static description = 'Benchmark credit holds under contention (prints JSON)'
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'Tenant id(s), comma-separated', required: true })
  declare tenant: string

  @flags.number({ description: 'Concurrent callers per tenant', default: 64 })
  declare concurrency: number

  @flags.number({ description: 'Measured seconds', default: 10 })
  declare seconds: number

  @flags.number({ description: 'Warm-up seconds (not measured)', default: 1 })
  declare warmup: number

  @flags.string({ description: 'naive | batched', default: 'batched' })
  declare mode: string

  @flags.string({
    description: 'batched only: on | off (RLS-bound transactions on the general path)',
    default: 'on',
  })
  declare rls: string

  @flags.string({
    description: 'batched only: on | off (off = every batch takes the general path)',
    default: 'on',
  })
  declare fastPath: string

  @flags.number({ description: 'Micro-credits per hold', default: 1 })
  declare amount: number

  @flags.number({ description: 'batched only: hold TTL in seconds', default: 900 })
  declare ttl: number

  @flags.number({ description: 'naive only: connections (default: one per caller, at most 64)' })
  declare pool?: number

  async run() {
    const tenants = this.tenant
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean)
    const { isUuid } = await import('#core')
    if (!tenants.length || !tenants.every(isUuid))
      return this.fail('--tenant must be one or more tenant ids')
    if (!['naive', 'batched'].includes(this.mode))
      return this.fail('--mode must be naive or batched')
    const placeHold =
      this.mode === 'naive' ? await this.naiveHold(tenants.length) : await this.batchedHold()

    const latencies: number[] = []
    let [holds, rejected, errors] = [0, 0, 0]
    let measuring = this.warmup <= 0
    let firstError: unknown = null
    const endAt = Date.now() + (this.warmup + this.seconds) * 1000
    if (!measuring) setTimeout(() => (measuring = true), this.warmup * 1000).unref()

    const caller = async (tenantId: string) => {
      while (Date.now() < endAt) {
        const started = process.hrtime.bigint()
        let outcome: 'ok' | 'rejected' | 'error' = 'ok'
        try {
          if (!(await placeHold(tenantId))) outcome = 'rejected'
        } catch (error) {
          outcome = (error as { status?: number }).status === 402 ? 'rejected' : 'error'
          if (outcome === 'error') firstError ??= error
        }
        if (!measuring) continue
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
        if (outcome === 'ok') holds++
        else if (outcome === 'rejected') rejected++
        else errors++
      }
    }
    await Promise.all(
      tenants.flatMap((tenantId) =>
        Array.from({ length: this.concurrency }, () => caller(tenantId))
      )
    )
    await this.cleanup?.()

    latencies.sort((a, b) => a - b)
    const at = (q: number) =>
      Number(
        (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(
          2
        )
      )
    if (firstError) this.notice(`first error: ${(firstError as Error).message}`)
    this.output(
      JSON.stringify({
        mode:
          this.mode === 'naive'
            ? 'naive'
            : `batched${this.fastPath === 'off' ? '-general' : ''}${this.rls === 'off' ? '-no-rls' : ''}`,
        tenants: tenants.length,
        concurrency: this.concurrency,
        seconds: this.seconds,
        holds,
        rejected,
        errors,
        rate: Math.round(holds / this.seconds),
        p50: at(0.5),
        p99: at(0.99),
        max: at(1),
      })
    )
  }

  declare cleanup?: () => Promise<void>

  /** Agora's hold(): per-tenant batching through the app's own pool. */
  async batchedHold() {
    const { hold } = await import('#credits')
    const { writeSettings } = await import('#credits/services/accounts')
    writeSettings.rls = this.rls !== 'off'
    writeSettings.fastPath = this.fastPath !== 'off'
    return async (tenantId: string) =>
      Boolean(
        await hold({
          tenantId,
          amount: BigInt(this.amount),
          reference: 'bench',
          ttlSeconds: this.ttl,
        })
      )
  }

  /** The baseline: what a straightforward implementation does, one transaction per hold. */
  async naiveHold(tenantCount: number) {
    const app = (await import('@adonisjs/core/services/app')).default
    const pg = (await import('pg')).default
    const connection = app.config.get<Record<string, any>>(
      'database.connections.postgres.connection'
    )
    // One connection per caller, like the baseline's 64 clients (capped: max_connections is 100).
    const pool = new pg.Pool({
      ...connection,
      max: this.pool ?? Math.min(this.concurrency * tenantCount, 64),
    })
    this.cleanup = () => pool.end()
    return async (tenantId: string) => {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const guarded = await client.query({
          name: 'bench-naive-hold',
          text: `UPDATE credit_accounts SET held = held + $2, updated_at = now()
                 WHERE tenant_id = $1 AND balance - held >= $2`,
          values: [tenantId, this.amount],
        })
        if (guarded.rowCount === 0) {
          await client.query('ROLLBACK')
          return false
        }
        await client.query({
          name: 'bench-naive-insert',
          text: `INSERT INTO credit_holds (tenant_id, amount, reference, expires_at)
                 VALUES ($1, $2, 'bench', now() + interval '15 minutes')`,
          values: [tenantId, this.amount],
        })
        await client.query('COMMIT')
        return true
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    }
  }
}
