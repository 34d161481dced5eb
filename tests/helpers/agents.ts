import { randomUUID } from 'node:crypto'
import { grant } from '#credits'
import type { User } from '#auth'
import { createUser } from '#tests/helpers/web_session'
import { createWorkspace, tokenFor } from '#tests/helpers/tenants'

/** An owner, a workspace with `credits` granted, and an API token for it. */
export async function apiWorkspace(credits: bigint = 1_000_000_000n) {
  const owner: User = await createUser()
  const tenant = await createWorkspace(owner)
  if (credits > 0n) await grant({ tenantId: tenant.id, amount: credits, reason: 'test grant', idempotencyKey: `seed-${randomUUID()}` })
  const token = await tokenFor(owner, tenant.id)
  return { owner, tenant, token }
}

/** Parses a Server-Sent Events body into its events. */
export function parseSse(body: string) {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() && !frame.startsWith(':'))
    .map((frame) => {
      const fields: Record<string, string> = {}
      for (const line of frame.split('\n')) {
        const index = line.indexOf(':')
        if (index > 0) fields[line.slice(0, index)] = (fields[line.slice(0, index)] ? fields[line.slice(0, index)] + '\n' : '') + line.slice(index + 1).trimStart()
      }
      return { id: fields.id, event: fields.event ?? 'message', data: fields.data }
    })
}
