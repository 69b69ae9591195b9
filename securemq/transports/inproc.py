"""inproc:// needs no OS sockets: Context joins the two sockets' pipes (see context.py)."""
