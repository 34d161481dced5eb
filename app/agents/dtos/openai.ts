import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'

const count = () => vine.number().withoutDecimals()

/** OpenAI's usage object, with cached and reasoning token details where known. */
const usageSchema = vine.object({
  prompt_tokens: count(),
  completion_tokens: count(),
  total_tokens: count(),
  prompt_tokens_details: vine.object({ cached_tokens: count() }).optional(),
  completion_tokens_details: vine.object({ reasoning_tokens: count() }).optional(),
})
export type ChatUsage = Infer<typeof usageSchema>

const toolCallSchema = vine.object({
  id: vine.string(),
  type: vine.literal('function'),
  function: vine.object({ name: vine.string(), arguments: vine.string() }),
})

/** A non-streamed chat completion (OpenAPI `ChatCompletion`). */
export const chatCompletionSchema = vine.object({
  id: vine.string(),
  object: vine.literal('chat.completion'),
  created: count(),
  model: vine.string(),
  choices: vine.array(
    vine.object({
      index: count(),
      message: vine.object({
        role: vine.literal('assistant'),
        content: vine.string().nullable(),
        tool_calls: vine.array(toolCallSchema).optional(),
      }),
      finish_reason: vine.enum(['stop', 'tool_calls'] as const),
      logprobs: vine.null(),
    })
  ),
  usage: usageSchema,
})
export type ChatCompletion = Infer<typeof chatCompletionSchema>

/** OpenAI's model list: catalog models and one `agent:<slug>` per agent (OpenAPI `ModelList`). */
export const modelListSchema = vine.object({
  object: vine.literal('list'),
  data: vine.array(
    vine.object({
      id: vine.string(),
      object: vine.literal('model'),
      created: count(),
      owned_by: vine.string(),
    })
  ),
})
export type ModelList = Infer<typeof modelListSchema>
