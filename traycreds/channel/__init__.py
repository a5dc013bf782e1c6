"""The local channel: the running tray answers other programs of the same user.

``client.request(op, args, timeout)`` from any process; ``server.ChannelServer(handlers)``
in the tray. Transport: length-prefixed frames over a Unix socket
(``runtime_dir()/channel.sock``, 0600), or messages of the named pipe
``\\\\.\\pipe\\traycreds-<user>-s<session>[-<folder hash>]`` (winpipe.py, only this user and
SYSTEM may open it); a mutual HMAC handshake first (client.py), then one
request and one answer, bytes only, never pickle. Messages: protocol.py.

Importing this package imports nothing else, so the client's fast path stays light.
"""
