import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { formatCredits, urlFor } from '#core'
import { appUrl } from '#config/app'
import emitter from '@adonisjs/core/services/emitter'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { mailNotifications, recordNotifications, type Recipient } from '#platform'
import { memberContacts, memberNames, Tenant, tenantTimeZone, withTenant } from '#tenants'
import { sql } from '#credits/services/accounts'
import { agentNames, listBudgets, spentByBudget, type Budget } from '#credits/services/budgets'
import { periodAt } from '#credits/services/periods'
import BudgetThresholdReached from '#credits/events/budget_threshold_reached'
import CreditsRanLow from '#credits/events/credits_ran_low'

export const BUDGET_THRESHOLDS = [50, 80, 100] as const

type AlertConfig = { budgets: Budget[]; lowBalance: bigint | null; until: number }
const CONFIG_TTL_MS = 30_000
const configs = new Map<string, AlertConfig>()
const pending = new Set<Promise<void>>()

/** The tenant's low-balance threshold (micro-credits), or null when none is set. */
export async function lowBalanceThreshold(tenantId: string): Promise<bigint | null> {
  const row = await db
    .from('credit_settings')
    .where('tenant_id', tenantId)
    .select('low_balance_micros')
    .first()
  return row?.low_balance_micros ? BigInt(row.low_balance_micros) : null
}

/** Drops this process's cached alert settings of a tenant (after its budgets changed). */
export function forgetAlertConfig(tenantId: string) {
  configs.delete(tenantId)
}

async function alertConfig(tenantId: string): Promise<AlertConfig> {
  const cached = configs.get(tenantId)
  if (cached && cached.until > Date.now()) return cached
  const config = {
    budgets: await listBudgets(tenantId),
    lowBalance: await lowBalanceThreshold(tenantId),
    until: Date.now() + CONFIG_TTL_MS,
  }
  if (configs.size >= 50_000) configs.clear()
  configs.set(tenantId, config)
  return config
}

/**
 * After a charge: checks the budgets it counted against and the low-balance threshold, off the
 * request path. Each alert is recorded once per (budget, period, threshold) — a row in
 * budget_alerts inserted ON CONFLICT DO NOTHING decides, whichever process gets there first —
 * and goes to the tenant's owners and admins (and the member, for a member budget) in the app
 * and by email. Settings are cached per process for 30 s: a new budget alerts within that.
 */
export function alertAfterCharge(
  tenantId: string,
  subjects: { memberId: string | null; agentId: string | null }
) {
  const task: Promise<void> = checkAlerts(tenantId, subjects)
    .catch((error) => logger.error({ err: error, tenantId }, 'credit alerts failed'))
    .finally(() => pending.delete(task))
  pending.add(task)
}

/** Resolves when every alert check started so far has finished (tests, shutdown). */
export async function alertsIdle() {
  while (pending.size) await Promise.all([...pending])
}

type Alert = {
  kind: 'budget.threshold' | 'credits.low'
  extraRecipient: string | null
  dedupeKey: string
  title: string
  body: string
  event: BudgetThresholdReached | CreditsRanLow
}

/**
 * Decides and records the alerts in one tenant-bound transaction (row-level security applies to
 * every read), then mails and announces them after the commit.
 */
