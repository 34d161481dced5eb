import net from 'node:net'
import { InvalidInputException } from '#core'
import { recordAudit } from '#platform'
import { withTenant } from '#tenants'
import { parseAllowEntry } from '#agents/tools/http_request'
import { allowedHosts } from '#agents/services/tool_settings'

/** Most entries a workspace's http_request allow-list may hold. */
export const MAX_ALLOWED_HOSTS = 100
const MAX_ENTRY_LENGTH = 300

const SYNTAX = 'Use a host name (api.example.com), *.example.com for its subdomains, or add :port.'

/** One entry in its stored form (lower case, punycode, no scheme or path), or why it is refused. */
function canonicalEntry(raw: string): string | { error: string } {
  const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw
  if (raw.length > MAX_ENTRY_LENGTH) return { error: `"${shown}" is too long. ${SYNTAX}` }
  const entry = parseAllowEntry(raw)
  // WHATWG URLs accept "*" as a host: without this "*" or "*.*" would be stored and match nothing.
  if (!entry || entry.host.includes('*')) return { error: `"${shown}" is not a host. ${SYNTAX}` }
  if (entry.wildcard && net.isIP(entry.host.replace(/^\[|\]$/g, '')))
    return { error: `"${shown}": a wildcard needs a domain name, not an IP address.` }
  return `${entry.wildcard ? '*.' : ''}${entry.host}${entry.port === null ? '' : `:${entry.port}`}`
}

/**
 * Replaces a workspace's http_request allow-list. Entries are trimmed, empty ones dropped, then
 * stored in their canonical form (a pasted URL keeps its host and port), without duplicates.
 * A bad entry is refused on `http_allowed_hosts.N`, N its position in the input.
 */
export async function saveToolSettings(input: {
  tenantId: string
  actorId: string | null
  httpAllowedHosts: unknown[]
}): Promise<string[]> {
  const hosts: string[] = []
  for (const [index, raw] of input.httpAllowedHosts.entries()) {
    const field = `http_allowed_hosts.${index}`
    if (typeof raw !== 'string')
      throw new InvalidInputException(field, 'Each host must be a string.')
    if (raw.trim() === '') continue
    const entry = canonicalEntry(raw.trim())
    if (typeof entry !== 'string') throw new InvalidInputException(field, entry.error)
    if (!hosts.includes(entry)) hosts.push(entry)
  }
  if (hosts.length > MAX_ALLOWED_HOSTS)
    throw new InvalidInputException(
      'http_allowed_hosts',
      `At most ${MAX_ALLOWED_HOSTS} hosts are allowed (${hosts.length} given); ` +
        "use *.example.com to cover a domain's subdomains."
    )
  return withTenant(input.tenantId, async (trx) => {
    const previous = await trx
      .from('tool_settings')
      .where('tenant_id', input.tenantId)
      .forUpdate()
      .first()
    await trx
      .table('tool_settings')
      .insert({
        tenant_id: input.tenantId,
        http_allowed_hosts: JSON.stringify(hosts),
        updated_at: new Date(),
      })
      .onConflict('tenant_id')
      .merge(['http_allowed_hosts', 'updated_at'])
    await recordAudit(
      {
        action: 'agents.tool_settings.updated',
        actorId: input.actorId,
        tenantId: input.tenantId,
        subjectType: 'tool_settings',
        subjectId: input.tenantId,
        changes: {
          http_allowed_hosts: { from: previous?.http_allowed_hosts ?? [], to: hosts },
        },
      },
      trx
    )
    return hosts
  })
}

/** The workspace's tool settings as the API shows them. */
export async function toolSettingsJson(tenantId: string) {
  return { http_allowed_hosts: await allowedHosts(tenantId) }
}
