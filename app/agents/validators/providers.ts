import vine, { SimpleMessagesProvider } from '@vinejs/vine'
import { slug } from '#core'

/** Kinds a tenant may add; the simulator is built in (platform admins may add one). */
export const PROVIDER_KINDS = ['openai_compatible', 'anthropic'] as const
export const PLATFORM_PROVIDER_KINDS = [...PROVIDER_KINDS, 'simulator'] as const

/** Catalog names: what agents reference, e.g. `acme-openai/gpt-4o-mini`. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/

/** An http(s) URL without credentials, at most 2048 characters; the value keeps no trailing slash. */
const httpUrl = vine.createRule((value, _options, field) => {
  if (typeof value !== 'string') return
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return field.report('Enter a full URL starting with https:// (or http://).', 'url', field)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return field.report('Only http:// and https:// URLs are supported.', 'url', field)
  if (url.username || url.password)
    return field.report('Put credentials in the API key field, not in the URL.', 'url', field)
  if (value.length > 2048) return field.report('The URL is too long.', 'url', field)
  field.mutate(url.toString().replace(/\/+$/, ''), field)
})

const name = () => vine.string().trim().minLength(1).maxLength(80)
const baseUrl = () => vine.string().trim().use(httpUrl()).optional().nullable()
const apiKey = () => vine.string().trim().maxLength(4096).regex(/^\S+$/).optional().nullable()

const NAME = 'Enter a name of at most 80 characters.'
const API_KEY = 'That does not look like an API key (no spaces, at most 4096 characters).'
const messages = new SimpleMessagesProvider({
  'name.required': NAME,
  'name.minLength': NAME,
  'name.maxLength': NAME,
  'slug.notIn': '"simulator" is the built-in provider; choose another slug.',
  'kind.required': `Choose one of: ${PROVIDER_KINDS.join(', ')}.`,
  'kind.enum': `Choose one of: ${PROVIDER_KINDS.join(', ')}.`,
  'api_key.maxLength': API_KEY,
  'api_key.regex': API_KEY,
  'name.regex': 'Use letters, digits and . _ : / @ - (at most 200 characters).',
  'upstream_model.maxLength': 'At most 200 characters.',
  'context_window.number': 'Enter a whole number of tokens.',
  'context_window.withoutDecimals': 'Enter a whole number of tokens.',
  'context_window.min': 'Enter a whole number of tokens.',
  'context_window.max': 'Enter a whole number of tokens.',
})

const providerFields = {
  slug: slug().notIn(['simulator']),
  name: name(),
  base_url: baseUrl(),
  api_key: apiKey(),
}

/** A tenant's new provider (settings are checked by validateSettings). */
export const tenantProviderValidator = vine.create({
  ...providerFields,
  kind: vine.enum(PROVIDER_KINDS),
})
tenantProviderValidator.messagesProvider = messages

/** A platform-wide provider: the simulator kind is allowed too. */
export const platformProviderValidator = vine.create({
  ...providerFields,
  kind: vine.enum(PLATFORM_PROVIDER_KINDS),
})
platformProviderValidator.messagesProvider = messages

/** Changes to a provider: only what is given. */
export const providerChangesValidator = vine.create({
  name: name().optional(),
  base_url: baseUrl(),
  api_key: apiKey(),
})
providerChangesValidator.messagesProvider = messages

/** A model added to a provider (prices are checked with the price book's rules). */
export const modelValidator = vine.create({
  name: vine.string().trim().regex(MODEL_NAME),
  upstream_model: vine.string().trim().maxLength(200).optional().nullable(),
  context_window: vine.number().withoutDecimals().min(1).max(100_000_000),
})
modelValidator.messagesProvider = messages
