"""The local channel: the running tray answers other programs of the same user.

``client.request(op, args, timeout)`` from any process; ``server.ChannelServer(handlers)``
in the tray. Where: address.py (the runtime folder, the socket or pipe name, the session key
and its checks). Transport: wire.py, length-prefixed frames over a Unix socket
(``runtime_dir()/channel.sock``, 0600), or messages of the named pipe
``\\\\.\\pipe\\traycreds-<user>-s<session>[-<folder hash>]`` (winpipe.py; only this user and
SYSTEM may open it: winsecurity.py); a mutual HMAC handshake first (handshake.py), then one
request and one answer, bytes only, never pickle. Messages: protocol.py. The tray claims the
address with listen.py.

Importing this package imports nothing else, so the client's fast path stays light.
"""
