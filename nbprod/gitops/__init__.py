"""Git for nbprod: a list-argument git wrapper, repository status, output stripping."""
