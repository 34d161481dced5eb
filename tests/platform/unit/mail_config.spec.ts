import { test } from '@japa/runner'
import { smtpConfigFromUrl } from '#platform/services/mail_config'

test.group('platform / SMTP_URL', () => {
  test('reads host, port and credentials (percent-decoded)', ({ assert }) => {
    assert.deepEqual(smtpConfigFromUrl('smtp://mailer%40corp:p%3Ass@mail.example.test:2525'), {
      host: 'mail.example.test',
      port: 2525,
      secure: false,
      auth: { type: 'login', user: 'mailer@corp', pass: 'p:ss' },
    })
  })

  test('defaults the port: 587 for smtp, 465 (implicit TLS) for smtps; no credentials, no auth', ({
    assert,
  }) => {
    assert.deepEqual(smtpConfigFromUrl('smtp://relay.test'), {
      host: 'relay.test',
      port: 587,
      secure: false,
    })
    assert.deepEqual(smtpConfigFromUrl('smtps://relay.test'), {
      host: 'relay.test',
      port: 465,
      secure: true,
    })
  })

  test('refuses what is not an SMTP URL with a readable message', ({ assert }) => {
    assert.throws(() => smtpConfigFromUrl('mail.example.test:25'), /smtp:\/\//)
    assert.throws(() => smtpConfigFromUrl('http://mail.example.test'), /must start with smtp/)
    assert.throws(() => smtpConfigFromUrl('not a url'), /not a valid URL/)
  })
})
