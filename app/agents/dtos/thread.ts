import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { dateTimeSchema } from '#core'
import type Thread from '#agents/models/thread'
import type Message from '#agents/models/message'

const threadFields = {
  id: vine.string(),
  agent_id: vine.string().nullable(),
  title: vine.string().nullable(),
  created_at: dateTimeSchema(),
  updated_at: dateTimeSchema(),
}

/** A conversation (OpenAPI `Thread`). */
export const threadSchema = vine.object(threadFields)

/** A conversation with its messages, oldest first (OpenAPI `ThreadWithMessages`). */
export const threadWithMessagesSchema = vine.object({
  ...threadFields,
  messages: vine.array(
    vine.object({
      id: vine.string(),
      role: vine.enum(['system', 'user', 'assistant'] as const),
      content: vine.string(),
      run_id: vine.string().nullable(),
      created_at: dateTimeSchema(),
    })
  ),
})

export function serializeThread(thread: Thread): Infer<typeof threadSchema> {
  return {
    id: thread.id,
    agent_id: thread.agentId,
    title: thread.title,
    created_at: thread.createdAt.toISO()!,
    updated_at: thread.updatedAt.toISO()!,
  }
}

export function serializeThreadWithMessages(
  thread: Thread,
  messages: Message[]
): Infer<typeof threadWithMessagesSchema> {
  return {
    ...serializeThread(thread),
    messages: messages.map((m) => ({
      id: m.id,
      role: m.role,
      content: m.content,
      run_id: m.runId,
      created_at: m.createdAt.toISO()!,
    })),
  }
}
