import { createHash, randomBytes } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { withTenant } from '#tenants/services/tenancy'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import { User, passwordProblem, requestWait, userIdByEmail } from '#auth'
import { DomainException, isUuid } from '#core'
import Invitation from '#tenants/models/invitation'
import Membership from '#tenants/models/membership'
import Tenant from '#tenants/models/tenant'
import type { InvitableRole } from '#tenants/roles'
import { sendInvitationMail } from '#tenants/services/invitation_mail'
import { memberRoomProblem } from '#tenants/services/member_limit'

/** How long an invitation link works. */
export const INVITATION_TTL_DAYS = 7

/** Link tokens: 32 random bytes, base64url (43 characters). */
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/

export type InvitationProblem =
  | 'pending'
  | 'member'
  | 'expired'
  | 'accepted'
  | 'revoked'
  | 'wrong_email'
  | 'account_exists'
  | 'suspended'
  | 'weak_password'
  | 'unverified_inviter'
  | 'member_limit'

/** Which field a refused invitation step blames, if any (the rest concern the invitation). */
const FIELDS: Partial<Record<InvitationProblem, string>> = {
  member: 'email',
  pending: 'email',
  weak_password: 'password',
}

/** A refused invitation step (409, or 422 on the field to blame), with a message for the person. */
export class InvitationError extends DomainException {
  constructor(
    readonly problem: InvitationProblem,
    message: string
  ) {
    const field = FIELDS[problem] ?? null
    super(message, { status: field ? 422 : 409, code: 'E_INVITATION_REFUSED', field })
  }
}

/** 429 with Retry-After: too many invitations to one address, or from one inviter or client. */
export class TooManyInvitationsError extends DomainException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number
  ) {
    super(message, { status: 429, code: 'E_TOO_MANY_INVITATIONS' })
  }
  get headers() {
    return { 'Retry-After': String(Math.max(1, Math.ceil(this.retryAfterSeconds))) }
  }
}

/**
 * Counts one invitation mail, before it is sent, against the limits of the auth module's
 * `invitation_sender` (per inviter and per client address) and `invitation` (per invited
 * address, over every workspace) scopes; beyond them nothing is sent.
 */
async function throttle(email: string, inviterId: string, clientIp: string) {
  const minutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60))
  const senderWait = await requestWait('invitation_sender', inviterId, clientIp)
  if (senderWait !== null)
    throw new TooManyInvitationsError(
      'Too many invitations were sent from your account or network in the last hour. ' +
        `Try again in ${minutes(senderWait)} minute(s).`,
      senderWait
    )
  const addressWait = await requestWait('invitation', email, clientIp)
  if (addressWait !== null)
    throw new TooManyInvitationsError(
      `${email} was sent too many invitations in the last hour. ` +
        `Try again in ${minutes(addressWait)} minute(s).`,
      addressWait
    )
}

export function hashInvitationToken(token: string) {
  return createHash('sha256').update(token).digest('hex')
}

function newToken() {
  const token = randomBytes(32).toString('base64url')
  return { token, tokenHash: hashInvitationToken(token) }
}

export function normaliseEmail(email: string) {
  return email.trim().toLowerCase()
}

const expiry = () => DateTime.now().plus({ days: INVITATION_TTL_DAYS })

/** Why an invitation can no longer be used, or null while it is pending. */
export function invitationProblem(invitation: Invitation): InvitationError | null {
  switch (invitation.status) {
    case 'revoked':
      return new InvitationError(
        'revoked',
        'This invitation was withdrawn. Ask the workspace’s admins for a new one.'
      )
    case 'accepted':
      return new InvitationError('accepted', 'This invitation was already used.')
    case 'expired':
      return new InvitationError(
        'expired',
        'This invitation has expired. Ask the workspace’s admins to send a new one.'
      )
    default:
      return null
  }
}

async function send(invitation: Invitation, token: string, tenant: Tenant, inviter: User) {
  await sendInvitationMail({
    to: invitation.email,
    token,
    workspace: tenant.name,
    inviter: inviter.name || inviter.email,
    role: invitation.role,
    expiresOn: invitation.expiresAt.toUTC().toFormat("d LLLL yyyy, HH:mm 'UTC'"),
  })
}

/**
 * Invites `email` with `role`. Refused for a current member and while an unexpired invitation
 * to the same address is pending; an expired one is renewed instead of piling up. Mails are
 * rate-limited per address, inviter and client address (`clientIp`).
 */
