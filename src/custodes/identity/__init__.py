"""Who an employee is: OIDC ID tokens, passkey sign-in, sessions, approvals signed by passkey."""
