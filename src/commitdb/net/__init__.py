"""The network: the wire protocol, the server and the remote backend (client)."""