export async function createInvitation(input: {
  tenant: Tenant
  email: string
  role: InvitableRole
  inviter: User
  clientIp: string
}) {
  // An unconfirmed address could be anyone's: it does not send mail in the workspace's name.
  if (!input.inviter.emailVerifiedAt)
    throw new InvitationError(
      'unverified_inviter',
      'Confirm your email address (see your account page) before inviting anyone.'
    )
  const email = normaliseEmail(input.email)
  const { token, tokenHash } = newToken()
  const invitation = await withTenant(input.tenant.id, async (trx) => {
    const members = trx
      .from('memberships')
      .where('memberships.tenant_id', input.tenant.id)
      .select('memberships.user_id')
    if (await userIdByEmail(email, members, trx))
      throw new InvitationError('member', `${email} is already a member of this workspace.`)
    const full = await memberRoomProblem(trx, input.tenant, true)
    if (full) throw new InvitationError('member_limit', full)
    const open = await Invitation.query({ client: trx })
      .where('tenantId', input.tenant.id)
      .whereRaw('lower(email) = ?', [email])
      .whereNull('acceptedAt')
      .whereNull('revokedAt')
      .forUpdate()
      .first()
    if (open && open.status === 'pending') {
      throw new InvitationError(
        'pending',
        `${email} already has a pending invitation: resend it from the list.`
      )
    }
    // Only an invitation that will be mailed counts; a refusal throws and rolls back.
    await throttle(email, input.inviter.id, input.clientIp)
    const fields = {
      role: input.role,
      tokenHash,
      expiresAt: expiry(),
      lastSentAt: DateTime.now(),
      invitedBy: input.inviter.id,
    }
    const row = open
      ? await open.merge(fields).useTransaction(trx).save()
      : await Invitation.create({ tenantId: input.tenant.id, email, ...fields }, { client: trx })
    await audit(
      trx,
      open ? 'tenants.invitation.renewed' : 'tenants.invitation.created',
      input.inviter.id,
      row,
      { email, role: input.role }
    )
    return row
  }).catch((error) => {
    // Two admins inviting the same address at once: the partial unique index decides.
    if (error?.code === '23505')
      throw new InvitationError(
        'pending',
        `${email} already has a pending invitation: resend it from the list.`
      )
    throw error
  })
  await send(invitation, token, input.tenant, input.inviter)
  return { invitation, token }
}

function audit(
  trx: TransactionClientContract,
  action: string,
  actorId: string | null,
  invitation: Invitation,
  changes: Record<string, unknown>
) {
  return recordAudit(
    {
      action,
      actorId,
      tenantId: invitation.tenantId,
      subjectType: 'invitation',
      subjectId: invitation.id,
      changes,
    },
    trx
  )
}

async function openInvitation(
  tenantId: string,
  invitationId: string,
  trx: TransactionClientContract
) {
  if (!isUuid(invitationId)) return null
  return Invitation.query({ client: trx })
    .where('tenantId', tenantId)
    .where('id', invitationId)
    .forUpdate()
    .first()
}

/**
 * Sends the invitation again with a new token (the previous link stops working) and a fresh
 * 7-day expiry, under the same mail limits as a new one. Null when the tenant has no such
 * invitation (another tenant's id included).
 */
export async function renewInvitation(input: {
  tenant: Tenant
  invitationId: string
  actor: User
  clientIp: string
}) {
  const { token, tokenHash } = newToken()
  const invitation = await withTenant(input.tenant.id, async (trx) => {
    const row = await openInvitation(input.tenant.id, input.invitationId, trx)
    if (!row) return null
    if (row.acceptedAt || row.revokedAt) throw invitationProblem(row)!
    await throttle(row.email, input.actor.id, input.clientIp)
    await row
      .merge({ tokenHash, expiresAt: expiry(), lastSentAt: DateTime.now() })
      .useTransaction(trx)
      .save()
    await audit(trx, 'tenants.invitation.renewed', input.actor.id, row, { email: row.email })
    return row
  })
  if (invitation) await send(invitation, token, input.tenant, input.actor)
  return invitation
}

/** Withdraws a pending invitation; its link stops working. Null when the tenant has no such invitation. */
export async function revokeInvitation(input: {
  tenantId: string
  invitationId: string
  actorId: string
}) {
  return withTenant(input.tenantId, async (trx) => {
    const row = await openInvitation(input.tenantId, input.invitationId, trx)
    if (!row) return null
    if (row.acceptedAt) throw invitationProblem(row)!
    if (row.revokedAt) return row
    await row.merge({ revokedAt: DateTime.now() }).useTransaction(trx).save()
    await audit(trx, 'tenants.invitation.revoked', input.actorId, row, {
      email: row.email,
      role: row.role,
    })
    return row
  })
}

/**
 * The invitation a link token stands for, with its tenant, or null for an unknown or malformed
 * token. The token is the capability: it is looked up globally, by its hash.
 */
export async function findInvitation(token: string) {
  if (!TOKEN_FORMAT.test(token)) return null
  const invitation = await Invitation.findBy('tokenHash', hashInvitationToken(token))
  if (!invitation) return null
  const tenant = await Tenant.findOrFail(invitation.tenantId)
  return { invitation, tenant }
}

