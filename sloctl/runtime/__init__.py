"""Process plumbing shared by the daemon and the demo: structured logs and quiet HTTP servers."""
