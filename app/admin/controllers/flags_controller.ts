import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { urlFor } from '#core'
import { FLAGS, recordAudit, setFlag, type FlagKey, type FlagScope } from '#platform'
import { Tenant } from '#tenants'
import { adminLinks } from '#admin/services/nav'

/**
 * /admin/flags: every feature flag with its default and its rows (global, per plan, per tenant;
 * the most specific row wins). PUT switches one on or off, or removes a row (`unset`). Audited.
 */
export default class FlagsController {
  async index({ view, auth }: HttpContext) {
    const rows = await db.from('feature_flags').orderBy(['key', 'scope', 'scope_id'])
    const tenantIds = rows.filter((r) => r.scope === 'tenant').map((r) => r.scope_id)
    const tenants = tenantIds.length ? await Tenant.query().whereIn('id', tenantIds) : []
    const slugOf = new Map(tenants.map((t) => [t.id, t.slug]))
    return view.render('admin::pages/flags', {
      user: auth.user,
      links: adminLinks(),
      flags: Object.entries(FLAGS).map(([key, flag]) => ({
        key,
        description: flag.description,
        default: flag.default,
        rows: rows
          .filter((r) => r.key === key)
          .map((r) => ({
            scope: r.scope,
            target: r.scope === 'tenant' ? (slugOf.get(r.scope_id) ?? r.scope_id) : r.scope_id,
            enabled: r.enabled,
          })),
      })),
      keys: Object.keys(FLAGS),
    })
  }

  /** PUT /admin/flags {key, scope, target (plan id or tenant slug), state: on|off|unset}. */
  async update({ request, response, session, auth }: HttpContext) {
    const back = urlFor('admin.flags.index')
    const key = String(request.input('key') ?? '') as FlagKey
    const scope = String(request.input('scope') ?? '') as FlagScope
    const state = String(request.input('state') ?? '')
    const target = String(request.input('target') ?? '').trim()
    if (
      !(key in FLAGS) ||
      !['global', 'plan', 'tenant'].includes(scope) ||
      !['on', 'off', 'unset'].includes(state)
    ) {
      session.flash('error', 'Choose a flag, a scope and on, off or unset.')
      return response.redirect(back)
    }
    let scopeId: string | null = null
    if (scope === 'tenant') {
      const tenant = await Tenant.findBy('slug', target.toLowerCase())
      if (!tenant) {
        session.flash('error', `No workspace "${target}".`)
        return response.redirect(back)
      }
      scopeId = tenant.id
    } else if (scope === 'plan') {
      if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(target)) {
        session.flash('error', 'A plan flag needs the plan id (e.g. pro).')
        return response.redirect(back)
      }
      scopeId = target
    }
    const enabled = state === 'unset' ? null : state === 'on'
    await setFlag(key, scope, scopeId, enabled)
    await recordAudit({
      action: 'platform.flag.set',
      actorId: auth.user!.id,
      actorLabel: auth.user!.email,
      subjectType: 'flag',
      subjectId: key,
      changes: { scope, target: scopeId, state },
    })
    session.flash('success', `${key} is ${state} for ${scope}${scopeId ? ` ${target}` : ''}.`)
    return response.redirect(back)
  }
}
