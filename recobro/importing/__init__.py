"""Importing accounts lists (CSV) into storage.

The pipeline is split so that each step can be tested on its own:

- ``csv_reader``: bytes -> text (encoding detection), delimiter, header, records with their
  physical line numbers; refuses a file that cannot be read at all.
- ``rows``: pure validation of one record -> ``AccountDraft`` or a list of ``RowError``.
- ``report``: the rejected-rows CSV written next to the input.
- ``loader``: the async bulk upsert of the good rows in one transaction.
- ``pipeline``: the steps above in order, used by the CLI and the benchmark alike.
"""
