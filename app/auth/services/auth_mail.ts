import type User from '#auth/models/user'

/** Sends the email-verification link for `email` (the account's address or a new one). */
export async function sendVerificationEmail(_user: User, _email: string) {}

/** Tells the owner of an already-registered address that someone tried to sign up with it. */
export async function sendSignupAttemptNotice(_email: string) {}
