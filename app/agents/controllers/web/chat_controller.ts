import type { HttpContext } from '@adonisjs/core/http'
import { isUuid, NotFoundException } from '#core'
import { authorize, currentTenant } from '#tenants'
import Run from '#agents/models/run'
import Thread from '#agents/models/thread'
import { routeAgent } from '#agents/controllers/web/helpers'
import {
  CHAT_FLASH_KEY,
  chatFormProps,
  recentThreads,
  type ChatFormState,
} from '#agents/controllers/web/chat_form'

const TURNS_SHOWN = 100

/** /t/:tenant/agents/:slug/chat[?thread=id]: the agent's threads and one conversation. */
export default class ChatController {
  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    authorize(ctx, 'runs.read')
    const agent = await routeAgent(ctx)
    const threadParam = ctx.request.qs().thread
    let thread: Thread | null = null
    if (threadParam !== undefined && threadParam !== '') {
      thread = isUuid(threadParam)
        ? await Thread.query()
            .where('tenantId', tenant.id)
            .where('agentId', agent.id)
            .where('id', threadParam)
            .first()
        : null
      if (!thread) throw new NotFoundException('This conversation does not exist.')
    }
    const turns = thread
      ? (
          await Run.query()
            .where('tenantId', tenant.id)
            .where('threadId', thread.id)
            .orderBy('createdAt', 'desc')
            .orderBy('id', 'desc')
            .limit(TURNS_SHOWN)
        ).reverse()
      : []
    const flashed = ctx.session.flashMessages.get(CHAT_FLASH_KEY) as ChatFormState | undefined
    return ctx.view.render('agents::pages/chat', {
      agent,
      thread,
      threads: await recentThreads(tenant.id, agent.id),
      turns,
      form: chatFormProps(
        ctx,
        agent,
        thread?.id ?? null,
        flashed ?? { values: { input: '' }, errors: null }
      ),
    })
  }
}
