"""Sans-IO ZMTP 3.x: bytes in, events out, bytes to send. No sockets, threads or clocks here."""
