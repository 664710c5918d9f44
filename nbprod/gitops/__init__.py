"""Git for nbprod: a list-argument git wrapper, URL redaction, the gated push."""
