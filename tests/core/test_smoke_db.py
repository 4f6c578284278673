from sqlalchemy import text

from claimwatch import db


def test_migrated_schema_has_regions(database):
    with db.get_engine().connect() as conn:
        assert conn.execute(text("select count(*) from regions")).scalar_one() == 31
