"""Deribit's exchange-specific core, sans-I/O.

Everything here works on plain bytes and values: no sockets, threads or clock
reads (a caller passes ``now``). The adapter seam wires these pieces to a
connection: ``rpc`` (JSON-RPC envelope), ``errors`` (codes to exceptions),
``markets`` (instruments to unified markets), ``channels`` (streams to channel
names and message hashes), ``parsers`` (payloads to unified structures),
``book_sync`` (the change-id chained order book), ``auth`` (``public/auth``
params and token refresh deadlines), ``credentials`` (per-environment keys)
and ``orders`` (order request params).
"""
