"""Reading the files operators upload: card codes and the product catalogue.

Everything here is pure parsing (no database): `readers` turns an xlsx, csv, tsv
or txt file into numbered rows of text, streaming (`xlsx` reads workbooks), and
rejects files that cannot be what they claim to be; `codes` and `products` turn
rows into validated records or `RowError`s. The services in
catalog/services/card_batches.py and product_imports.py decide what gets written.
"""
