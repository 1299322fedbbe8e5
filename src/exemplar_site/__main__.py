"""`python -m exemplar_site …`: the same program as build.py and the exemplar-site command."""

from exemplar_site.cli import main

raise SystemExit(main())
