import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import UserCreate from '#auth/commands/user_create'
import { User } from '#auth'
import { runCommand } from '#tests/helpers/ace'

test.group('auth / user:create', () => {
  test('creates a user (admin with --admin) and prints only its id on stdout', async ({
    assert,
  }) => {
    const email = `ops-${randomUUID()}@example.test`
    const result = await runCommand(UserCreate, [
      email,
      '--password=a long operator passphrase',
      '--name=Ops',
      '--admin',
    ])
    assert.equal(result.exitCode, 0)
    const user = await User.query().where('email', email).firstOrFail()
    assert.equal(result.stdout.trim(), user.id)
    assert.isTrue(user.platformAdmin)
    assert.equal(user.name, 'Ops')
  })

  test('refuses a duplicate (any case), a bad email and a common password with a one-line reason', async ({
    assert,
  }) => {
    const email = `dup-${randomUUID()}@example.test`
    await runCommand(UserCreate, [email, '--password=a long operator passphrase'])
    for (const argv of [
      [email.toUpperCase(), '--password=a long operator passphrase'],
      ['not-an-email', '--password=a long operator passphrase'],
      [`p-${randomUUID()}@example.test`, '--password=password1'],
    ]) {
      const result = await runCommand(UserCreate, argv)
      assert.equal(result.exitCode, 1, argv[0])
      assert.equal(result.stdout, '')
      assert.match(result.stderr.trim(), /^error: [^\n]+$/)
    }
  })
})
