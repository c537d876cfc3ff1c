"""The database triggers that move Sku.sale_version (catalog migration 0005),
for PostgreSQL and SQLite, on every change of what a sale reads: a column of
the SKU row other than its stock, its product, its level prices, its quantity
tiers, the name of a member level it has a price for. The version only goes up.

SQLite drops a table's triggers when a migration rebuilds the table (most
ALTERs there), so on SQLite they are installed again after every migrate
(catalog.apps). PostgreSQL keeps them through ALTER TABLE.
"""

from __future__ import annotations


def names(apps):
    sku = apps.get_model("catalog", "Sku")
    product = apps.get_model("catalog", "Product")
    level_price = apps.get_model("catalog", "LevelPrice")
    tier = apps.get_model("catalog", "QuantityTier")
    level = apps.get_model("users", "MemberLevel")
    watched = [
        f.column for f in sku._meta.concrete_fields if f.name not in ("id", "stock")
    ]
    return {
        "sku": sku._meta.db_table,
        "product": product._meta.db_table,
        "product_fk": sku._meta.get_field("product").column,
        "level_price": level_price._meta.db_table,
        "tier": tier._meta.db_table,
        "level": level._meta.db_table,
        "level_fk": level_price._meta.get_field("level").column,
        "sku_fk": level_price._meta.get_field("sku").column,
        "tier_sku_fk": tier._meta.get_field("sku").column,
        "watched": watched,
    }


def postgres_statements(n) -> list[str]:
    # One function for level prices and tiers: their SKU columns are named alike.
    assert n["sku_fk"] == n["tier_sku_fk"]
    watched = ", ".join(n["watched"])
    return [
        f"""
        CREATE OR REPLACE FUNCTION {n["sku"]}_sale_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.sale_version > OLD.sale_version
               OR (to_jsonb(NEW) - 'stock' - 'sale_version')
                  IS DISTINCT FROM (to_jsonb(OLD) - 'stock' - 'sale_version') THEN
                NEW.sale_version := OLD.sale_version + 1;
            ELSE
                NEW.sale_version := OLD.sale_version;
            END IF;
            RETURN NEW;
        END $$""",
        f"""
        CREATE TRIGGER {n["sku"]}_sale_version BEFORE UPDATE OF {watched}
        ON {n["sku"]} FOR EACH ROW EXECUTE FUNCTION {n["sku"]}_sale_version()""",
        f"""
        CREATE OR REPLACE FUNCTION {n["sku"]}_sale_version_of_rows() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = '{n["product"]}' THEN
                UPDATE {n["sku"]} SET sale_version = sale_version + 1
                WHERE {n["product_fk"]} = NEW.id;
            ELSIF TG_TABLE_NAME = '{n["level"]}' THEN
                UPDATE {n["sku"]} SET sale_version = sale_version + 1
                WHERE id IN (SELECT {n["sku_fk"]} FROM {n["level_price"]}
                             WHERE {n["level_fk"]} = NEW.id);
            ELSIF TG_OP = 'DELETE' THEN
                UPDATE {n["sku"]} SET sale_version = sale_version + 1
                WHERE id = OLD.{n["sku_fk"]};
            ELSE
                UPDATE {n["sku"]} SET sale_version = sale_version + 1
                WHERE id = NEW.{n["sku_fk"]}
                   OR (TG_OP = 'UPDATE' AND id = OLD.{n["sku_fk"]});
            END IF;
            RETURN NULL;
        END $$""",
        f"""
        CREATE TRIGGER {n["level_price"]}_sale_version
        AFTER INSERT OR UPDATE OR DELETE ON {n["level_price"]}
        FOR EACH ROW EXECUTE FUNCTION {n["sku"]}_sale_version_of_rows()""",
        f"""
        CREATE TRIGGER {n["tier"]}_sale_version
        AFTER INSERT OR UPDATE OR DELETE ON {n["tier"]}
        FOR EACH ROW EXECUTE FUNCTION {n["sku"]}_sale_version_of_rows()""",
        f"""
        CREATE TRIGGER {n["product"]}_sale_version AFTER UPDATE ON {n["product"]}
        FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
        EXECUTE FUNCTION {n["sku"]}_sale_version_of_rows()""",
        f"""
        CREATE TRIGGER {n["level"]}_sale_version AFTER UPDATE ON {n["level"]}
        FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
        EXECUTE FUNCTION {n["sku"]}_sale_version_of_rows()""",
    ]


