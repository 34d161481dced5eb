import vine from '@vinejs/vine'

/** POST /api/v1/chat/completions: OpenAI's request, unknown fields allowed (and ignored). */
/** Either name OpenAI accepts for the output cap: a JSON integer, never coerced. */
const maxTokens = () =>
  vine.number({ strict: true }).withoutDecimals().min(1).max(32_000).optional().nullable()

export const completionValidator = vine.create(
  vine
    .object({
      model: vine.string().trim().minLength(1).maxLength(200),
      messages: vine
        .array(
          vine
            .object({
              role: vine.enum(['system', 'user', 'assistant', 'developer'] as const),
              content: vine.unionOfTypes([
                vine.string().maxLength(200_000),
                vine.array(
                  vine
                    .object({ type: vine.string(), text: vine.string().optional() })
                    .allowUnknownProperties()
                ),
              ]),
            })
            .allowUnknownProperties()
        )
        .minLength(1)
        .maxLength(500),
      // JSON types only, as OpenAI checks them: `max_tokens: true` or `"5"` is refused, never coerced.
      stream: vine.boolean({ strict: true }).optional().nullable(),
      max_tokens: maxTokens(),
      max_completion_tokens: maxTokens(),
      temperature: vine.number({ strict: true }).min(0).max(2).optional().nullable(),
      tools: vine.array(vine.any()).maxLength(64).optional(),
    })
    .allowUnknownProperties()
)
