import type { HttpContext } from '@adonisjs/core/http'
import { isUuid, keysetPage, NotFoundException, pageParams } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import Thread from '#agents/models/thread'
import Message from '#agents/models/message'
import { findAgent } from '#agents/services/lookup'
import { threadValidator } from '#agents/validators/threads'
import { serializeThread, serializeThreadWithMessages } from '#agents/dtos/thread'

/** /api/v1/threads: conversations and their messages. */
export default class ThreadsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const page = await keysetPage<Thread>(
      Thread.query().where('threads.tenant_id', tenant.id),
      'threads',
      pageParams(ctx)
    )
    return { data: page.rows.map(serializeThread), next_cursor: page.next_cursor }
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'runs.write')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(threadValidator)
    const agent = input.agent ? await findAgent(tenant.id, input.agent) : null
    if (input.agent && !agent)
      throw Object.assign(new Error('Unknown agent.'), {
        code: 'E_VALIDATION_ERROR',
        status: 422,
        messages: [{ field: 'agent', message: 'No such agent in this workspace.' }],
      })
    const thread = await Thread.create({
      tenantId: tenant.id,
      agentId: agent?.id ?? null,
      title: input.title ?? null,
      createdBy: membership.userId,
    })
    ctx.response.header('Location', `/api/v1/threads/${thread.id}`)
    return ctx.response.created(serializeThread(thread))
  }

  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const thread = isUuid(ctx.params.id)
      ? await Thread.query().where('tenantId', tenant.id).where('id', ctx.params.id).first()
      : null
    if (!thread) throw new NotFoundException()
    const messages = await Message.query()
      .where('tenantId', tenant.id)
      .where('threadId', thread.id)
      .orderBy('createdAt')
    return serializeThreadWithMessages(thread, messages)
  }
}
