"""Rule review (PCI DSS 1.2.5 and 1.2.7): which rules have a business reason, whose they are, which
reasons have lapsed and which rules do nothing.

:mod:`.justification` finds each rule's reason (rule tags, else group tags, else the register in S3,
else the policy for private and same-group peers); :mod:`.findings` turns the snapshot's rules into the
report's rows (unjustified, expired, expiring, stale, shadowed, duplicate-group); :mod:`.record`
reads what the region adds (stale references, prefix lists, the register) and writes the report.
"""
