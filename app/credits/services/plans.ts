import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { sql } from '#credits/services/accounts'

/** A plan as reference data: its monthly allowance (micro-credits) and price (cents). */
export type Plan = {
  id: string
  name: string
  monthlyAllowance: bigint
  priceCents: number
  maxMembers: number | null
}

const toPlan = (row: any): Plan => ({
  id: row.id,
  name: row.name,
  monthlyAllowance: BigInt(row.monthly_allowance_micros),
  priceCents: Number(row.price_cents),
  maxMembers: row.max_members === null ? null : Number(row.max_members),
})

/** Every plan, cheapest first. */
export async function listPlans(): Promise<Plan[]> {
  const rows = await db
    .from('plans')
    .select('id', 'name', 'monthly_allowance_micros', 'price_cents', 'max_members')
    .orderBy('sort_order')
    .orderBy('id')
  return rows.map(toPlan)
}

export async function findPlan(id: string) {
  const { rows } = await sql(
    db,
    'SELECT id, name, monthly_allowance_micros, price_cents, max_members FROM plans WHERE id = ?',
    [id]
  )
  return rows.length ? toPlan(rows[0]) : null
}

/** A tenant's scheduled plan change (effective from `effectiveFrom`, a period's first day). */
export type PlanChange = { planId: string; effectiveFrom: string }

export async function pendingPlanChange(
  tenantId: string,
  client?: TransactionClientContract
): Promise<PlanChange | null> {
  const { rows } = await sql(
    client ?? db,
    `SELECT plan_id, to_char(effective_from, 'YYYY-MM-DD') AS effective_from
       FROM plan_changes WHERE tenant_id = ?`,
    [tenantId]
  )
  return rows.length ? { planId: rows[0].plan_id, effectiveFrom: rows[0].effective_from } : null
}

/** "$19.00" from cents. */
export function formatPrice(cents: number, currency = 'usd') {
  const symbol = currency.toLowerCase() === 'usd' ? '$' : `${currency.toUpperCase()} `
  return `${symbol}${(cents / 100).toFixed(2)}`
}
