CREATE TABLE login_failures (
  throttle_key TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(throttle_key, at);
CREATE INDEX sessions_revoked ON sessions(revoked_at);
