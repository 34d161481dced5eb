/*
 * Edge: the default disk holds the shared UI kit (resources/views/components, layouts, errors);
 * each module has its own disk: view.render('credits::pages/ledger').
 */
import app from '@adonisjs/core/services/app'
import edge from 'edge.js'
import { moduleNames } from '#config/modules'
import { formatCredits } from '#core/money'
import { unreadBadge } from '#platform'
import { cacheTemplatesForProduction } from '#core/edge_caches'

for (const name of moduleNames) {
  edge.mount(name, app.viewsPath(name))
}

/* Caches edge.js leaves out in production (see cacheTemplatesForProduction). */
if (app.inProduction) cacheTemplatesForProduction(edge)

edge.global('appName', 'Agora')
edge.global('formatCredits', formatCredits)
edge.global('unreadBadge', unreadBadge)

/** One Intl.NumberFormat for the process: `toLocaleString(locale, options)` builds one per call. */
const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 })
edge.global('formatNumber', (value: unknown) =>
  numberFormat.format(Number(Number(value).toFixed(6)))
)
