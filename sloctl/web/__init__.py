"""What people look at: the SRE web UI on the daemon's own address and the public status page
on an address of its own, both rendered on the server from the daemon's snapshot and store."""
