"""Reading the files operators upload: card codes and the product catalogue.

Everything here is pure parsing (no database): `readers` turns an xlsx, csv or txt
file into numbered rows of text, streaming, and rejects files that cannot be what
they claim to be; `codes` and `products` turn rows into validated records or
`RowError`s. The services in catalog/services/imports.py decide what gets written.
"""
