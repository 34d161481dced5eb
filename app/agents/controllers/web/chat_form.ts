import { randomUUID } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import { urlFor } from '#core'
import { currentTenant } from '#tenants'
import type Agent from '#agents/models/agent'
import Thread from '#agents/models/thread'
import type { FieldErrors } from '#agents/controllers/web/agent_form'
import { can } from '#agents/controllers/web/helpers'

/** Flash key of a refused chat message (kept for a browser without JavaScript). */
export const CHAT_FLASH_KEY = 'chatForm'

export type ChatFormState = { values: { input: string }; errors: FieldErrors | null }

/** The agent's conversations, most recently active first (the chat page's sidebar). */
export function recentThreads(tenantId: string, agentId: string) {
  return Thread.query()
    .where('tenantId', tenantId)
    .where('agentId', agentId)
    .orderBy('updatedAt', 'desc')
    .orderBy('id', 'desc')
    .limit(50)
}

/** Props of agents::components/chat_form. */
export function chatFormProps(
  ctx: HttpContext,
  agent: Agent,
  threadId: string | null,
  state: ChatFormState
) {
  return {
    action: urlFor('agents.web.runs.store', {
      tenant: currentTenant(ctx).tenant.slug,
      slug: agent.slug,
    }),
    agent,
    threadId,
    canRun: can(ctx, 'runs.write'),
    // One key per rendered form: submitting it twice starts one run.
    idempotencyKey: randomUUID(),
    values: state.values,
    errors: state.errors,
  }
}
