/*
 * Edge: the default disk holds the shared UI kit (resources/views/components, layouts, errors);
 * each module has its own disk: view.render('credits::pages/ledger').
 */
import app from '@adonisjs/core/services/app'
import edge from 'edge.js'
import { moduleNames } from '#config/modules'
import { formatCredits } from '#core/money'
import { unreadBadge } from '#platform'

for (const name of moduleNames) {
  edge.mount(name, app.viewsPath(name))
}

/*
 * edge.js 6.5: the default instance is created without `cache`, so its "supercharged components"
 * plugin stays recurring even after AdonisJS configures `cache: true` in production, and every
 * render re-lists every disk's components/ folder (readdirSync + existsSync). The folders do not
 * change in production: list them once.
 */
if (app.inProduction) {
  const listComponents = edge.loader.listComponents.bind(edge.loader)
  let components: ReturnType<typeof listComponents> | undefined
  edge.loader.listComponents = () => (components ??= listComponents())
}

edge.global('appName', 'Agora')
edge.global('formatCredits', formatCredits)
edge.global('unreadBadge', unreadBadge)

/** One Intl.NumberFormat for the process: `toLocaleString(locale, options)` builds one per call. */
const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 })
edge.global('formatNumber', (value: unknown) =>
  numberFormat.format(Number(Number(value).toFixed(6)))
)
