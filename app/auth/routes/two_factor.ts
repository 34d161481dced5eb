/* auth: two-factor (TOTP) enrolment, challenge and recovery-code routes (auth.two_factor*). */
