/*
 * The app's operator commands, one list for ace (commands live in their modules' folders).
 */
import { ListLoader } from '@adonisjs/core/ace'
import UserCreate from '#auth/commands/user_create'
import AuditVerify from '#platform/commands/audit_verify'

const loader = new ListLoader([UserCreate, AuditVerify])

export const getMetaData = () => loader.getMetaData()
export const getCommand = (metaData: Parameters<typeof loader.getCommand>[0]) => loader.getCommand(metaData)
