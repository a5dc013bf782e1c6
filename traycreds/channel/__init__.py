"""The local channel: the running tray answers other programs of the same user.

``client.request(op, args, timeout)`` from any process; ``server.ChannelServer(handlers)``
in the tray. Transport: multiprocessing.connection framing over a Unix socket
(``runtime_dir()/channel.sock``, 0600) or the named pipe ``\\\\.\\pipe\\traycreds-<user>``;
bytes only (``send_bytes``/``recv_bytes``), never pickle. Messages: protocol.py.

Importing this package imports nothing else, so the client's fast path stays light.
"""
