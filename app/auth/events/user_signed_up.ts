import { BaseEvent } from '@adonisjs/core/events'

/** A new account exists (emitted after commit); tenants reacts by creating a personal workspace. */
export default class UserSignedUp extends BaseEvent {
  constructor(public userId: string) {
    super()
  }
}
