/* auth: email verification, password reset and email change routes (auth.email_*, auth.password_reset.*). */
