"""The web UI's pages, one module per area, each with one `router`: `node.web.app` includes them
by name, in one list. A path has one handler, and the handler gathers all its page shows.

    home        the front page, the language switch, the health check
    auth        officer login (password, then TOTP), first-login TOTP setup, logout
    registers   General Diary, petitions (receive, list, receipt), FIR register, form, copy
    cases       the case page (proofs, amendments, investigation, Zero FIR hand-over), and a
                petition's page and its lifecycle (enquiry, permission, e-FIR, close, convert)
    search      local and federated search
    citizen     the citizens' portal: complaint, status, FIR copy, recovered vehicles
    services    service requests, grievances, missing persons (citizens' forms, staff lists)
    dashboard   charts and their CSV
    api         the JSON API under /api/

Pages import the supporting modules of `node.web` (deps, errors, forms, proofs, urls, ...),
never one another.
"""