async function checkAlerts(
  tenantId: string,
  subjects: { memberId: string | null; agentId: string | null }
) {
  const config = await alertConfig(tenantId)
  const relevant = config.budgets.filter(
    (b) =>
      (b.scope === 'member' && b.subjectId === subjects.memberId) ||
      (b.scope === 'agent' && b.subjectId === subjects.agentId)
  )
  if (!relevant.length && config.lowBalance === null) return
  const zone = (await tenantTimeZone(tenantId)) ?? 'UTC'
  const agents = await agentNames(
    tenantId,
    relevant.filter((b) => b.scope === 'agent').map((b) => b.subjectId)
  )
  const sent = await withTenant(tenantId, async (trx) => {
    const period = periodAt(new Date(), zone)
    const tenant = await Tenant.query({ client: trx }).where('id', tenantId).first()
    if (!tenant) return []
    const alerts: Alert[] = []
    if (relevant.length) {
      const spent = await spentByBudget(
        trx,
        tenantId,
        {
          members: relevant.filter((b) => b.scope === 'member').map((b) => b.subjectId),
          agents: relevant.filter((b) => b.scope === 'agent').map((b) => b.subjectId),
        },
        period.start.toJSDate(),
        false
      )
      for (const budget of relevant) {
        const used = spent.get(`${budget.scope}:${budget.subjectId}`) ?? 0n
        const reached = BUDGET_THRESHOLDS.filter((t) => used * 100n >= budget.limit * BigInt(t))
        const fresh = await recordAlerts(
          trx,
          tenantId,
          `${budget.scope}:${budget.subjectId}`,
          period.firstDay,
          reached
        )
        if (!fresh.length) continue
        const threshold = Math.max(...fresh)
        const name =
          budget.scope === 'agent'
            ? `Agent "${agents.get(budget.subjectId) ?? 'deleted'}"`
            : ((await memberNames(tenantId, [budget.subjectId], trx)).get(budget.subjectId)?.name ??
              'A former member')
        alerts.push({
          kind: 'budget.threshold',
          extraRecipient: budget.scope === 'member' ? budget.subjectId : null,
          dedupeKey: `budget:${tenantId}:${budget.scope}:${budget.subjectId}:${period.key}:${threshold}`,
          title: `A monthly ${budget.scope} budget reached ${threshold} %`,
          body:
            `${name} has spent ${formatCredits(used)} of its ${formatCredits(budget.limit)} ` +
            `credits monthly budget in ${tenant.name} (${period.key}).` +
            (threshold >= 100 ? ' Runs that would exceed it are refused until next month.' : ''),
          event: new BudgetThresholdReached({
            tenantId,
            scope: budget.scope,
            subjectId: budget.subjectId,
            threshold,
            period: period.key,
            spentMicros: used,
            limitMicros: budget.limit,
          }),
        })
      }
    }
    if (config.lowBalance !== null) {
      const { rows } = await sql(
        trx,
        'SELECT balance - held AS available FROM credit_accounts WHERE tenant_id = ?',
        [tenantId]
      )
      const available = BigInt(rows[0]?.available ?? 0)
      if (
        available < config.lowBalance &&
        (await recordAlerts(trx, tenantId, 'low_balance', period.firstDay, [0])).length
      )
        alerts.push({
          kind: 'credits.low',
          extraRecipient: null,
          dedupeKey: `credits.low:${tenantId}:${period.key}`,
          title: 'Credits are running low',
          body:
            `${tenant.name} has ${formatCredits(available)} credits available, below its alert ` +
            `threshold of ${formatCredits(config.lowBalance)}. Buy credits to keep runs going.`,
          event: new CreditsRanLow({
            tenantId,
            period: period.key,
            availableMicros: available,
            thresholdMicros: config.lowBalance,
          }),
        })
    }
    const url = new URL(urlFor('credits.budgets.show', { tenant: tenant.slug }), appUrl).toString()
    const out = []
    for (const alert of alerts) {
      // Owners and admins, and the member a member budget is about (through the tenants' door).
      const recipients: Recipient[] = await memberContacts(
        tenantId,
        { roles: ['owner', 'admin'], userId: alert.extraRecipient },
        trx
      )
      const note = { kind: alert.kind, title: alert.title, body: alert.body, url }
      const recorded = await recordNotifications(trx, {
        recipients,
        tenantId,
        dedupeKey: alert.dedupeKey,
        ...note,
      })
      out.push({ alert, recorded, note })
    }
    return out
  })
  for (const { alert, recorded, note } of sent) {
    await Promise.resolve()
      .then(() => emitter.emit(alert.event.constructor as any, alert.event))
      .catch((error) => logger.error({ err: error, tenantId }, 'announcing a credit alert failed'))
    await mailNotifications(recorded, note).catch((error) =>
      logger.error({ err: error, tenantId, kind: alert.kind }, 'mailing a credit alert failed')
    )
  }
}

/** Inserts the alert rows; returns the thresholds this call recorded first. */
async function recordAlerts(
  trx: TransactionClientContract,
  tenantId: string,
  subject: string,
  period: string,
  thresholds: readonly number[]
) {
  if (!thresholds.length) return []
  const result = await trx.rawQuery(
    `INSERT INTO budget_alerts (tenant_id, subject, period, threshold)
     SELECT ?, ?, ?::date, t FROM unnest(?::int[]) AS t
     ON CONFLICT DO NOTHING RETURNING threshold`,
    [tenantId, subject, period, [...thresholds]]
  )
  return result.rows.map((row: { threshold: number }) => Number(row.threshold))
}
