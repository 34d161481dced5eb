import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import { applyHoldBatch, type HoldOp, type NewHoldOp } from '#credits/actions/apply_hold_batch'
import { admitHoldBatch } from '#credits/actions/admit_hold_batch'
import { verifyLedger } from '#credits'

/** 1 credit in micro-credits. */
export const CREDIT = 1_000_000n

/** The account row as stored (bigints), zeros before its first write. */
export async function accountOf(tenantId: string) {
  const row = await db.from('credit_accounts').where('tenant_id', tenantId).first()
  return { balance: BigInt(row?.balance ?? 0), held: BigInt(row?.held ?? 0) }
}

/** Asserts the tenant's ledger verifies clean (the violations are the failure message). */
export async function assertVerified(
  assert: { deepEqual: (a: unknown, b: unknown, m?: string) => void },
  tenantId: string
) {
  assert.deepEqual(await verifyLedger(tenantId), [], 'credits:verify found violations')
}

export async function dropTenants(...ids: string[]) {
  if (ids.length) await db.from('tenants').whereIn('id', ids).delete()
}

/** What another process would do: its own batch transaction (fast path first, like the queue). */
export async function otherProcessBatch(tenantId: string, ops: HoldOp[]) {
  const newHolds = ops.filter((op): op is NewHoldOp => op.kind === 'hold')
  return (
    (newHolds.length === ops.length ? await admitHoldBatch(tenantId, newHolds) : null) ??
    (await applyHoldBatch(tenantId, ops))
  )
}

/** Runs `node ace <args>` as a separate process; resolves with its output and exit code. */
export function aceProcess(args: string[], options: { onSpawn?: (pid: number) => void } = {}) {
  return new Promise<{
    code: number | null
    signal: string | null
    stdout: string
    stderr: string
  }>((resolve, reject) => {
    const child = spawn(process.execPath, ['ace', ...args], {
      cwd: fileURLToPath(app.appRoot),
      env: { ...process.env, LOG_LEVEL: 'error' },
    })
    let [stdout, stderr] = ['', '']
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('spawn', () => options.onSpawn?.(child.pid!))
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}
