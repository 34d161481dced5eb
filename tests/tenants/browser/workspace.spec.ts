import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import type { Page } from 'playwright-core'
import { findDevMail, listDevMailbox } from '#platform'
import { UserFactory, USER_PASSWORD } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const base = () => `http://${process.env.HOST}:${process.env.PORT}`

async function logIn(page: Page, email: string) {
  await page.goto(`${base()}/login`)
  await page.fill('input[name="email"]', email)
  await page.fill('input[name="password"]', USER_PASSWORD)
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.click('form[action="/login"] button[type="submit"]'),
  ])
}

/** The path of the newest invitation link mailed to `to` (the dev mailbox is the test mailer). */
async function invitationPath(to: string) {
  const { mails } = await listDevMailbox({ to })
  for (const summary of mails) {
    const mail = await findDevMail(summary.id)
    const link = mail?.links.find((candidate) => candidate.includes('/invitations/'))
    if (link) return new URL(link).pathname
  }
  throw new Error(`no invitation mailed to ${to}`)
}

test.group('tenants / a workspace in a real browser', () => {
  test('create a workspace, invite a member, accept in a second browser, switch workspaces', async ({
    browser,
    browserContext,
    assert,
    cleanup,
  }) => {
    const owner = await UserFactory.merge({ name: 'Olga Owner' }).create()
    const invitee = await UserFactory.merge({ name: 'Ivan Invitee' }).create()
    const { tenant: home } = await WorkspaceFactory.create({
      owner: invitee,
      name: `Ivan Home ${randomUUID().slice(0, 4)}`,
    })
    const slug = `browser-${randomUUID().slice(0, 8)}`
    const problems: string[] = []

    // The owner creates a workspace through the form and invites the second user.
    const ownerPage = await browserContext.newPage()
    ownerPage.on('pageerror', (error) => problems.push(error.message))
    await logIn(ownerPage, owner.email)
    await ownerPage.goto(`${base()}/tenants/new`)
    await ownerPage.fill('input[name="name"]', 'Browser Co')
    await ownerPage.fill('input[name="slug"]', slug)
    await Promise.all([
      ownerPage.waitForURL(`${base()}/t/${slug}`),
      ownerPage.click('form[action="/tenants"] button[type="submit"]'),
    ])
    assert.include(await ownerPage.textContent('h1'), 'Browser Co')

    await ownerPage.goto(`${base()}/t/${slug}/members`)
    await ownerPage.fill('#invite input[name="email"]', invitee.email)
    await ownerPage.selectOption('#invite select[name="role"]', 'member')
    await Promise.all([
      ownerPage.waitForURL(`${base()}/t/${slug}/members`),
      ownerPage.click('#invite button[type="submit"]'),
    ])
    assert.include(await ownerPage.textContent('#alerts'), `Invitation sent to ${invitee.email}`)
    assert.include(await ownerPage.textContent('#invitations'), invitee.email)

    // The invitee accepts in a browser of their own.
    const inviteeContext = await browser.newContext()
    cleanup(() => inviteeContext.close())
    const inviteePage = await inviteeContext.newPage()
    inviteePage.on('pageerror', (error) => problems.push(error.message))
    await logIn(inviteePage, invitee.email)
    await inviteePage.goto(`${base()}${await invitationPath(invitee.email)}`)
    assert.include(await inviteePage.textContent('h1'), 'Join Browser Co')
    await Promise.all([
      inviteePage.waitForURL(`${base()}/t/${slug}`),
      inviteePage.click('button:has-text("Accept and join Browser Co")'),
    ])
    assert.include(await inviteePage.textContent('#alerts'), 'Welcome to Browser Co!')

    // The switcher lists both workspaces; choosing the other one goes there.
    await inviteePage.click('.tenant-switcher summary')
    await Promise.all([
      inviteePage.waitForURL(`${base()}/t/${home.slug}`),
      inviteePage.click(`.tenant-switcher a[href="/t/${home.slug}"]`),
    ])
    assert.include(await inviteePage.textContent('h1'), home.name)
    await inviteePage.click('.tenant-switcher summary')
    await Promise.all([
      inviteePage.waitForURL(`${base()}/t/${slug}`),
      inviteePage.click(`.tenant-switcher a[href="/t/${slug}"]`),
    ])

    // The owner now sees the new member and no pending invitation.
    await ownerPage.goto(`${base()}/t/${slug}/members`)
    assert.include(await ownerPage.textContent('main table'), 'Ivan Invitee')
    assert.notInclude(await ownerPage.textContent('#invitations'), invitee.email)
    assert.deepEqual(problems, [])
  })
})
