"""The ledger's guarantees, in the database (so no code path, admin or raw SQL escapes them).

1. Balance: a deferred constraint trigger checks at commit that every posting touched has at
   least two legs, that they sum to zero, and that every leg's account has the posting's
   currency (one posting never mixes currencies). As django-hordak, plus the currency rule.
2. Append-only: UPDATE and DELETE on legs and postings raise. (TRUNCATE, used only by the
   test runner's flush, is a table-level operation outside these row triggers.)
3. Stored balance: each leg insert adds its amount to its account's balance in the same
   transaction; the account's CHECK (wallet balance >= held >= 0) then refuses an overdraft.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION billing_posting_check() RETURNS trigger AS $$
DECLARE
    pid bigint;
    total numeric;
    n integer;
    bad integer;
BEGIN
    IF TG_TABLE_NAME = 'billing_posting' THEN
        pid := NEW.id;
    ELSE
        pid := NEW.posting_id;
    END IF;
    SELECT COALESCE(SUM(l.amount), 0), COUNT(*) INTO total, n FROM billing_leg l WHERE l.posting_id = pid;
    IF n < 2 THEN
        RAISE EXCEPTION 'billing: posting % has % leg(s); a posting needs at least two', pid, n
            USING ERRCODE = 'check_violation';
    END IF;
    IF total <> 0 THEN
        RAISE EXCEPTION 'billing: posting % does not balance (legs sum to %)', pid, total
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT COUNT(*) INTO bad FROM billing_leg l
        JOIN billing_account a ON a.id = l.account_id
        JOIN billing_posting p ON p.id = l.posting_id
        WHERE l.posting_id = pid AND a.currency <> p.currency;
    IF bad > 0 THEN
        RAISE EXCEPTION 'billing: posting % mixes currencies', pid USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER billing_leg_balanced
    AFTER INSERT ON billing_leg DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_posting_check();
CREATE CONSTRAINT TRIGGER billing_posting_balanced
    AFTER INSERT ON billing_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_posting_check();

CREATE OR REPLACE FUNCTION billing_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'billing: % is append-only (% refused); post a correction instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_leg_append_only BEFORE UPDATE OR DELETE ON billing_leg
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
CREATE TRIGGER billing_posting_append_only BEFORE UPDATE OR DELETE ON billing_posting
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();

CREATE OR REPLACE FUNCTION billing_leg_apply() RETURNS trigger AS $$
BEGIN
    UPDATE billing_account SET balance = balance + NEW.amount WHERE id = NEW.account_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_leg_apply AFTER INSERT ON billing_leg
    FOR EACH ROW EXECUTE FUNCTION billing_leg_apply();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_leg_apply ON billing_leg;
DROP TRIGGER IF EXISTS billing_leg_append_only ON billing_leg;
DROP TRIGGER IF EXISTS billing_posting_append_only ON billing_posting;
DROP TRIGGER IF EXISTS billing_leg_balanced ON billing_leg;
DROP TRIGGER IF EXISTS billing_posting_balanced ON billing_posting;
DROP FUNCTION IF EXISTS billing_leg_apply();
DROP FUNCTION IF EXISTS billing_append_only();
DROP FUNCTION IF EXISTS billing_posting_check();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
