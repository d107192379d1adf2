"""The case exchange format: what a station sends to courts, prisons, prosecution and forensic
laboratories (a case as a JSON document with its provenance), and what they send back (signed
inbound messages: court outcomes, prison admissions and releases, forensic results).

Pure: the schemas, their validation, the canonical bytes a sender signs and the mapping of an
inbound message to a case event. No I/O beyond reading the package's own schema files; the
station's side (export, the registry of trusted systems, import) is `node.station.exchange`.
docs/exchange.md describes the format.
"""
