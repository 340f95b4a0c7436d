"""Reading spreadsheets people send us."""
