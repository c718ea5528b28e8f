-- Who runs a run: "pid@host", so that a later run can tell a run whose process died
-- (killed, machine rebooted) from one still going, and mark it interrupted.
ALTER TABLE runs ADD COLUMN owner TEXT;
