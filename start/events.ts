/*
 * Event wiring: listeners live in the module that reacts (events are emitted after commit).
 */
import emitter from '@adonisjs/core/services/emitter'
import { UserSignedUp } from '#auth'
import { RunFinished, verifyRunCharges } from '#agents'
import { addLedgerCheck } from '#credits'
import { hardenDatabase } from '#core'
import { registerTenantHooks } from '#tenants'
import '#analytics' // every door loads at boot: each registers its part of the tenant export

const CreatePersonalWorkspace = () => import('#tenants/listeners/create_personal_workspace')

emitter.on(UserSignedUp, [CreatePersonalWorkspace])
emitter.on(RunFinished, [() => import('#analytics/listeners/project_run_finished')])

hardenDatabase()
registerTenantHooks()
// credits:verify also checks what runs say they cost against the ledger.
addLedgerCheck(verifyRunCharges)
