from contacts_api.cli import main

raise SystemExit(main())
