"""Every table is keyed by tenant: ``tenant_id`` leads each primary key, unique constraint, foreign key and index."""

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from loyalty.storage.tables import metadata

TENANT = "tenant_id"


def tenant_key_problems(schema: MetaData) -> list[str]:
    """Every place where ``tenant_id`` is missing or is not the first column; empty when the schema is sound."""
    problems: list[str] = []

    def lead(columns: list[str], where: str) -> None:
        if not columns or columns[0] != TENANT:
            problems.append(f"{where} starts with {columns[:1] or 'nothing'}, not {TENANT}: {columns}")

    for table in schema.sorted_tables:
        name = table.name
        if TENANT not in table.c:
            problems.append(f"{name} has no {TENANT} column")
        lead([c.name for c in table.primary_key.columns], f"{name} primary key")
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                lead([c.name for c in constraint.columns], f"{name} unique {constraint.name}")
            elif isinstance(constraint, ForeignKeyConstraint):
                lead([c.name for c in constraint.columns], f"{name} foreign key {constraint.name}")
                lead(
                    [element.column.name for element in constraint.elements],
                    f"{name} foreign key {constraint.name} (referred columns in {constraint.referred_table.name})",
                )
        for index in table.indexes:
            lead([c.name for c in index.columns], f"{name} index {index.name}")
    return problems


def test_the_engine_schema_leads_every_key_with_tenant_id():
    assert len(metadata.tables) >= 7
    assert tenant_key_problems(metadata) == []


def test_the_walk_sees_the_constraints_it_checks():
    members = metadata.tables["members"]
    uniques = [c for c in members.constraints if isinstance(c, UniqueConstraint)]
    foreign = [c for c in members.constraints if isinstance(c, ForeignKeyConstraint)]
    assert len(uniques) == 3
    assert len(foreign) == 1
    assert len(members.indexes) == 1
    assert [c.name for c in metadata.tables["point_entries"].primary_key.columns] == ["tenant_id", "entry_id"]


def _bad_schema() -> MetaData:
    bad = MetaData()
    Table(
        "tenants",
        bad,
        Column("tenant_id", Uuid, nullable=False),
        PrimaryKeyConstraint("tenant_id"),
    )
    Table(
        "parents",
        bad,
        Column("tenant_id", Uuid, nullable=False),
        Column("parent_id", Uuid, nullable=False),
        PrimaryKeyConstraint("tenant_id", "parent_id"),
    )
    Table(
        "orders",
        bad,
        Column("tenant_id", Uuid, nullable=False),
        Column("order_id", Uuid, nullable=False),
        Column("parent_id", Uuid, nullable=False),
        Column("code", String(20), nullable=False),
        Column("created_at", String(30), nullable=False),
        PrimaryKeyConstraint("order_id", "tenant_id", name="pk_orders"),
        UniqueConstraint("code", name="uq_orders_code"),
        ForeignKeyConstraint(["parent_id", "tenant_id"], ["parents.parent_id", "parents.tenant_id"], name="fk_orders"),
        Index("ix_orders_created_at_tenant_id", "created_at", "tenant_id"),
    )
    Table(
        "logs",
        bad,
        Column("log_id", Uuid, primary_key=True),
        Column("code", String(20), unique=True),
        Column("level", String(20), index=True),
    )
    return bad


def test_the_checker_reports_every_kind_of_misplaced_tenant_id():
    problems = tenant_key_problems(_bad_schema())
    text = "\n".join(problems)
    assert "orders primary key" in text
    assert "orders unique uq_orders_code" in text
    assert "orders foreign key fk_orders starts with" in text
    assert "orders foreign key fk_orders (referred columns in parents)" in text
    assert "orders index ix_orders_created_at_tenant_id" in text
    assert "logs has no tenant_id column" in text
    assert "logs primary key" in text
    # Column(unique=True) and Column(index=True) become a constraint and an index, and are checked as such.
    assert "logs unique" in text
    assert "logs index ix_logs_level" in text
    assert not any(p.startswith(("tenants ", "parents ")) for p in problems), problems


def test_the_checker_catches_a_single_bad_index():
    schema = MetaData()
    Table(
        "members",
        schema,
        Column("tenant_id", Uuid, nullable=False),
        Column("member_id", Uuid, nullable=False),
        Column("created_at", String(30), nullable=False),
        PrimaryKeyConstraint("tenant_id", "member_id"),
        Index("ix_members_created_at_tenant_id", "created_at", "tenant_id"),
    )
    assert tenant_key_problems(schema) == [
        "members index ix_members_created_at_tenant_id starts with ['created_at'], not tenant_id: "
        "['created_at', 'tenant_id']"
    ]