def sqlite_statements(n) -> list[str]:
    watched = ", ".join(n["watched"])
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in n["watched"])
    bump = f"UPDATE {n['sku']} SET sale_version = sale_version + 1 WHERE"
    statements = [
        # Recursive triggers are off in SQLite: the UPDATE inside does not fire it.
        f"""
        CREATE TRIGGER {n["sku"]}_sale_version AFTER UPDATE OF {watched}
        ON {n["sku"]} FOR EACH ROW WHEN {changed}
        BEGIN UPDATE {n["sku"]} SET sale_version = OLD.sale_version + 1
        WHERE id = NEW.id; END""",
        f"""
        CREATE TRIGGER {n["product"]}_sale_version AFTER UPDATE ON {n["product"]}
        FOR EACH ROW BEGIN {bump} {n["product_fk"]} = NEW.id; END""",
        f"""
        CREATE TRIGGER {n["level"]}_sale_version AFTER UPDATE ON {n["level"]}
        FOR EACH ROW BEGIN {bump} id IN (SELECT {n["sku_fk"]} FROM
        {n["level_price"]} WHERE {n["level_fk"]} = NEW.id); END""",
    ]
    for table, fk in ((n["level_price"], n["sku_fk"]), (n["tier"], n["tier_sku_fk"])):
        statements += [
            f"""CREATE TRIGGER {table}_sale_version_ins AFTER INSERT ON {table}
            FOR EACH ROW BEGIN {bump} id = NEW.{fk}; END""",
            f"""CREATE TRIGGER {table}_sale_version_upd AFTER UPDATE ON {table}
            FOR EACH ROW BEGIN {bump} id IN (NEW.{fk}, OLD.{fk}); END""",
            f"""CREATE TRIGGER {table}_sale_version_del AFTER DELETE ON {table}
            FOR EACH ROW BEGIN {bump} id = OLD.{fk}; END""",
        ]
    return statements


def drop_statements(n, vendor) -> list[str]:
    tables = [
        (n["sku"], n["sku"]),
        (n["product"], n["product"]),
        (n["level"], n["level"]),
    ]
    if vendor == "postgresql":
        tables += [(n["level_price"], n["level_price"]), (n["tier"], n["tier"])]
        statements = [
            f"DROP TRIGGER IF EXISTS {name}_sale_version ON {table}"
            for name, table in tables
        ]
        return statements + [
            f"DROP FUNCTION IF EXISTS {n['sku']}_sale_version()",
            f"DROP FUNCTION IF EXISTS {n['sku']}_sale_version_of_rows()",
        ]
    statements = [f"DROP TRIGGER IF EXISTS {name}_sale_version" for name, _ in tables]
    for table in (n["level_price"], n["tier"]):
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_sale_version_{op}"
            for op in ("ins", "upd", "del")
        ]
    return statements


def install(connection, apps) -> None:
    """(Re)create the triggers on `connection`, table names from `apps`."""
    n = names(apps)
    if connection.vendor == "postgresql":
        statements = postgres_statements(n)
    elif connection.vendor == "sqlite":
        statements = sqlite_statements(n)
    else:
        raise NotImplementedError(f"sale_version triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in [*drop_statements(n, connection.vendor), *statements]:
            cursor.execute(statement)


def uninstall(connection, apps) -> None:
    with connection.cursor() as cursor:
        for statement in drop_statements(names(apps), connection.vendor):
            cursor.execute(statement)
