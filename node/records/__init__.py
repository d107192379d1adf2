"""The pure domain of police records: how records are named, the checks they must pass, person
names, acts and sections, who the law withholds, the Zero FIR hand-over's messages, and the rules
of casework and citizen services. No I/O here: no ledger, store, database or network."""
