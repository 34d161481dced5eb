import { randomUUID } from 'node:crypto'

/** Parses a Server-Sent Events body into its events. */
export function parseSse(body: string) {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() && !frame.startsWith(':'))
    .map((frame) => {
      const fields: Record<string, string> = {}
      for (const line of frame.split('\n')) {
        const index = line.indexOf(':')
        if (index > 0)
          fields[line.slice(0, index)] =
            (fields[line.slice(0, index)] ? fields[line.slice(0, index)] + '\n' : '') +
            line.slice(index + 1).trimStart()
      }
      return { id: fields.id, event: fields.event ?? 'message', data: fields.data }
    })
}

/**
 * A workspace-owned provider pointing at a fake server, with one model `<slug>/fake-model`
 * (prices in micro-credits per 1M tokens; default 1 and 2 credits like the simulator).
 */
export async function fakeProvider(
  tenantId: string,
  fake: { kind: 'openai' | 'anthropic'; baseUrl: string },
  options: {
    slug?: string
    settings?: Record<string, unknown>
    inputPrice?: bigint
    outputPrice?: bigint
    apiKey?: string
    models?: string[]
    contextWindow?: number
  } = {}
) {
  const { createProvider, addModel } = await import('#agents/actions/manage_providers')
  const slug = options.slug ?? `fake-${randomUUID().slice(0, 6)}`
  const provider = await createProvider({
    tenantId,
    actorId: null,
    slug,
    name: `Fake ${fake.kind}`,
    kind: fake.kind === 'openai' ? 'openai_compatible' : 'anthropic',
    baseUrl: fake.baseUrl,
    apiKey: options.apiKey ?? 'sk-test-0123456789abcd',
    settings: options.settings ?? {},
  })
  const names = options.models ?? ['fake-model']
  for (const name of names) {
    await addModel(provider, {
      actorId: null,
      name: `${slug}/${name}`,
      upstreamModel: name,
      contextWindow: options.contextWindow ?? 128_000,
      inputPriceMicros: options.inputPrice ?? 1_000_000n,
      outputPriceMicros: options.outputPrice ?? 2_000_000n,
    })
  }
  return { provider, model: `${slug}/${names[0]}`, models: names.map((name) => `${slug}/${name}`) }
}

/** Short reliability settings for tests: nothing waits for the 30 s defaults. */
export const FAST = {
  connect_timeout_ms: 500,
  first_token_timeout_ms: 400,
  total_timeout_ms: 1500,
  max_retries: 1,
  breaker: { failure_threshold: 100, cooldown_ms: 200 },
}

/** Lets workspace providers reach the local fake servers (127.0.0.1) for each test of a group. */
export function allowPrivateNetworks(group: { each: { setup: (fn: () => () => void) => void } }) {
  group.each.setup(() => {
    const previous = process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS
    process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS = 'true'
    return () => {
      process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS = previous
    }
  })
}
