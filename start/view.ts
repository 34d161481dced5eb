/*
 * Edge: the default disk holds the shared UI kit (resources/views/components, layouts, errors);
 * each module has its own disk: view.render('credits::pages/ledger').
 */
import app from '@adonisjs/core/services/app'
import edge from 'edge.js'
import { moduleNames } from '#config/modules'
import { formatCredits } from '#core/money'

for (const name of moduleNames) {
  edge.mount(name, app.viewsPath(name))
}

edge.global('appName', 'Agora')
edge.global('formatCredits', formatCredits)
