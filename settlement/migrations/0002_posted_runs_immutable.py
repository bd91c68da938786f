"""A posted run and its lines are immutable, in the database (no code path, admin or raw SQL
escapes it): UPDATE or DELETE of a posted run, and any write on the lines of a posted run,
raise. A correction is a new run (`corrects`), as the ledger's corrections are new postings."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION settlement_run_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'posted' THEN
        RAISE EXCEPTION 'settlement: run % is posted and immutable (% refused); make a correcting run',
            OLD.id, TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER settlement_run_immutable
    BEFORE UPDATE OR DELETE ON settlement_settlementrun
    FOR EACH ROW EXECUTE FUNCTION settlement_run_immutable();

CREATE OR REPLACE FUNCTION settlement_line_immutable() RETURNS trigger AS $$
DECLARE
    rid bigint;
    st varchar;
BEGIN
    IF TG_OP = 'INSERT' THEN
        rid := NEW.run_id;
    ELSE
        rid := OLD.run_id;
    END IF;
    SELECT status INTO st FROM settlement_settlementrun WHERE id = rid;
    IF st = 'posted' THEN
        RAISE EXCEPTION 'settlement: the lines of posted run % are immutable (% refused)', rid, TG_OP
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER settlement_line_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON settlement_settlementline
    FOR EACH ROW EXECUTE FUNCTION settlement_line_immutable();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS settlement_line_immutable ON settlement_settlementline;
DROP FUNCTION IF EXISTS settlement_line_immutable();
DROP TRIGGER IF EXISTS settlement_run_immutable ON settlement_settlementrun;
DROP FUNCTION IF EXISTS settlement_run_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
