"""SQLAlchemy 2 tables, repositories, the unit of work and Alembic migrations."""