/** Locks the invitation of a token and checks that it can still be accepted. */
async function lockUsable(token: string, trx: TransactionClientContract) {
  const invitation = TOKEN_FORMAT.test(token)
    ? await Invitation.query({ client: trx })
        .where('tokenHash', hashInvitationToken(token))
        .forUpdate()
        .first()
    : null
  if (!invitation) return null
  const problem = invitationProblem(invitation)
  if (problem) throw problem
  // Locked: concurrent acceptances take turns, so the plan's member limit holds.
  const tenant = await Tenant.query({ client: trx })
    .where('id', invitation.tenantId)
    .forUpdate()
    .firstOrFail()
  if (tenant.suspended)
    throw new InvitationError(
      'suspended',
      `${tenant.name} is suspended: invitations cannot be accepted until the suspension is lifted.`
    )
  return { invitation, tenant }
}

async function join(
  trx: TransactionClientContract,
  { invitation, tenant }: { invitation: Invitation; tenant: Tenant },
  user: User,
  newAccount: boolean
) {
  const full = await memberRoomProblem(trx, tenant, false)
  if (full) throw new InvitationError('member_limit', full)
  const membership = await Membership.create(
    { tenantId: invitation.tenantId, userId: user.id, role: invitation.role },
    { client: trx }
  )
  await invitation
    .merge({ acceptedAt: DateTime.now(), acceptedBy: user.id })
    .useTransaction(trx)
    .save()
  await audit(trx, 'tenants.invitation.accepted', user.id, invitation, {
    email: invitation.email,
    role: invitation.role,
    new_account: newAccount,
  })
  await recordAudit(
    {
      action: 'tenants.membership.added',
      actorId: user.id,
      tenantId: invitation.tenantId,
      subjectType: 'membership',
      subjectId: membership.id,
      changes: { user_id: user.id, role: invitation.role, via: 'invitation' },
    },
    trx
  )
  return membership
}

/**
 * Accepts as the signed-in `user`, whose address must be the invited one. A user who is already
 * a member keeps their role; the invitation is closed. Null for an unknown token.
 */
export async function acceptInvitation(input: { token: string; user: User }) {
  return db.transaction(async (trx) => {
    const found = await lockUsable(input.token, trx)
    if (!found) return null
    const { invitation, tenant } = found
    if (normaliseEmail(input.user.email) !== normaliseEmail(invitation.email)) {
      throw new InvitationError(
        'wrong_email',
        `This invitation was sent to ${invitation.email}, but you are signed in as ${input.user.email}. ` +
          'Log out and open the link again, or ask for an invitation to your address.'
      )
    }
    const existing = await Membership.query({ client: trx })
      .where('tenantId', tenant.id)
      .where('userId', input.user.id)
      .first()
    if (existing) {
      await invitation
        .merge({ acceptedAt: DateTime.now(), acceptedBy: input.user.id })
        .useTransaction(trx)
        .save()
      await audit(trx, 'tenants.invitation.accepted', input.user.id, invitation, {
        email: invitation.email,
        already_member: true,
      })
      return { tenant, membership: existing, alreadyMember: true }
    }
    return {
      tenant,
      membership: await join(trx, { invitation, tenant }, input.user, false),
      alreadyMember: false,
    }
  })
}

/**
 * Creates the invitee's account and joins, in one transaction. The address counts as verified:
 * the link was delivered to it. Refused when an account with that address exists (log in instead).
 */
export async function acceptInvitationAsNewUser(input: {
  token: string
  name: string
  password: string
}) {
  return db
    .transaction(async (trx) => {
      const found = await lockUsable(input.token, trx)
      if (!found) return null
      const { invitation, tenant } = found
      // The same password policy as sign-up (length, common-password list).
      const weak = passwordProblem(input.password, { email: invitation.email })
      if (weak) throw new InvitationError('weak_password', weak)
      const taken = await User.query({ client: trx })
        .whereRaw('lower(email) = ?', [normaliseEmail(invitation.email)])
        .first()
      if (taken)
        throw new InvitationError(
          'account_exists',
          `An account for ${invitation.email} already exists: log in to accept the invitation.`
        )
      const user = await User.create(
        {
          email: invitation.email,
          name: input.name,
          password: input.password,
          timeZone: tenant.timeZone,
          platformAdmin: false,
          emailVerifiedAt: DateTime.now(),
        },
        { client: trx }
      )
      await recordAudit(
        {
          action: 'tenants.invitation.account_created',
          actorId: user.id,
          actorLabel: user.email,
          tenantId: tenant.id,
          subjectType: 'user',
          subjectId: user.id,
        },
        trx
      )
      await join(trx, { invitation, tenant }, user, true)
      return { tenant, user }
    })
    .catch((error) => {
      // A sign-up with the same address committed first.
      if (error?.code === '23505')
        throw new InvitationError(
          'account_exists',
          'An account for this address already exists: log in to accept the invitation.'
        )
      throw error
    })
}
