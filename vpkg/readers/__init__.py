"""One reader per member kind: ``batches(stream, where, batch_size)`` gives record batches.

A reader knows only a binary stream and a name to put in its errors (``where``): nothing of
zips, HTTP or the package. `vpkg.tables` says which reader reads which table, and
`vpkg.sources` opens the member and runs it.
"""
