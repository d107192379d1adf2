"""The station: the single writer of its log. `core` holds the lock, the numbers and the ordered
commit; each other module is one family of commands (functions taking the station first)."""
