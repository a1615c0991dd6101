"""Tables, the database handle and its unit of work, migrations. No business rules live here."""
