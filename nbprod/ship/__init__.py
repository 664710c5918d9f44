"""Shipping: ``nbprod init`` and the gated push (export → gate → commit → push).

The top of the core: it uses the gate, the export and the git wrapper below it,
and nothing below imports it.
"""
