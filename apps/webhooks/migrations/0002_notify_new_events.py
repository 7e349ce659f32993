"""On PostgreSQL, a committed event wakes the relays at once: a statement trigger on the
outbox NOTIFYs webhook_events (delivered at commit, once per transaction). SQLite polls."""

from django.db import migrations

CREATE = """
CREATE FUNCTION webhooks_event_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('webhook_events', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER webhooks_event_notify AFTER INSERT ON webhooks_event
  FOR EACH STATEMENT EXECUTE FUNCTION webhooks_event_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS webhooks_event_notify ON webhooks_event;
DROP FUNCTION IF EXISTS webhooks_event_notify();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
